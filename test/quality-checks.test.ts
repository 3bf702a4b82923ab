import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isValidCreditCode, isValidIdNumber } from '../src/ingest/checksums.js';
import { creditCodeSql, idNumberSql, mobileSql } from '../src/quality/rules.js';
import { type City, openCity } from './conformance/play.js';
import { testIdNumber } from './helpers.js';

/*
 * Issue 12 point 2: quality rules and scores per resource. XT Art 20 (完整、准确、一致、及时), DG Art 28 / GD Art 21
 * (complete, accurate, timely, usable), NY task 8 (multi-source comparison); XT Art 22: a failed check is a problem
 * the authority found, so the provider rectifies it within 10 working days. Bad rows are written straight into the
 * data table (data loaded before a rule existed): ingest would refuse them.
 */
const OPEN = '2026-03-02'; // Monday; XT Art 22 10 WD: Mar 3–6 (4), 9–13 (9), 16 (10)

type Db = City['env']['ctx']['db'];

/** Copies one existing row under a new key with some columns changed; returns its _seq. */
async function seedRow(db: Db, resourceId: number, key: string, set: Record<string, string | null>) {
  const t = `ds.r_${resourceId}`;
  const cols = (
    await sql<{ column_name: string }>`SELECT column_name FROM information_schema.columns
      WHERE table_schema = 'ds' AND table_name = ${`r_${resourceId}`} AND column_name ~ '^c[0-9]+$'
      ORDER BY ordinal_position`.execute(db)
  ).rows.map((r) => r.column_name);
  const exprs = cols.map((c) => (c in set ? sql`${set[c]}` : sql.raw(c)));
  const r = await sql<{
    seq: number;
  }>`INSERT INTO ${sql.raw(t)} (_key, _batch_id, _hash, ${sql.raw(cols.join(', '))})
    SELECT ${key}, _batch_id, 'seeded', ${sql.join(exprs)} FROM ${sql.raw(t)} ORDER BY _seq LIMIT 1
    RETURNING _seq AS seq`.execute(db);
  return Number(r.rows[0].seq);
}

const badChecksum = (id: string) => id.slice(0, 17) + (id[17] === '0' ? '1' : '0');

