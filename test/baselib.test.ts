import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canDefineLibrary, canSeeConflict, checkLibraryShape, wrongSides } from '../src/baselib/model.js';
import { indexColumn } from '../src/catalog/model.js';
import type { Actor, AppContext } from '../src/context.js';
import { type City, openCity } from './conformance/play.js';

/*
 * Issue 7 points 7–8. One data, one source (DG Art 15, XT Art 15): each library field has exactly one authoritative
 * source; base and theme libraries are assembled on the platform from department sources (DG Art 21, XT Art 18–19);
 * conflicting values are surfaced and coordinated by the authority (DG Art 15, GD Art 14). Purchased data needs the
 * authority's approval before it is published or shared (XT Art 16) and is otherwise shared like any resource
 * (DG Art 25). Expected values are read from the department tables themselves, never from the code under test.
 */

type Db = City['env']['ctx']['db'];

const actor = (over: Partial<Actor>): Actor => ({
  id: 1,
  username: 'x',
  displayName: 'x',
  orgId: 1,
  orgKind: 'department',
  sectionId: null,
  roles: [],
  clientIp: null,
  ...over,
});

async function put(city: City, cookie: string, url: string, payload: unknown) {
  const res = await city.env.app.inject({
    method: 'PUT',
    url,
    headers: { cookie },
    payload: payload as object,
  });
  return { statusCode: res.statusCode, json: () => res.json(), body: res.body };
}

/**
 * A field's values by key, straight from a department's data table (generated identifiers from the catalog). A
 * sensitive-personal column is stored encrypted (docs/ENCRYPTION.md): values are decrypted with the platform's keyring,
 * and an encrypted key is given as its lookup hash (`ctx.fieldKeys.index`), which is how a library keys its records.
 */
async function valuesOf(ctx: AppContext, resourceId: number, keyField: string, field: string) {
  const cols = await ctx.db
    .selectFrom('resource_field')
    .select(['code', 'column_name', 'encrypted'])
    .where('resource_id', '=', resourceId)
    .execute();
  const k = cols.find((c) => c.code === keyField)!;
  const v = cols.find((c) => c.code === field)!.column_name;
  const { rows } = await sql
    .raw<{ k: string; v: string | null }>(
      `SELECT ${k.column_name}::text AS k, ${v}::text AS v FROM ds.r_${resourceId}`,
    )
    .execute(ctx.db);
  await ctx.fieldKeys.refresh(true, ctx.db);
  const clear = (x: string | null) => (x === null ? null : String(ctx.fieldKeys.decrypt(x)));
  return new Map(
    rows.map((r) => {
      const key = clear(r.k);
      return [(k.encrypted && key !== null ? ctx.fieldKeys.index(key) : key) as string, clear(r.v)] as const;
    }),
  );
}

describe('base libraries: the policies', () => {
  it('DG Art 21, XT Art 18: only the data authority defines and assembles a library; DG Art 15: a conflict is seen by the authority and the departments on either side', () => {
    expect(canDefineLibrary(actor({ orgKind: 'authority', roles: ['authority_reviewer'] }))).toBe(true);
    expect(canDefineLibrary(actor({ orgKind: 'authority', roles: ['auditor'] }))).toBe(false);
    expect(
      canDefineLibrary(actor({ orgKind: 'department', roles: ['data_officer', 'platform_admin'] })),
    ).toBe(false);
    const officer = actor({ orgId: 7, roles: ['data_officer'] });
    expect(canSeeConflict(officer, [3, 7])).toBe(true);
    expect(canSeeConflict(officer, [3, 4])).toBe(false);
    expect(canSeeConflict(actor({ orgId: 7, roles: ['consumer_staff'] }), [7])).toBe(false);
    expect(wrongSides('authoritative')).toEqual(['secondary']);
    expect(wrongSides('secondary')).toEqual(['authoritative']);
    expect(wrongSides('neither')).toEqual(['authoritative', 'secondary']);
  });

  it('DG Art 15 (一数一源): a source resource appears once per field — one authoritative, the others secondary', () => {
    const p = checkLibraryShape({
      name: 'x',
      kind: 'base',
      keyKind: 'idNumber',
      fields: [
        {
          code: 'name',
          name: '姓名',
          authoritative: { resourceId: 1, fieldCode: 'name' },
          secondary: [{ resourceId: 1, fieldCode: 'alias' }],
        },
        { code: 'name', name: '重复', authoritative: { resourceId: 2, fieldCode: 'n' } },
      ],
    });
    expect(p.map((d) => d.field)).toEqual(['fields[0].secondary[0].resourceId', 'fields[1].code']);
  });
});

