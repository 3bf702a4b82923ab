import { dongguan2020 } from './dongguan-2020.js';
import { guangdong2018 } from './guangdong-2018.js';
import type { Profile, ProfileId } from './model.js';
import { nanyang2022 } from './nanyang-2022.js';
import { shenyang2019 } from './shenyang-2019.js';
import { xingtai2024 } from './xingtai-2024.js';

export * from './model.js';

export const DEFAULT_PROFILE_ID: ProfileId = 'dongguan-2020';

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

// Frozen: one profile object is shared by every request in the process, and a rule changed
// at runtime would silently change the law the deployment enforces.
export const PROFILES: Record<ProfileId, Profile> = deepFreeze({
  'dongguan-2020': dongguan2020,
  'xingtai-2024': xingtai2024,
  'shenyang-2019': shenyang2019,
  'nanyang-2022': nanyang2022,
  'guangdong-2018': guangdong2018,
});

export const PROFILE_IDS: readonly ProfileId[] = Object.freeze(Object.keys(PROFILES) as ProfileId[]);

export function isProfileId(id: string): id is ProfileId {
  return Object.hasOwn(PROFILES, id);
}

export function getProfile(id: string): Profile {
  if (!isProfileId(id)) {
    throw new Error(`Unknown profile "${id}". Valid profiles: ${PROFILE_IDS.join(', ')}`);
  }
  return PROFILES[id];
}