describe('quality checks under xingtai-2024 (XT Art 20, 22)', () => {
  let city: City;
  let db: Db;
  let pop: { id: number };
  let si: { id: number };
  beforeAll(async () => {
    city = await openCity('xingtai-2024', OPEN);
    db = city.env.ctx.db;
    const reviewer = await city.as('reviewer');
    pop = await city.resource(reviewer, '人口基础信息');
    si = await city.resource(reviewer, '社会保险参保信息');
    await city.tick(); // the demo's imports queued their checks
  });
  afterAll(async () => city?.close());

  it('the GB 11643 / GB 32100 / mobile checks in SQL agree with the ingest validators on the same values', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 300; i++) {
      const v = testIdNumber(i * 37);
      ids.push(v, badChecksum(v), `${v.slice(0, 10)}13${v.slice(12)}`, `${v.slice(0, 12)}31${v.slice(14)}`);
    }
    ids.push('44600219900230123X', '4460021990021012', 'abc', '', '44600218990101123X', '110101200002290011');
    const got = (
      await sql<{ v: string; ok: boolean }>`SELECT x.v, ${sql.raw(idNumberSql('x.v'))} AS ok
        FROM unnest(${ids}::text[]) AS x(v)`.execute(db)
    ).rows;
    for (const r of got) expect([r.v, r.ok]).toEqual([r.v, isValidIdNumber(r.v)]);
    expect(got.filter((r) => r.ok).length).toBeGreaterThan(250);
    const codes = [
      '91350100M000100Y43',
      '91350100M000100Y44',
      '9135010OM000100Y43',
      'X',
      '91110000600037341L',
    ];
    for (let i = 0; i < 200; i++)
      codes.push(`9144${String(100000 + i * 7919).slice(0, 6)}MA${String(i).padStart(6, '0')}0`);
    const cs = (
      await sql<{ v: string; ok: boolean }>`SELECT x.v, ${sql.raw(creditCodeSql('x.v'))} AS ok
        FROM unnest(${codes}::text[]) AS x(v)`.execute(db)
    ).rows;
    for (const r of cs) expect([r.v, r.ok]).toEqual([r.v, isValidCreditCode(r.v)]);
    const phones = (
      await sql<{ v: string; ok: boolean }>`SELECT x.v, ${sql.raw(mobileSql('x.v'))} AS ok
        FROM unnest(${['13800138000', '12345678901', '1380013800']}::text[]) AS x(v)`.execute(db)
    ).rows;
    expect(phones.map((r) => r.ok)).toEqual([true, false, false]);
  });

  it('defaults come from the catalog fields; the demo imports were checked by the job and scored 100', async () => {
    const officer = await city.as('gaj_officer');
    const rules = (await city.call(officer, 'GET', `/api/quality/resources/${pop.id}/rules`)).json();
    expect(rules.canEdit).toBe(true);
    const brief = rules.items.map(
      (r: { kind: string; fieldCode: string | null; params: { check?: string } }) =>
        [r.kind, r.fieldCode, r.params.check ?? null].join(':'),
    );
    // required fields → completeness, the ID-number key → checksum, the phone → mobile format, daily cycle → timeliness
    expect(brief).toEqual(
      expect.arrayContaining([
        'completeness:name:',
        'completeness:gender:',
        'validity:idNumber:idNumber',
        'validity:phone:mobilePhone',
        'timeliness::',
      ]),
    );
    expect(brief).not.toContain('completeness:address:');
    const runs = (await city.call(officer, 'GET', `/api/quality/resources/${pop.id}/runs`)).json().items;
    const imported = runs.filter((r: { trigger: string }) => r.trigger === 'import');
    expect(imported.length).toBeGreaterThanOrEqual(1);
    expect(imported[0]).toMatchObject({ score: 100, rulesFailed: 0 });
    expect(imported[0].batchId).toBeGreaterThan(0);
  });

  it('the demo city: a month of scores; a failed consistency check opened an XT Art 22 task, a partial fix updated it', async () => {
    const reviewer = await city.as('reviewer');
    const low = await city.resource(reviewer, '最低生活保障对象信息');
    const runs = (await city.call(reviewer, 'GET', `/api/quality/resources/${low.id}/runs`)).json().items;
    const scores = runs.map((r: { score: number }) => r.score);
    expect(scores[0]).toBe(100);
    const dip = runs.find((r: { score: number }) => r.score < 100);
    const consistency = async (runId: number) =>
      (await city.call(reviewer, 'GET', `/api/quality/runs/${runId}`))
        .json()
        .rules.find((r: { kind: string }) => r.kind === 'consistency');
    expect(await consistency(dip.id)).toMatchObject({ failing: 2, passed: false });
    const last = await consistency(runs.at(-1).id);
    expect(last).toMatchObject({ failing: 1, passed: false });
    expect(runs.at(-1).score).toBeGreaterThan(dip.score);
    const rows = (await city.call(reviewer, 'GET', `/api/quality/run-rules/${last.id}/failures`)).json();
    expect(rows.items).toHaveLength(1);
    expect(rows.items[0].value).toMatch(/^.某某$|^.\*+$/);
    const tasks = (await city.call(reviewer, 'GET', '/api/quality/rectifications?pageSize=100'))
      .json()
      .items.filter((t: { resource: { id: number } }) => t.resource.id === low.id);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ source: 'check', article: 'XT Art 22', status: 'open' });
    const detail = (await city.call(reviewer, 'GET', `/api/quality/rectifications/${tasks[0].id}`)).json();
    expect(detail.events.map((e: { kind: string }) => e.kind)).toEqual(
      expect.arrayContaining(['opened', 'checkFailed']),
    );
  });

  it('each rule kind finds its seeded bad rows; failing rows are masked; XT Art 22 task opened once, then updated', async () => {
    const officer = await city.as('gaj_officer');
    const reviewer = await city.as('reviewer');
    // custom rules: gender in {男, 女} (the demo's provider set it; a second one on the field is refused); phone unique
    const enumRule = await city.call(officer, 'POST', `/api/quality/resources/${pop.id}/rules`, {
      kind: 'validity',
      fieldCode: 'gender',
      params: { check: 'enum', values: ['男', '女'] },
    });
    expect(enumRule.statusCode).toBe(400);
    const existing = (await city.call(officer, 'GET', `/api/quality/resources/${pop.id}/rules`)).json().items;
    expect(existing).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: 'validity',
          fieldCode: 'gender',
          origin: 'custom',
          params: { check: 'enum', values: ['男', '女'] },
        }),
      ]),
    );
    const uniq = await city.call(officer, 'POST', `/api/quality/resources/${pop.id}/rules`, {
      kind: 'uniqueness',
      fieldCode: 'phone',
      threshold: 100,
    });
    expect(uniq.statusCode, uniq.body).toBe(200);

    const good = testIdNumber(9001);
    const badId = badChecksum(testIdNumber(9002));
    const seqBadId = await seedRow(db, pop.id, badId, { c1: badId });
    const seqNoName = await seedRow(db, pop.id, testIdNumber(9003), { c1: testIdNumber(9003), c2: null });
    const seqGender = await seedRow(db, pop.id, good, { c1: good, c3: '未知', c7: '12345' });
    const dup = await seedRow(db, pop.id, testIdNumber(9004), { c1: testIdNumber(9004), c7: '13900000001' });
    const dup2 = await seedRow(db, pop.id, testIdNumber(9005), { c1: testIdNumber(9005), c7: '13900000001' });
    // stale: the daily resource's last import 10 days ago (XT Art 20 及时)
    await db
      .updateTable('resource')
      .set({ last_ingest_at: new Date('2026-02-20T02:00:00Z') })
      .where('id', '=', pop.id)
      .execute();

    const res = await city.call(officer, 'POST', `/api/quality/resources/${pop.id}/runs`);
    expect(res.statusCode, res.body).toBe(200);
    const run = res.json();
    const by = (kind: string, field: string | null) =>
      run.rules.find(
        (r: { kind: string; fieldCode: string | null }) => r.kind === kind && r.fieldCode === field,
      );
    const rows = Number(
      (await sql<{ n: number }>`SELECT count(*) AS n FROM ${sql.raw(`ds.r_${pop.id}`)}`.execute(db)).rows[0]
        .n,
    );
    expect(run.rowCount).toBe(rows);
    expect(by('validity', 'idNumber')).toMatchObject({ checked: rows, failing: 1, passed: false });
    expect(by('completeness', 'name')).toMatchObject({ checked: rows, failing: 1, passed: false });
    expect(by('validity', 'gender')).toMatchObject({ failing: 1, passed: false });
    expect(by('validity', 'phone').failing).toBe(1);
    // the duplicates: counted independently of the rule's SQL
    const phones = (
      await sql<{ p: string | null }>`SELECT c7 AS p FROM ${sql.raw(`ds.r_${pop.id}`)}`.execute(db)
    ).rows.map((r) => r.p);
    const counts = new Map<string, number>();
    for (const p of phones) if (p !== null) counts.set(p, (counts.get(p) ?? 0) + 1);
    const dupRows = phones.filter((p) => p !== null && counts.get(p)! > 1).length;
    expect(dupRows).toBeGreaterThanOrEqual(2);
    expect(by('uniqueness', 'phone')).toMatchObject({ failing: dupRows, passed: false });
    expect(by('timeliness', null)).toMatchObject({
      failing: 1,
      score: 0,
      passed: false,
      detail: { nextDue: '2026-02-21', daysOverdue: 9 },
    });
    expect(run.score).toBeLessThan(100);
    expect(run.trigger).toBe('manual');

    // failing rows one click away, masked; the read is audited
    const f = await city.call(
      officer,
      'GET',
      `/api/quality/run-rules/${by('validity', 'idNumber').id}/failures`,
    );
    expect(f.statusCode, f.body).toBe(200);
    const item = f.json().items[0];
    expect(item.seq).toBe(seqBadId);
    expect(item.key).not.toContain(badId);
    expect(item.key).toBe(`${badId.slice(0, 3)}${'*'.repeat(11)}${badId.slice(14)}`);
    expect(JSON.stringify(f.json())).not.toContain(badId);
    const gf = (
      await city.call(officer, 'GET', `/api/quality/run-rules/${by('validity', 'phone').id}/failures`)
    ).json();
    expect(gf.items.map((x: { seq: number }) => x.seq)).toEqual([seqGender]);
    expect(gf.items[0].value).toBe('*****'); // masked by the phone rule: too short to keep any digit
    expect(JSON.stringify(gf)).not.toContain(good);
    const nn = (
      await city.call(officer, 'GET', `/api/quality/run-rules/${by('completeness', 'name').id}/failures`)
    ).json();
    expect(nn.items.map((x: { seq: number }) => x.seq)).toEqual([seqNoName]);
    const dd = (
      await city.call(officer, 'GET', `/api/quality/run-rules/${by('uniqueness', 'phone').id}/failures`)
    ).json();
    expect(dd.items.map((x: { seq: number }) => x.seq)).toEqual(expect.arrayContaining([dup, dup2]));
    const read = await db
      .selectFrom('audit_log')
      .select(['action', 'rows_returned'])
      .where('action', '=', 'quality.failures_read')
      .where('resource_id', '=', pop.id)
      .execute();
    expect(read.length).toBeGreaterThanOrEqual(4);

    // XT Art 22: each failed rule opened a task due in 10 WD, through the rectification service
    const tasks = (await city.call(reviewer, 'GET', '/api/quality/rectifications?pageSize=100'))
      .json()
      .items.filter(
        (t: { resource: { id: number }; source: string }) => t.resource.id === pop.id && t.source === 'check',
      );
    expect(tasks).toHaveLength(run.rulesFailed);
    expect(tasks[0]).toMatchObject({ status: 'open', dueDate: '2026-03-16', article: 'XT Art 22' });
    const n = (await city.notifications('gaj_officer')).map((x) => x.kind);
    expect(n).toContain('quality.rectificationOpened');
    expect(n).toContain('quality.checkFailed');
    // the next failed run updates the open tasks instead of opening more
    const again = (await city.call(officer, 'POST', `/api/quality/resources/${pop.id}/runs`)).json();
    const tasks2 = (await city.call(reviewer, 'GET', '/api/quality/rectifications?pageSize=100'))
      .json()
      .items.filter(
        (t: { resource: { id: number }; source: string }) => t.resource.id === pop.id && t.source === 'check',
      );
    expect(tasks2).toHaveLength(tasks.length);
    const detail = (await city.call(officer, 'GET', `/api/quality/rectifications/${tasks[0].id}`)).json();
    expect(detail.events.map((e: { kind: string }) => e.kind)).toEqual(['opened', 'checkFailed']);
    expect(detail.events[1].text).toContain(`第 ${again.id} 次运行`);

    // scores over time: every run is kept
    const hist = (await city.call(reviewer, 'GET', `/api/quality/resources/${pop.id}/runs`)).json().items;
    expect(hist.slice(-2).map((h: { id: number }) => h.id)).toEqual([run.id, again.id]);
    const overview = (await city.call(reviewer, 'GET', '/api/quality/scores')).json().items;
    expect(overview.find((o: { resourceId: number }) => o.resourceId === pop.id)).toMatchObject({
      lastRunId: again.id,
      score: again.score,
    });
  });

  it('consistency: the same person named differently by two sources (NY task 8 multi-source comparison)', async () => {
    const rsj = await city.as('rsj_officer');
    const rule = await city.call(rsj, 'POST', `/api/quality/resources/${si.id}/rules`, {
      kind: 'consistency',
      fieldCode: 'name',
      params: { resourceId: pop.id, fieldCode: 'name' },
      threshold: 100,
    });
    expect(rule.statusCode, rule.body).toBe(200);
    // people see the partner by name
    const listed = (await city.call(rsj, 'GET', `/api/quality/resources/${si.id}/rules`)).json().items;
    expect(listed.find((r: { id: number }) => r.id === rule.json().id).partner).toEqual({
      resourceName: '人口基础信息',
      fieldName: '姓名',
    });
    const before = (await city.call(rsj, 'POST', `/api/quality/resources/${si.id}/runs`)).json();
    const b = before.rules.find((r: { kind: string }) => r.kind === 'consistency');
    expect(b.checked).toBeGreaterThan(0);
    // the demo's 人社 register spells a few names differently from the household register (the population library's
    // conflicts): counted here straight from the two tables
    const differing = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.raw(`ds.r_${si.id}`)} s
      JOIN ${sql.raw(`ds.r_${pop.id}`)} p ON p._key = s._key WHERE s.c2 <> p.c2`.execute(db);
    expect(b.failing).toBe(differing.rows[0].n);
    const changed = await sql<{ seq: number }>`UPDATE ${sql.raw(`ds.r_${si.id}`)} SET c2 = '错误姓名'
      WHERE _seq = (SELECT min(s._seq) FROM ${sql.raw(`ds.r_${si.id}`)} s JOIN ${sql.raw(`ds.r_${pop.id}`)} p
        ON p._key = s._key AND p.c2 = s.c2)
      RETURNING _seq AS seq`.execute(db);
    const after = (await city.call(rsj, 'POST', `/api/quality/resources/${si.id}/runs`)).json();
    const a = after.rules.find((r: { kind: string }) => r.kind === 'consistency');
    expect(a).toMatchObject({ checked: b.checked, failing: b.failing + 1, passed: false });
    const rows = (await city.call(rsj, 'GET', `/api/quality/run-rules/${a.id}/failures`)).json();
    const hit = rows.items.find((x: { seq: number }) => x.seq === Number(changed.rows[0].seq));
    expect(hit?.value).toBe('错***');
    // a resource keyed by a credit code cannot be compared with one keyed by an ID number
    const entities = await city.resource(await city.as('reviewer'), '法人单位基础信息');
    const refused = await city.call(rsj, 'POST', `/api/quality/resources/${si.id}/rules`, {
      kind: 'consistency',
      fieldCode: 'employerName',
      params: { resourceId: entities.id, fieldCode: 'entityName' },
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().details[0]).toMatchObject({ field: 'params.resourceId' });
  });

  it('a committed import queues a check job; the job run is stored with its batch', async () => {
    const officer = await city.as('gaj_officer');
    const runsBefore = (await city.call(officer, 'GET', `/api/quality/resources/${pop.id}/runs`)).json()
      .items;
    const row = (
      await sql<
        Record<string, unknown>
      >`SELECT c1, c2, c3, c4::text AS c4, c8 FROM ${sql.raw(`ds.r_${pop.id}`)}
        WHERE _hash <> 'seeded' ORDER BY _seq LIMIT 1`.execute(db)
    ).rows[0];
    const imp = await city.call(officer, 'POST', `/api/ingest/resources/${pop.id}/records`, {
      records: [
        {
          idNumber: testIdNumber(9100),
          name: '测试人',
          gender: row.c3,
          birthDate: '1990-10-10',
          countyCode: row.c8,
        },
      ],
    });
    expect(imp.statusCode, imp.body).toBe(200);
    const batchId = imp.json().id;
    const queued = await db
      .selectFrom('job')
      .select(['status'])
      .where('kind', '=', 'quality.check')
      .where('key', '=', `batch-${batchId}`)
      .executeTakeFirst();
    expect(queued?.status).toBe('queued');
    await city.tick();
    const runs = (await city.call(officer, 'GET', `/api/quality/resources/${pop.id}/runs`)).json().items;
    expect(runs).toHaveLength(runsBefore.length + 1);
    expect(runs.at(-1)).toMatchObject({ trigger: 'import', batchId });
  });

  it('only the provider and the authority set rules; others are refused and the refusal is audited', async () => {
    const rsj = await city.as('rsj_officer');
    const auditor = await city.as('auditor');
    // another department: the resource's quality is not theirs to see
    expect((await city.call(rsj, 'GET', `/api/quality/resources/${pop.id}/rules`)).statusCode).toBe(404);
    const scores = (await city.call(rsj, 'GET', '/api/quality/scores')).json().items;
    expect(scores.some((s: { resourceId: number }) => s.resourceId === pop.id)).toBe(false);
    expect(scores.some((s: { resourceId: number }) => s.resourceId === si.id)).toBe(true);
    // the auditor reads but does not edit
    const rules = (await city.call(auditor, 'GET', `/api/quality/resources/${pop.id}/rules`)).json();
    expect(rules.canEdit).toBe(false);
    const rule = rules.items[0];
    const put = await city.env.app.inject({
      method: 'PUT',
      url: `/api/quality/rules/${rule.id}`,
      headers: { cookie: auditor },
      payload: { threshold: 10 },
    });
    expect(put.statusCode).toBe(403);
    const refusals = await db
      .selectFrom('audit_log')
      .select(['detail'])
      .where('action', '=', 'http.refused')
      .where('decision', '=', 'deny')
      .execute();
    expect(
      refusals.some((r) => {
        const d = r.detail as { route?: string; code?: string };
        return d.route === '/api/quality/rules/:id' && d.code === 'FORBIDDEN';
      }),
    ).toBe(true);
    // bounded: a threshold above 100 is refused with the field named
    const officer = await city.as('gaj_officer');
    const tooHigh = await city.env.app.inject({
      method: 'PUT',
      url: `/api/quality/rules/${rule.id}`,
      headers: { cookie: officer },
      payload: { threshold: 101 },
    });
    expect(tooHigh.statusCode).toBe(400);
    // the provider edits: audited with before and after
    const ok = await city.env.app.inject({
      method: 'PUT',
      url: `/api/quality/rules/${rule.id}`,
      headers: { cookie: officer },
      payload: { threshold: 90, weight: 5 },
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ threshold: 90, weight: 5 });
    const a = await db
      .selectFrom('audit_log')
      .select(['detail'])
      .where('action', '=', 'quality.rule_updated')
      .where('target_id', '=', String(rule.id))
      .executeTakeFirstOrThrow();
    expect(a.detail).toMatchObject({ after: { threshold: 90, weight: 5 } });
    // a default rule is switched off, not deleted (the next run would add it back)
    const del = await city.env.app.inject({
      method: 'DELETE',
      url: `/api/quality/rules/${rule.id}`,
      headers: { cookie: officer },
    });
    expect(del.json()).toMatchObject({ deleted: rule.origin !== 'default', enabled: false });
  });
});

describe('quality checks under dongguan-2020 (no rectification after a check: the provider is told)', () => {
  let city: City;
  beforeAll(async () => {
    city = await openCity('dongguan-2020', OPEN);
  });
  afterAll(async () => city?.close());

  it('a failed check opens no task, but notifies the provider', async () => {
    const reviewer = await city.as('reviewer');
    const pop = await city.resource(reviewer, '人口基础信息');
    const bad = badChecksum(testIdNumber(9002));
    await seedRow(city.env.ctx.db, pop.id, bad, { c1: bad });
    const run = (await city.call(reviewer, 'POST', `/api/quality/resources/${pop.id}/runs`)).json();
    expect(run.rulesFailed).toBeGreaterThanOrEqual(1);
    const tasks = (await city.call(reviewer, 'GET', '/api/quality/rectifications')).json();
    expect(tasks.total).toBe(0);
    const n = await city.notifications('gaj_officer');
    const failed = n.find((x) => x.kind === 'quality.checkFailed');
    expect(failed?.params).toMatchObject({ runId: run.id, rectificationIds: [], article: null });
  });
});
