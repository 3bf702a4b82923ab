import { describe, expect, it } from 'vitest';
import { ALLOW_LIST, readAllowList, scanEnglishOnlyDetails } from './error-details-scan.js';

/*
 * Rule of the product: every API error has a stable code, a message in zh-CN and en, and the row/field at fault. An
 * error detail's `reason` is English; the console shows its `reasonZh` to Chinese readers. This scan of src/ (the
 * TypeScript checker, see test/error-details-scan.ts) finds every detail that sets `reason` without `reasonZh`.
 * The ones not translated yet are listed in test/error-details.allow.txt; the list only shrinks: a new English-only
 * detail fails here, and so does a listed one that has been given its Chinese (delete its line).
 */
describe('error details carry Chinese (reasonZh)', () => {
  const { english: found, details } = scanEnglishOnlyDetails();
  const allowed = readAllowList();

  it('no English-only error detail outside the allow-list', () => {
    const left = new Map<string, number>();
    for (const k of allowed) left.set(k, (left.get(k) ?? 0) + 1);
    const unlisted: string[] = [];
    for (const f of found) {
      const n = left.get(f.key) ?? 0;
      if (n > 0) left.set(f.key, n - 1);
      else unlisted.push(`${f.file}:${f.line} reason ${f.key.split(' :: ')[1]} — give it a reasonZh`);
    }
    expect(unlisted).toEqual([]);
  });

  it(`${ALLOW_LIST} lists only details still English-only (it only shrinks)`, () => {
    const left = new Map<string, number>();
    for (const f of found) left.set(f.key, (left.get(f.key) ?? 0) + 1);
    const stale: string[] = [];
    for (const k of allowed) {
      const n = left.get(k) ?? 0;
      if (n > 0) left.set(k, n - 1);
      else stale.push(`${k} — translated or gone: delete this line from ${ALLOW_LIST}`);
    }
    expect(stale).toEqual([]);
  });

  it('the scan finds details (it is not blind)', () => {
    // src/ writes several hundred details (most with their Chinese): a scan that sees few of them is broken
    expect(details).toBeGreaterThan(300);
    expect(found.every((f) => f.line > 0 && f.file.startsWith('src/'))).toBe(true);
  });
});
