/**
 * Profile fields nothing acts on yet (brief: a field no code acts on is a defect; the rules page must say which rules
 * are not enforced, never show them as applying). Paths name a field or a whole group ('quality' = every quality field);
 * arrays of steps are written `steps[]`. /api/profile sends this list and the console's rules page marks each as
 * "尚未执行 / not enforced yet". test/profile-fields.test.ts fails when a profile field is neither read by code nor
 * listed here, and when a listed field is read after all (take it off the list when you enforce it).
 */
export const NOT_ENFORCED: readonly string[] = [];

export function isEnforced(path: string): boolean {
  return !NOT_ENFORCED.some((p) => path === p || path.startsWith(`${p}.`));
}