describe('the population base library under dongguan-2020 (DG Art 15, 21)', () => {
  let city: City;
  let db: Db;
  let reviewer: string;
  let lib: { id: number; name: string; records: number; openConflicts: number };
  let pop: number;
  let water: number;
  let insured: number;
  beforeAll(async () => {
    city = await openCity('dongguan-2020', '2026-03-02');
    db = city.env.ctx.db;
    reviewer = await city.as('reviewer');
    const list = (await city.call(reviewer, 'GET', '/api/baselib/libraries')).json();
    lib = list.items.find((l: { name: string }) => l.name === '人口基础库');
    pop = (await city.resource(reviewer, '人口基础信息')).id;
    water = (await city.resource(reviewer, '居民用水户信息')).id;
    insured = (await city.resource(reviewer, '社会保险参保信息')).id;
  }, 600_000);
  afterAll(async () => city?.close());

  it('DG Art 21, XT Art 18: the demo library is assembled by ID number from at least three departments, each value with its source', async () => {
    const detail = (await city.call(reviewer, 'GET', `/api/baselib/libraries/${lib.id}`)).json();
    const orgs = new Set<number>();
    for (const f of detail.fields) {
      expect(f.authoritative).not.toBeNull(); // exactly one authoritative source per field
      for (const s of [f.authoritative, ...f.secondary]) orgs.add(s.orgId);
    }
    expect(orgs.size).toBeGreaterThanOrEqual(3);
    expect(detail.runs[0]).toMatchObject({ status: 'done' });
    // every key of every source is one record; the register's keys are all there
    const popKeys = await valuesOf(city.env.ctx, pop, 'idNumber', 'name');
    const n = await db
      .selectFrom('base_library_record')
      .select(sql<number>`count(*)`.as('n'))
      .where('library_id', '=', lib.id)
      .executeTakeFirstOrThrow();
    expect(Number(n.n)).toBeGreaterThanOrEqual(popKeys.size);
    expect(lib.records).toBe(Number(n.n));
    // a register person's name comes from 公安 (authoritative) even where a secondary source differs
    const rec = await db
      .selectFrom('base_library_record')
      .select(['key', 'vals', 'srcs'])
      .where('library_id', '=', lib.id)
      .where('key', 'in', [...popKeys.keys()].slice(0, 50))
      .execute();
    for (const r of rec) {
      expect((r.vals as Record<string, string>).name).toBe(popKeys.get(r.key));
      expect((r.srcs as Record<string, number>).name).toBe(pop);
    }
  });

  it('DG Art 15: a conflict is listed where a secondary source disagrees with the authoritative one, and only there', async () => {
    const popNames = await valuesOf(city.env.ctx, pop, 'idNumber', 'name');
    const popAddr = await valuesOf(city.env.ctx, pop, 'idNumber', 'address');
    const waterAddr = await valuesOf(city.env.ctx, water, 'idNumber', 'waterAddress');
    const insuredNames = await valuesOf(city.env.ctx, insured, 'idNumber', 'name');
    const expected = new Set<string>();
    for (const [k, v] of waterAddr)
      if (popAddr.get(k) != null && popAddr.get(k) !== v) expected.add(`address/${k}`);
    for (const [k, v] of insuredNames)
      if (popNames.has(k) && popNames.get(k) !== v) expected.add(`name/${k}`);
    expect(expected.size).toBeGreaterThan(0);
    const stored = await db
      .selectFrom('base_library_conflict')
      .select(['key', 'field_code', 'sec_resource_id', 'auth_value', 'sec_value'])
      .where('library_id', '=', lib.id)
      .where('sec_resource_id', 'in', [water, insured])
      .execute();
    expect(new Set(stored.map((c) => `${c.field_code}/${c.key}`))).toEqual(expected);
    for (const c of stored) expect(c.auth_value).not.toBe(c.sec_value);

    const page = (
      await city.call(reviewer, 'GET', `/api/baselib/conflicts?libraryId=${lib.id}&status=open&pageSize=5`)
    ).json();
    expect(page.total).toBe(lib.openConflicts);
    expect(page.items.length).toBeLessThanOrEqual(5);
    const byField = (
      await city.call(
        reviewer,
        'GET',
        `/api/baselib/conflicts?libraryId=${lib.id}&fieldCode=address&pageSize=200`,
      )
    ).json();
    expect(byField.total).toBe([...expected].filter((e) => e.startsWith('address/')).length);
    // DG Art 33: values and keys are masked by the one masking policy
    for (const c of byField.items) {
      expect(c.key).not.toBe(stored.find((s) => s.field_code === 'address')?.key);
      expect(String(c.key)).toContain('*');
      expect(c.authoritative.orgName).toBe('临江市公安局');
      expect(c.secondary.orgName).toBe('临江市供水有限公司');
    }
  });

  it('DG Art 21, 33: assembled records are read by the authority only, masked, each read audited', async () => {
    const before = await db
      .selectFrom('audit_log')
      .select(sql<number>`count(*)`.as('n'))
      .where('action', '=', 'baselib.records')
      .executeTakeFirstOrThrow();
    const page = (
      await city.call(reviewer, 'GET', `/api/baselib/libraries/${lib.id}/records?limit=10`)
    ).json();
    expect(page.items).toHaveLength(10);
    const raw = await db
      .selectFrom('base_library_record')
      .select(['key', 'vals'])
      .where('library_id', '=', lib.id)
      .orderBy('seq')
      .limit(10)
      .execute();
    page.items.forEach(
      (r: { key: string; values: Record<string, string>; sources: Record<string, unknown> }, i: number) => {
        expect(r.key).not.toBe(raw[i].key);
        const name = (raw[i].vals as Record<string, string>).name;
        if (name) expect(r.values.name).not.toBe(name);
        expect(r.sources.name).toMatchObject({ orgName: expect.any(String) });
      },
    );
    const after = await db
      .selectFrom('audit_log')
      .select(['rows_returned'])
      .where('action', '=', 'baselib.records')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(after.rows_returned).toBe(10);
    // the audit log names the library's fields (it has no resource to take names from): words, not codes
    const logged = (
      await city.call(await city.as('auditor'), 'GET', '/api/audit?action=baselib.records&pageSize=1')
    ).json().items[0];
    expect(logged.fields).toContain('birthDate');
    expect(logged.fieldNames).toContain('出生日期');
    expect(logged.fieldNames).not.toContain('birthDate');
    expect(
      Number(
        (
          await db
            .selectFrom('audit_log')
            .select(sql<number>`count(*)`.as('n'))
            .where('action', '=', 'baselib.records')
            .executeTakeFirstOrThrow()
        ).n,
      ),
    ).toBe(Number(before.n) + 1);
    const gaj = await city.as('gaj_officer');
    const refused = await city.call(gaj, 'GET', `/api/baselib/libraries/${lib.id}/records`);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().details[0].reasonZh).toContain('东莞办法第二十一条');
  });

  it('DG Art 15: the authority resolves a conflict with a note (audited); the provider of the wrong value is notified; a department sees only its own conflicts', async () => {
    const page = (
      await city.call(
        reviewer,
        'GET',
        `/api/baselib/conflicts?libraryId=${lib.id}&resourceId=${insured}&status=open`,
      )
    ).json();
    expect(page.total).toBeGreaterThan(0);
    const c = page.items[0];
    const detail = (await city.call(reviewer, 'GET', `/api/baselib/conflicts/${c.id}`)).json();
    expect(detail.canResolve).toBe(true);
    expect(detail.record.find((f: { code: string }) => f.code === 'name').source.orgName).toBe(
      '临江市公安局',
    );
    // 人社 sees it (its resource is a side); 教育 sees none
    const rsj = await city.as('rsj_officer');
    const mine = (await city.call(rsj, 'GET', `/api/baselib/conflicts?libraryId=${lib.id}`)).json();
    expect(mine.items.some((x: { id: number }) => x.id === c.id)).toBe(true);
    expect(mine.canResolve).toBe(false);
    const jyj = await city.as('jyj_officer');
    expect((await city.call(jyj, 'GET', `/api/baselib/conflicts?libraryId=${lib.id}`)).json().total).toBe(0);
    expect(
      (
        await city.call(rsj, 'POST', `/api/baselib/conflicts/${c.id}/resolve`, {
          resolution: 'secondary',
          note: '以本局为准',
        })
      ).statusCode,
    ).toBe(403);

    const res = await city.call(reviewer, 'POST', `/api/baselib/conflicts/${c.id}/resolve`, {
      resolution: 'authoritative',
      note: '经与市公安局核实，以户籍登记姓名为准',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().notified).toEqual([insured]);
    const notes = await city.notifications('rsj_officer');
    expect(notes.find((n) => n.kind === 'baselib.conflictResolved')?.params).toMatchObject({
      libraryName: '人口基础库',
      fieldName: '姓名',
      resourceName: '社会保险参保信息',
    });
    expect((await city.notifications('gaj_officer')).some((n) => n.kind === 'baselib.conflictResolved')).toBe(
      false,
    );
    const audit = await db
      .selectFrom('audit_log')
      .select(['detail'])
      .where('action', '=', 'baselib.resolve')
      .where('target_id', '=', String(c.id))
      .executeTakeFirstOrThrow();
    expect(audit.detail).toMatchObject({ resolution: 'authoritative' });
    const again = await city.call(reviewer, 'POST', `/api/baselib/conflicts/${c.id}/resolve`, {
      resolution: 'authoritative',
      note: '再次',
    });
    expect(again.statusCode).toBe(409);
  });

  it('DG Art 21: a re-run (a job, with progress) keeps resolved conflicts and clears those whose sources now agree', async () => {
    const resolved = await db
      .selectFrom('base_library_conflict')
      .select(['id'])
      .where('library_id', '=', lib.id)
      .where('status', '=', 'resolved')
      .execute();
    const open = await db
      .selectFrom('base_library_conflict')
      .select(['id', 'key', 'auth_value'])
      .where('library_id', '=', lib.id)
      .where('status', '=', 'open')
      .where('field_code', '=', 'address')
      .orderBy('id')
      .executeTakeFirstOrThrow();
    // the water company corrects the address (written straight into its table, as a later import would)
    const cols = await db
      .selectFrom('resource_field')
      .select(['code', 'column_name', 'encrypted'])
      .where('resource_id', '=', water)
      .execute();
    const col = (code: string) => cols.find((c) => c.code === code)!.column_name;
    // the library keys records by the ID number's lookup hash; an encrypted ID number column is found by its
    // companion hash column (docs/ENCRYPTION.md), a clear one by its value
    const idCol = cols.find((c) => c.code === 'idNumber')!;
    const idRef = idCol.encrypted ? indexColumn(idCol.column_name) : idCol.column_name;
    expect(idCol.encrypted).toBe(true);
    await sql`UPDATE ${sql.table(`ds.r_${water}`)} SET ${sql.ref(col('waterAddress'))} = ${open.auth_value}
      WHERE ${sql.ref(idRef)} = ${open.key}`.execute(db);

    const run = await city.call(reviewer, 'POST', `/api/baselib/libraries/${lib.id}/runs`);
    expect(run.statusCode).toBe(202);
    expect(run.json().status).toBe('queued');
    await city.tick();
    const done = (await city.call(reviewer, 'GET', `/api/baselib/runs/${run.json().id}`)).json();
    expect(done).toMatchObject({ status: 'done', conflictsCleared: 1, conflictsNew: 0 });
    expect(done.stepsDone).toBe(done.stepsTotal);
    const now = await db
      .selectFrom('base_library_conflict')
      .select(['id', 'status'])
      .where('id', 'in', [open.id, ...resolved.map((r) => r.id)])
      .execute();
    expect(now.find((c) => c.id === open.id)?.status).toBe('cleared');
    for (const r of resolved) expect(now.find((c) => c.id === r.id)?.status).toBe('resolved');
  });

  it('DG Art 21: only the authority defines a library; a source must carry the key identifier (XT Art 15) and hold data', async () => {
    const gaj = await city.as('gaj_officer');
    const body = {
      name: '人口核验主题库',
      kind: 'theme',
      keyKind: 'idNumber',
      fields: [
        {
          code: 'name',
          name: '姓名',
          authoritative: { resourceId: pop, fieldCode: 'name' },
          secondary: [{ resourceId: water, fieldCode: 'accountName' }],
        },
      ],
    };
    expect((await city.call(gaj, 'POST', '/api/baselib/libraries', body)).statusCode).toBe(403);
    const entities = (await city.resource(reviewer, '法人单位基础信息')).id;
    const bad = await city.call(reviewer, 'POST', '/api/baselib/libraries', {
      ...body,
      fields: [{ ...body.fields[0], secondary: [{ resourceId: entities, fieldCode: 'entityName' }] }],
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().details[0]).toMatchObject({ field: 'fields[0].secondary[0].resourceId' });
    const created = await city.call(reviewer, 'POST', '/api/baselib/libraries', body);
    expect(created.statusCode).toBe(201);
    const id = created.json().id;
    const run = (await city.call(reviewer, 'POST', `/api/baselib/libraries/${id}/runs`)).json();
    await city.tick();
    expect((await city.call(reviewer, 'GET', `/api/baselib/runs/${run.id}`)).json().status).toBe('done');
    // records = the union of both sources' keys
    const a = await valuesOf(city.env.ctx, pop, 'idNumber', 'name');
    const b = await valuesOf(city.env.ctx, water, 'idNumber', 'accountName');
    const union = new Set([...a.keys(), ...b.keys()].filter(Boolean));
    const n = await db
      .selectFrom('base_library_record')
      .select(sql<number>`count(*)`.as('n'))
      .where('library_id', '=', id)
      .executeTakeFirstOrThrow();
    expect(Number(n.n)).toBe(union.size);
    const edited = await put(city, reviewer, `/api/baselib/libraries/${id}`, {
      ...body,
      fields: [{ code: 'name', name: '姓名', authoritative: { resourceId: pop, fieldCode: 'name' } }],
    });
    expect(edited.json().version).toBe(2);
  });
});

describe('purchased data (XT Art 16, DG Art 25)', () => {
  const ENTRY = {
    name: '企业用电信息（采购）',
    summary: '向供电企业采购的企业月度用电量信息。',
    classification: 'department',
    catalogLevel: 'city',
    shareType: 'unconditional',
    shareMethod: 'api',
    openType: 'closed',
    updateCycle: 'monthly',
    submit: true,
    fields: [
      {
        code: 'creditCode',
        name: '统一社会信用代码',
        dataType: 'C',
        length: 18,
        isKey: true,
        validator: 'creditCode',
      },
      { code: 'kwh', name: '月用电量', dataType: 'N', length: 12 },
    ],
  };
  const PURCHASE = {
    supplier: '某数据服务有限公司',
    contractRef: 'LJ-CG-2026-001',
    periodFrom: '2026-01-01',
    periodTo: '2026-12-31',
  };

  async function scenario(profile: string) {
    const city = await openCity(profile, '2026-03-02');
    const officer = await city.as('scj_officer');
    const reviewer = await city.as('reviewer');
    const created = await city.call(officer, 'POST', '/api/catalog/resources', ENTRY);
    expect(created.statusCode).toBe(201);
    const id = created.json().id;
    const flagged = await put(city, officer, `/api/baselib/purchases/${id}`, PURCHASE);
    expect(flagged.statusCode).toBe(200);
    expect(flagged.json().purchase).toMatchObject({ approval: 'pending', supplier: PURCHASE.supplier });
    // another department may not flag it (it does not even see the entry before publication), the provider may not approve it
    expect(
      (await put(city, await city.as('rsj_officer'), `/api/baselib/purchases/${id}`, PURCHASE)).statusCode,
    ).toBe(404);
    expect(
      (
        await city.call(officer, 'POST', `/api/baselib/purchases/${id}/decision`, {
          approve: true,
          approvalRef: 'x',
        })
      ).statusCode,
    ).toBe(403);
    return { city, officer, reviewer, id };
  }

  it('XT Art 16: an unapproved purchased resource is neither published nor requested; with the approval it is both', async () => {
    const { city, officer, reviewer, id } = await scenario('xingtai-2024');
    try {
      const refused = await city.call(reviewer, 'POST', `/api/catalog/resources/${id}/publish`, {});
      expect(refused.statusCode).toBe(409);
      expect(refused.json().code).toBe('PURCHASE_NOT_APPROVED');
      expect(refused.json().details[0].reasonZh).toContain('邢台办法第十六条');
      expect(refused.json().details[0].reason).toContain('XT Art 16');
      const ok = await city.call(reviewer, 'POST', `/api/baselib/purchases/${id}/decision`, {
        approve: true,
        approvalRef: '临数局批〔2026〕3号',
      });
      expect(ok.json().purchase).toMatchObject({ approval: 'approved', approvalRef: '临数局批〔2026〕3号' });
      expect((await city.notifications('scj_officer')).some((n) => n.kind === 'purchase.decided')).toBe(true);
      expect((await city.call(reviewer, 'POST', `/api/catalog/resources/${id}/publish`, {})).statusCode).toBe(
        200,
      );
      // a changed purchase record needs a new approval before anyone requests the resource
      await put(city, officer, `/api/baselib/purchases/${id}`, {
        ...PURCHASE,
        contractRef: 'LJ-CG-2026-002',
      });
      const rsj = await city.as('rsj_officer');
      const app = await city.newApp(rsj, '采购数据测试应用');
      const request = {
        resourceId: id,
        appId: app.id,
        fields: ['creditCode', 'kwh'],
        purpose: '核实企业生产经营状况',
        scenario: '就业补贴审核',
        scope: '申请补贴的企业',
        validUntil: '2026-12-31',
      };
      const blocked = await city.call(rsj, 'POST', '/api/sharing/requests', request);
      expect(blocked.statusCode).toBe(409);
      expect(blocked.json().code).toBe('PURCHASE_NOT_APPROVED');
      await city.call(reviewer, 'POST', `/api/baselib/purchases/${id}/decision`, {
        approve: true,
        approvalRef: '临数局批〔2026〕4号',
      });
      expect((await city.call(rsj, 'POST', '/api/sharing/requests', request)).statusCode).toBe(201);
    } finally {
      await city.close();
    }
  });

  it('DG Art 25: where the regulation asks for no approval, purchased data is published and shared like any other resource', async () => {
    const { city, reviewer, id } = await scenario('dongguan-2020');
    try {
      const info = (await city.call(reviewer, 'GET', `/api/baselib/purchases/${id}`)).json();
      expect(info).toMatchObject({ approvalRequired: false, article: 'DG Art 25' });
      expect((await city.call(reviewer, 'POST', `/api/catalog/resources/${id}/publish`, {})).statusCode).toBe(
        200,
      );
    } finally {
      await city.close();
    }
  });
});
