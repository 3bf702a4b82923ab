import { describe, expect, it } from 'vitest';
import {
  isValidCreditCode,
  isValidIdNumber,
  isValidMobilePhone,
  parseIdNumber,
} from '../ingest/checksums.js';
import {
  DEMO_PASSWORD,
  DEMO_ROLES,
  type DemoCity,
  type DemoField,
  type DemoResource,
  generateDemoCity,
} from './city.js';

const SMALL = { populationRows: 4000, entityRows: 1500 };
const small = generateDemoCity(SMALL);

function resource(city: DemoCity, name: string): DemoResource {
  const r = city.resources.find((x) => x.name === name);
  if (!r) throw new Error(`no resource ${name}`);
  return r;
}

function column(r: DemoResource, code: string): unknown[] {
  const i = r.rows.columns.indexOf(code);
  if (i < 0) throw new Error(`no column ${code} in ${r.name}`);
  return r.rows.values.map((row) => row[i]);
}

const VALIDATORS = {
  idNumber: isValidIdNumber,
  creditCode: isValidCreditCode,
  mobilePhone: isValidMobilePhone,
};

/** Why a value does not fit its field, or null. */
function misfit(field: DemoField, value: unknown, referenceDate: string): string | null {
  if (value === null || value === undefined) return field.required ? 'required but empty' : null;
  switch (field.type) {
    case 'string':
      if (typeof value !== 'string') return 'not a string';
      return field.length !== undefined && value.length > field.length ? `longer than ${field.length}` : null;
    case 'integer':
      return Number.isSafeInteger(value) ? null : 'not an integer';
    case 'decimal': {
      const scale = field.scale ?? 0;
      const re = scale > 0 ? new RegExp(`^-?\\d+\\.\\d{${scale}}$`) : /^-?\d+$/;
      if (typeof value !== 'string' || !re.test(value)) return `not a decimal with scale ${scale}`;
      return field.length !== undefined && value.replace(/\D/g, '').length > field.length
        ? 'too many digits'
        : null;
    }
    case 'date': {
      if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return 'not YYYY-MM-DD';
      if (new Date(`${value}T00:00:00Z`).toISOString().slice(0, 10) !== value) return 'no such day';
      // Expiry dates of licences and permits lie in the future by nature.
      if (field.code === 'validUntil') return null;
      return value > referenceDate ? 'after the reference date' : null;
    }
    case 'datetime':
      if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/.test(value))
        return 'not a datetime';
      return value.slice(0, 10) > referenceDate ? 'after the reference date' : null;
    case 'boolean':
      return typeof value === 'boolean' ? null : 'not a boolean';
  }
}

describe('demo city: determinism', () => {
  it('two runs with the same options are deep-equal', () => {
    expect(generateDemoCity(SMALL)).toEqual(small);
  });

  it('a different seed gives different people but the same catalog shape', () => {
    const other = generateDemoCity({ ...SMALL, seed: 7 });
    expect(column(resource(other, '人口基础信息'), 'idNumber').slice(0, 20)).not.toEqual(
      column(resource(small, '人口基础信息'), 'idNumber').slice(0, 20),
    );
    expect(other.resources.map((r) => r.name)).toEqual(small.resources.map((r) => r.name));
  });

  it('growing the entity library leaves the population untouched', () => {
    const more = generateDemoCity({ ...SMALL, entityRows: SMALL.entityRows + 100 });
    expect(resource(more, '人口基础信息').rows).toEqual(resource(small, '人口基础信息').rows);
  });
});

