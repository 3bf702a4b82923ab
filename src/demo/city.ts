import { isoToDay } from './dates.js';
import { buildApps, buildJurisdictions, buildOrgs, buildUsers, CITY_NAME } from './orgs.js';
import { generateEntities, generatePeople } from './people.js';
import { buildResources } from './resources.js';
import type { DemoCity } from './types.js';

export { DEMO_PASSWORD } from './orgs.js';
export type {
  DemoApp,
  DemoCity,
  DemoField,
  DemoJurisdiction,
  DemoOrg,
  DemoResource,
  DemoRole,
  DemoSection,
  DemoUser,
  FieldType,
  Masking,
} from './types.js';

export const DEMO_ROLES = [
  'platform_admin',
  'authority_reviewer',
  'data_officer',
  'section_head',
  'consumer_staff',
  'auditor',
] as const;

/**
 * Fixed rather than today, so the same seed yields the same ages, dates and rows on every run;
 * the last day of the year before the 2026 holiday notice the calendar ships with.
 */
export const DEMO_REFERENCE_DATE = '2025-12-31';
export const DEMO_SEED = 20260101;

export interface DemoCityOptions {
  /** Rows of 人口基础信息. */
  populationRows?: number;
  /** Rows of 法人单位基础信息. */
  entityRows?: number;
  seed?: number;
}

/**
 * 临江市, a fictional prefecture-level city in Guangdong, with its departments, users, catalog and
 * data. Pure and deterministic: the same options always give deep-equal output. People and
 * companies referenced by the smaller resources are drawn from the two base libraries, so joins
 * on ID number or credit code find matches.
 */
export function generateDemoCity(opts: DemoCityOptions = {}): DemoCity {
  const populationRows = opts.populationRows ?? 100_000;
  const entityRows = opts.entityRows ?? 20_000;
  const seed = opts.seed ?? DEMO_SEED;
  for (const [name, value] of [
    ['populationRows', populationRows],
    ['entityRows', entityRows],
  ] as const) {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer`);
  }

  const referenceDay = isoToDay(DEMO_REFERENCE_DATE);
  // Org and company credit codes share one namespace; a collision would break the org table's UNIQUE.
  const usedCreditCodes = new Set<string>();
  const orgs = buildOrgs(seed, usedCreditCodes);
  const people = generatePeople(seed, populationRows, referenceDay);
  const entities = generateEntities(seed, entityRows, referenceDay, people, usedCreditCodes);

  return {
    name: CITY_NAME,
    referenceDate: DEMO_REFERENCE_DATE,
    jurisdictions: buildJurisdictions(),
    orgs,
    users: buildUsers(orgs),
    resources: buildResources({ seed, referenceDay, people, entities, orgs }),
    apps: buildApps(),
  };
}
