import type { Redis } from 'ioredis';
import type { WorkdayCalendar } from './calendar/model.js';
import type { Config } from './config.js';
import type { Database, Db } from './db/index.js';
import type { Jobs } from './jobs/index.js';
import type { Profile } from './profiles/model.js';
import type { CounterStore } from './security/counters.js';
import type { FieldKeys } from './security/field-keys.js';
import type { Clock } from './shared/clock.js';

/** What every service needs, built once at boot and passed down explicitly. */
export interface AppContext {
  config: Config;
  database: Database;
  db: Db;
  profile: Profile;
  calendar: WorkdayCalendar;
  /** Redis when REDIS_URL is set: state several nodes share */
  redis: Redis | null;
  /** Expiring counters (Redis-backed when redis is set): rate limits, quotas, anomaly detection */
  counters: CounterStore;
  /** The platform secret (src/security/secret.ts) */
  secret: Buffer;
  /** "Now" for every service: the system clock, or a test's manual clock (src/shared/clock.ts) */
  clock: Clock;
  /** The jobs queue (src/jobs): handlers registered at boot, started by main.ts, stopped by closeContext */
  jobs: Jobs;
  /** Keys of the encryption at rest of sensitive-personal fields (src/security/field-keys.ts) */
  fieldKeys: FieldKeys;
}

/** The signed-in person a console request acts for. */
export interface Actor {
  id: number;
  username: string;
  displayName: string;
  orgId: number;
  orgKind: 'authority' | 'department' | 'enterprise';
  sectionId: number | null;
  roles: Role[];
  clientIp: string | null;
}

export const ROLES = [
  'platform_admin',
  'authority_reviewer',
  'data_officer',
  'section_head',
  'consumer_staff',
  'auditor',
] as const;
export type Role = (typeof ROLES)[number];

export function hasRole(actor: Actor, ...roles: Role[]): boolean {
  return roles.some((r) => actor.roles.includes(r));
}