describe('demo city: identifiers', () => {
  it('GB 11643 / GB 32100 / mobile: every validated value passes its checksum', () => {
    let checked = 0;
    for (const r of small.resources) {
      r.fields.forEach((f, i) => {
        if (!f.validator) return;
        const valid = VALIDATORS[f.validator];
        for (const row of r.rows.values) {
          const v = row[i];
          if (v === null) continue;
          checked++;
          if (!valid(v as string)) throw new Error(`${r.name}.${f.code}: invalid ${String(v)}`);
        }
      });
    }
    expect(checked).toBeGreaterThan(SMALL.populationRows + SMALL.entityRows);
  });

  it('GB 11643: population ID numbers encode the row’s county, birth date and gender (odd = male)', () => {
    const pop = resource(small, '人口基础信息');
    const [id, gender, birth, county] = ['idNumber', 'gender', 'birthDate', 'countyCode'].map((c) =>
      column(pop, c),
    );
    for (let i = 0; i < id.length; i++) {
      const parts = parseIdNumber(id[i] as string);
      expect(parts).toEqual({
        regionCode: county[i],
        birthDate: birth[i],
        gender: gender[i] === '男' ? 'male' : 'female',
      });
      expect(isValidIdNumber(id[i] as string, { asOf: small.referenceDate })).toBe(true);
    }
  });

  it('GB 32100: organs are registered as 11 + their jurisdiction (446000, a county 4460xx), utilities with authority 9', () => {
    for (const org of small.orgs) {
      expect(isValidCreditCode(org.creditCode)).toBe(true);
      expect(org.creditCode.slice(0, 8)).toBe(
        `${org.kind === 'enterprise' ? '91' : '11'}${org.jurisdictionCode}`,
      );
    }
    for (const code of column(resource(small, '法人单位基础信息'), 'creditCode') as string[]) {
      expect(code).toMatch(/^9[123]4460\d\d/);
    }
    const all = [
      ...small.orgs.map((o) => o.creditCode),
      ...(column(resource(small, '法人单位基础信息'), 'creditCode') as string[]),
    ];
    expect(new Set(all).size).toBe(all.length);
  });

  it('key fields are unique within each resource', () => {
    for (const r of small.resources) {
      const keys = r.fields.flatMap((f, i) => (f.isKey ? [i] : []));
      expect(keys.length, r.name).toBeGreaterThan(0);
      const seen = new Set(r.rows.values.map((row) => keys.map((i) => row[i]).join('|')));
      expect(seen.size, r.name).toBe(r.rows.values.length);
    }
  });

  it('people and companies in other resources exist in the base libraries, so joins match', () => {
    const ids = new Set(column(resource(small, '人口基础信息'), 'idNumber'));
    const codes = new Set(column(resource(small, '法人单位基础信息'), 'creditCode'));
    for (const r of small.resources) {
      if (r.classification === 'base' && (r.name === '人口基础信息' || r.name === '法人单位基础信息'))
        continue;
      r.fields.forEach((f, i) => {
        const pool = f.validator === 'idNumber' ? ids : f.validator === 'creditCode' ? codes : null;
        if (!pool) return;
        for (const row of r.rows.values) {
          if (row[i] !== null && !pool.has(row[i]))
            throw new Error(`${r.name}.${f.code}: ${String(row[i])} not found`);
        }
      });
    }
  });
});

describe('demo city: catalog', () => {
  it('has at least 10 resources with unique names, each with rows (codes are issued at load, GB/T 21063.5)', () => {
    expect(small.resources.length).toBeGreaterThanOrEqual(10);
    expect(new Set(small.resources.map((r) => r.name)).size).toBe(small.resources.length);
    for (const r of small.resources) {
      expect(r.rows.values.length, r.name).toBeGreaterThan(0);
    }
  });

  it('every field code is camelCase ASCII and unique within its resource', () => {
    for (const r of small.resources) {
      for (const f of r.fields) expect(f.code).toMatch(/^[a-z][a-zA-Z0-9]*$/);
      expect(new Set(r.fields.map((f) => f.code)).size).toBe(r.fields.length);
      expect(r.rows.columns).toEqual(r.fields.map((f) => f.code));
    }
  });

  it('every value fits its field’s type, length and required flag, and no recorded event lies after the reference date', () => {
    for (const r of small.resources) {
      for (const row of r.rows.values) {
        expect(row.length).toBe(r.fields.length);
        r.fields.forEach((f, i) => {
          const why = misfit(f, row[i], small.referenceDate);
          if (why) throw new Error(`${r.name}.${f.code} = ${JSON.stringify(row[i])}: ${why}`);
        });
      }
    }
  });

  it('DG Art 19 / GD Art 18: conditional and not-shared resources state a legal basis; 不予共享 implies 不予开放', () => {
    for (const r of small.resources) {
      if (r.shareType !== 'unconditional') expect(r.legalBasis, r.name).toBeTruthy();
      if (r.shareType === 'conditional') expect(r.shareConditions, r.name).toBeTruthy();
      if (r.shareType === 'none') expect(r.openType, r.name).toBe('closed');
    }
    expect(small.resources.some((r) => r.shareType === 'none')).toBe(true);
    expect(small.resources.some((r) => r.openType === 'open')).toBe(true);
    expect(small.resources.some((r) => r.catalogLevel === 'section')).toBe(true);
  });

  it('providers and sections of resources exist', () => {
    for (const r of small.resources) {
      const org = small.orgs.find((o) => o.code === r.providerOrgCode);
      expect(org, r.name).toBeDefined();
      if (r.sectionCode !== null) expect(org?.sections.map((s) => s.code)).toContain(r.sectionCode);
    }
  });

  it('personal fields that identify a person are masked', () => {
    for (const r of small.resources) {
      for (const f of r.fields) {
        if (f.validator === 'idNumber') expect(f.masking).toBe('idNumber');
        if (f.validator === 'mobilePhone') expect(f.masking).toBe('phone');
      }
    }
  });
});

describe('demo city: organisations and users', () => {
  it('has one authority per level (the city and two counties), at least 15 departments with 2–4 sections each, and 2 enterprises', () => {
    const byKind = (k: string) => small.orgs.filter((o) => o.kind === k);
    expect(byKind('authority').map((o) => o.jurisdictionCode)).toEqual(['446000', '446002', '446021']);
    // each county holds a department besides its authority, and every org sits in a jurisdiction of the demo
    for (const county of ['446002', '446021'])
      expect(small.orgs.filter((o) => o.jurisdictionCode === county && o.kind === 'department')).toHaveLength(
        1,
      );
    for (const org of small.orgs)
      expect(
        small.jurisdictions.map((j) => j.code),
        org.code,
      ).toContain(org.jurisdictionCode);
    expect(byKind('department').length).toBeGreaterThanOrEqual(15);
    expect(byKind('enterprise')).toHaveLength(2);
    for (const org of small.orgs) {
      expect(org.sections.length, org.name).toBeGreaterThanOrEqual(2);
      expect(org.sections.length, org.name).toBeLessThanOrEqual(4);
    }
    expect(new Set(small.orgs.map((o) => o.code)).size).toBe(small.orgs.length);
  });

  it('every user belongs to an existing org and section, with the demo password', () => {
    expect(new Set(small.users.map((u) => u.username)).size).toBe(small.users.length);
    for (const u of small.users) {
      const org = small.orgs.find((o) => o.code === u.orgCode);
      expect(org, u.username).toBeDefined();
      if (u.sectionCode !== null) expect(org?.sections.map((s) => s.code)).toContain(u.sectionCode);
      expect(u.password).toBe(DEMO_PASSWORD);
    }
    for (const name of [
      'admin',
      'reviewer',
      'auditor',
      'gaj_officer',
      'scj_officer',
      'rsj_officer',
      'rsj_staff',
      'gaj_head',
    ]) {
      expect(small.users.map((u) => u.username)).toContain(name);
    }
  });

  it('GB/T 39477: every role is held by someone, and admin, reviewer and auditor are different people', () => {
    for (const role of DEMO_ROLES)
      expect(
        small.users.some((u) => u.roles.includes(role)),
        role,
      ).toBe(true);
    for (const u of small.users) {
      const separated = u.roles.filter(
        (r) => r === 'platform_admin' || r === 'authority_reviewer' || r === 'auditor',
      );
      expect(separated.length).toBeLessThanOrEqual(1);
    }
  });

  it('every resource provider has a data officer, and apps belong to existing orgs', () => {
    for (const r of small.resources) {
      expect(
        small.users.some((u) => u.orgCode === r.providerOrgCode && u.roles.includes('data_officer')),
        r.providerOrgCode,
      ).toBe(true);
    }
    expect(small.apps.length).toBeGreaterThanOrEqual(4);
    for (const a of small.apps) expect(small.orgs.map((o) => o.code)).toContain(a.orgCode);
  });

  it('GB/T 2260: jurisdictions form one tree province → city → county → town', () => {
    const byCode = new Map(small.jurisdictions.map((j) => [j.code, j]));
    expect(byCode.size).toBe(small.jurisdictions.length);
    const roots = small.jurisdictions.filter((j) => j.parentCode === null);
    expect(roots.map((j) => j.code)).toEqual(['440000']);
    const next = { province: 'city', city: 'county', county: 'town' } as const;
    for (const j of small.jurisdictions) {
      if (j.parentCode === null) continue;
      const parent = byCode.get(j.parentCode);
      expect(parent, j.code).toBeDefined();
      expect(next[parent!.level as keyof typeof next]).toBe(j.level);
      const prefix = { city: 2, county: 4, town: 6 }[j.level as 'city' | 'county' | 'town'];
      expect(j.code.slice(0, prefix)).toBe(j.parentCode.slice(0, prefix));
    }
    expect(small.jurisdictions.filter((j) => j.level === 'county').length).toBeGreaterThanOrEqual(4);
    for (const county of small.jurisdictions.filter((j) => j.level === 'county')) {
      expect(small.jurisdictions.filter((j) => j.parentCode === county.code).length).toBeGreaterThanOrEqual(
        2,
      );
    }
    const orgPlaces = new Set(small.orgs.map((o) => o.jurisdictionCode));
    for (const code of orgPlaces) expect(byCode.has(code)).toBe(true);
  });
});

describe('demo city: defaults', () => {
  // speed is measured by the start-up benchmark (README), never asserted in a test
  it('generates 100 000 people and 20 000 legal entities, all valid and unique', () => {
    const city = generateDemoCity();

    const ids = column(resource(city, '人口基础信息'), 'idNumber') as string[];
    const codes = column(resource(city, '法人单位基础信息'), 'creditCode') as string[];
    expect(ids).toHaveLength(100_000);
    expect(codes).toHaveLength(20_000);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(codes).size).toBe(codes.length);
    expect(ids.every((id) => isValidIdNumber(id))).toBe(true);
    expect(codes.every((c) => isValidCreditCode(c))).toBe(true);
    const phones = column(resource(city, '人口基础信息'), 'phone').filter((p) => p !== null) as string[];
    expect(phones.length).toBeGreaterThan(80_000);
    expect(phones.every(isValidMobilePhone)).toBe(true);
    for (const r of city.resources) {
      if (r.rows.values.length < 1000) expect(r.rows.values.length, r.name).toBeGreaterThanOrEqual(50);
    }
  });
});
