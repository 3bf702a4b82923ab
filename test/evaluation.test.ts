import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, shanghaiDate } from '../src/calendar/model.js';
import { draw } from '../src/evaluation/model.js';
import { createTestEnv, login, type TestEnv } from './helpers.js';

/*
 * Issue 12 point 5: department evaluation (DG Art 36, SY Art 12: the authority evaluates the departments and publishes
 * the results; DG Art 35: random checks). A crafted city where department A does better than department B on every
 * indicator: A ranks higher, each indicator scores A above B, and each score's evidence is what was crafted. Dates
 * are the current quarter (audit rows and grants carry the database's time).
 */
type Db = TestEnv['ctx']['db'];

function currentQuarter() {
  const today = shanghaiDate(new Date());
  const y = Number(today.slice(0, 4));
  const q = Math.floor((Number(today.slice(5, 7)) - 1) / 3) + 1;
  const start = `${y}-${String((q - 1) * 3 + 1).padStart(2, '0')}-01`;
  return { period: `${y}-Q${q}`, start, today };
}

async function officerOf(db: Db, orgId: number) {
  const u = await db
    .selectFrom('app_user')
    .select(['id', 'username'])
    .where('org_id', '=', orgId)
    .where(sql<boolean>`'data_officer' = ANY(roles)`)
    .orderBy('id')
    .executeTakeFirstOrThrow();
  return { id: Number(u.id), username: u.username };
}

describe('department evaluation (DG Art 35, 36; SY Art 12)', () => {
  let env: TestEnv;
  let db: Db;
  const q = currentQuarter();
  let A: number;
  let B: number;
  let aRes: number[];
  let bRes: number[];
  let staleB: number;
  let uncoveredB: number;
  let lateRequestB: number;
  let qualityRunsA: number[];
  let runId: number;
  let reviewer: string;
  let bOfficer: string;
  // biome-ignore lint/suspicious/noExplicitAny: API responses are read field by field
  let ranking: any;

  const call = async (cookie: string, method: 'GET' | 'POST', url: string, payload?: unknown) =>
    env.app.inject({ method, url, headers: { cookie }, payload: payload as object });

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 300, entityRows: 50 } });
    db = env.ctx.db;
    await env.ctx.jobs.runDue(); // the demo's queued jobs (quality checks after its imports) first
    const withData = await db
      .selectFrom('resource')
      .select(['id', 'provider_org_id'])
      .where('status', '=', 'published')
      .where('data_table', 'is not', null)
      .orderBy('provider_org_id')
      .orderBy('id')
      .execute();
    const orgs = [...new Set(withData.map((r) => Number(r.provider_org_id)))];
    expect(orgs.length).toBeGreaterThanOrEqual(2);
    [A, B] = orgs;
    aRes = withData.filter((r) => Number(r.provider_org_id) === A).map((r) => Number(r.id));
    bRes = withData.filter((r) => Number(r.provider_org_id) === B).map((r) => Number(r.id));
    const aUser = await officerOf(db, A);
    const bUser = await officerOf(db, B);
    bOfficer = bUser.username;
    const anyApp = await db
      .selectFrom('app')
      .select(['id', 'org_id'])
      .orderBy('id')
      .executeTakeFirstOrThrow();

    // catalog: every A responsibility item catalogued; B has one without a catalog entry
    await db
      .updateTable('responsibility_item')
      .set({ resource_id: aRes[0] })
      .where('org_id', '=', A)
      .execute();
    await db
      .insertInto('responsibility_item')
      .values({ org_id: A, name: '甲部门职责事项', resource_id: aRes[0], created_by: aUser.id })
      .execute();
    uncoveredB = Number(
      (
        await db
          .insertInto('responsibility_item')
          .values({ org_id: B, name: '乙部门未编目事项', created_by: bUser.id })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id,
    );
    // freshness: A's data updated today on a monthly cycle; one of B's resources daily, last updated 400 days ago
    await sql`UPDATE resource SET update_cycle = 'monthly', last_ingest_at = now() WHERE id = ANY(${aRes})`.execute(
      db,
    );
    staleB = bRes[0];
    await sql`UPDATE resource SET update_cycle = 'daily', last_ingest_at = now() - interval '400 days',
      published_at = now() - interval '400 days' WHERE id = ${staleB}`.execute(db);
    await sql`UPDATE ingest_batch SET created_at = now() - interval '400 days' WHERE resource_id = ${staleB}`.execute(
      db,
    );
    // quality: A's latest runs 95, B's 60
    const qrun = async (resourceId: number, score: number) =>
      Number(
        (
          await sql<{
            id: number;
          }>`INSERT INTO quality_run (resource_id, trigger, started_at, finished_at, row_count,
            score, rules_failed) VALUES (${resourceId}, 'manual', now(), now(), 10, ${score}, 0) RETURNING id`.execute(
            db,
          )
        ).rows[0].id,
      );
    qualityRunsA = [];
    for (const r of aRes) qualityRunsA.push(await qrun(r, 95));
    for (const r of bRes) await qrun(r, 60);
    // on-time answers: A answered its step on the due day; B answered the day after
    const step = async (resourceId: number, decidedAt: string) => {
      const r = await sql<{
        id: number;
      }>`INSERT INTO share_request (resource_id, consumer_org_id, app_id, requester_id,
          purpose, fields, valid_until, profile_id, status)
        VALUES (${resourceId}, ${anyApp.org_id}, ${anyApp.id}, ${aUser.id}, '核验', '{}', '2099-12-31',
          'dongguan-2020', 'approved') RETURNING id`.execute(db);
      const id = Number(r.rows[0].id);
      await sql`INSERT INTO share_request_step (request_id, step_index, key, actor, deadline_amount, deadline_unit,
          article, started_on, due_date, decision, decided_at)
        VALUES (${id}, 0, 'provider', 'provider', 5, 'WD', 'DG Art 22', ${q.today}::date, ${q.today}::date,
          'approved', ${sql.raw(decidedAt)})`.execute(db);
      return id;
    };
    await step(aRes[0], 'now()');
    lateRequestB = await step(bRes[0], "now() + interval '1 day'");
    // sharing volume: 300 calls served on A's resource, 5 on B's
    const calls = async (resourceId: number, n: number) =>
      sql`INSERT INTO audit_log (actor_org_id, app_id, action, resource_id, purpose, decision, rows_returned, detail)
        SELECT ${anyApp.org_id}, ${anyApp.id}, 'data.get', ${resourceId}, '核验', 'allow', 1, '{"ms": 2}'::jsonb
        FROM generate_series(1, ${n})`.execute(db);
    // (the demo's own history of calls is on one department's data: A gets 300 more than the busiest)
    const busiest = await sql<{ n: number }>`SELECT coalesce(max(n), 0)::int AS n FROM (SELECT count(*) AS n
      FROM audit_log a JOIN resource r ON r.id = a.resource_id WHERE a.action LIKE 'data.%' AND a.decision = 'allow'
      GROUP BY r.provider_org_id) x`.execute(db);
    await calls(aRes[0], busiest.rows[0].n + 300);
    await calls(bRes[0], 5);
    // applications supported: more distinct apps hold grants on A's data than anyone else's
    const most = await sql<{
      n: number;
    }>`SELECT coalesce(max(n), 0)::int AS n FROM (SELECT count(DISTINCT g.app_id) AS n
      FROM share_grant g JOIN resource r ON r.id = g.resource_id GROUP BY r.provider_org_id) x`.execute(db);
    for (let i = 0; i <= most.rows[0].n; i++) {
      const app = await db
        .insertInto('app')
        .values({
          org_id: Number(anyApp.org_id),
          name: `评估测试应用${i}`,
          description: '',
          key_prefix: 'gs_test',
          key_hash: randomBytes(16).toString('hex'),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await db
        .insertInto('share_grant')
        .values({
          resource_id: aRes[0],
          consumer_org_id: Number(anyApp.org_id),
          app_id: Number(app.id),
          fields: [],
          purpose: '核验',
          valid_until: new Date('2099-12-31T00:00:00Z'),
          max_calls_per_day: null,
          max_rows_per_call: null,
          max_verify_per_day: null,
          max_export_rows_per_day: null,
          request_id: null,
          revoked_at: null,
        })
        .execute();
    }

    reviewer = await login(env.app, 'reviewer');
    const res = await call(reviewer, 'POST', '/api/evaluation/runs', { period: q.period });
    expect(res.statusCode, res.body).toBe(202);
    runId = res.json().id;
    await env.ctx.jobs.runDue();
    const got = await call(reviewer, 'GET', `/api/evaluation/runs/${runId}`);
    expect(got.statusCode, got.body).toBe(200);
    ranking = got.json();
  });
  afterAll(async () => env?.close());

  it('DG Art 36: the department better on every indicator ranks higher, and scores higher on each', async () => {
    expect(ranking.status).toBe('draft');
    const a = ranking.ranking.find((r: { org: { id: number } }) => r.org.id === A);
    const b = ranking.ranking.find((r: { org: { id: number } }) => r.org.id === B);
    expect(a.rank).toBeLessThan(b.rank);
    expect(a.total).toBeGreaterThan(b.total);
    const score = (r: { indicators: { indicator: string; score: number | null }[] }, code: string) =>
      r.indicators.find((i) => i.indicator === code)?.score;
    for (const code of ['catalog', 'freshness', 'quality', 'onTime', 'volume', 'applications']) {
      expect([code, score(a, code)! > score(b, code)!]).toEqual([code, true]);
    }
    // a department that provides data nobody called scores 0 on volume: not "not applicable"
    const idle = await sql<{ org_id: number }>`SELECT DISTINCT r.provider_org_id AS org_id FROM resource r
      WHERE r.status = 'published' AND NOT EXISTS (SELECT 1 FROM audit_log a JOIN resource x ON x.id = a.resource_id
        WHERE x.provider_org_id = r.provider_org_id AND a.action LIKE 'data.%' AND a.decision = 'allow')
      ORDER BY 1 LIMIT 1`.execute(db);
    expect(idle.rows).toHaveLength(1);
    const idleRow = ranking.ranking.find(
      (r: { org: { id: number } }) => r.org.id === Number(idle.rows[0].org_id),
    );
    expect(score(idleRow, 'volume')).toBe(0);
    // ranks follow totals
    const totals = ranking.ranking.map((r: { total: number }) => r.total);
    expect([...totals].sort((x: number, y: number) => y - x)).toEqual(totals);
    expect(ranking.ranking[0].rank).toBe(1);
  });

  it('DG Art 36: every score is traceable: the evidence holds what was crafted and agrees with the raw records', async () => {
    const ev = async (org: number) => {
      const r = await call(reviewer, 'GET', `/api/evaluation/runs/${runId}/orgs/${org}`);
      expect(r.statusCode, r.body).toBe(200);
      const body = r.json();
      return Object.fromEntries(
        body.indicators.map((i: { indicator: string }) => [i.indicator, i]),
      ) as Record<
        string,
        {
          score: number | null;
          value: number | null;
          counts: Record<string, number>;
          refs: { kind: string; items: { id: number; label: string | null }[] }[];
        }
      >;
    };
    const a = await ev(A);
    const b = await ev(B);
    const ids = (x: { refs: { kind: string; items: { id: number }[] }[] }, kind: string) =>
      x.refs.find((r) => r.kind === kind)?.items.map((i) => i.id) ?? [];
    // catalog completeness
    expect(a.catalog.score).toBe(100);
    expect(ids(b.catalog, 'responsibility')).toContain(uncoveredB);
    expect(b.catalog.counts.items - b.catalog.counts.covered).toBe(ids(b.catalog, 'responsibility').length);
    expect(b.catalog.refs[0].items.find((i) => i.id === uncoveredB)?.label).toBe('乙部门未编目事项');
    // freshness
    expect(ids(b.freshness, 'resource')).toContain(staleB);
    expect(a.freshness.counts.overdue).toBe(0);
    expect(b.freshness.counts.overdue).toBe(ids(b.freshness, 'resource').length);
    // quality: the latest run of each resource
    expect(new Set(ids(a.quality, 'qualityRun'))).toEqual(new Set(qualityRunsA));
    expect(a.quality.value).toBe(95);
    expect(b.quality.value).toBe(60);
    // on-time answers
    expect(a.onTime.counts).toEqual({ due: 1, onTime: 1, late: 0 });
    expect(ids(b.onTime, 'request')).toEqual([lateRequestB]);
    // sharing volume against the raw audit log of the period
    const raw = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM audit_log a JOIN resource r ON r.id = a.resource_id
      WHERE r.provider_org_id = ${A} AND a.action LIKE 'data.%' AND a.action <> 'data.preview' AND a.decision = 'allow'
        AND a.occurred_at >= (${q.start}::date::timestamp AT TIME ZONE 'Asia/Shanghai')
        AND a.occurred_at < (${addDays(q.today, 1)}::date::timestamp AT TIME ZONE 'Asia/Shanghai')`.execute(
      db,
    );
    expect(a.volume.counts.calls).toBe(raw.rows[0].n);
    expect(a.volume.counts.calls).toBeGreaterThanOrEqual(300);
    expect(a.volume.score).toBe(100);
    // applications supported against the grants
    const apps = await sql<{ n: number }>`SELECT count(DISTINCT g.app_id)::int AS n FROM share_grant g
      JOIN resource r ON r.id = g.resource_id WHERE r.provider_org_id = ${A}`.execute(db);
    expect(a.applications.counts.apps).toBe(apps.rows[0].n);
  });

  it('DG Art 36, SY Art 12: a draft is the authority’s; once published every department sees the ranking and its own evidence', async () => {
    const dept = await login(env.app, bOfficer);
    expect((await call(dept, 'POST', '/api/evaluation/runs', { period: q.period })).statusCode).toBe(403);
    const listed = (await call(dept, 'GET', '/api/evaluation/runs'))
      .json()
      .items.map((r: { id: number }) => r.id);
    expect(listed).not.toContain(runId);
    expect((await call(dept, 'GET', `/api/evaluation/runs/${runId}`)).statusCode).toBe(404);
    expect((await call(dept, 'POST', `/api/evaluation/runs/${runId}/publish`)).statusCode).toBe(403);
    const auditor = await login(env.app, 'auditor');
    expect((await call(auditor, 'GET', `/api/evaluation/runs/${runId}`)).statusCode).toBe(200);
    expect((await call(auditor, 'POST', `/api/evaluation/runs/${runId}/publish`)).statusCode).toBe(403);

    const pub = await call(reviewer, 'POST', `/api/evaluation/runs/${runId}/publish`);
    expect(pub.statusCode, pub.body).toBe(200);
    const again = await call(reviewer, 'POST', `/api/evaluation/runs/${runId}/publish`);
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('EVALUATION_NOT_DRAFT');

    expect(
      (await call(dept, 'GET', '/api/evaluation/runs')).json().items.map((r: { id: number }) => r.id),
    ).toContain(runId);
    const seen = await call(dept, 'GET', `/api/evaluation/runs/${runId}`);
    expect(seen.statusCode).toBe(200);
    expect(seen.json().ranking.map((r: { org: { id: number } }) => r.org.id)).toEqual(
      ranking.ranking.map((r: { org: { id: number } }) => r.org.id),
    );
    expect((await call(dept, 'GET', `/api/evaluation/runs/${runId}/orgs/${B}`)).statusCode).toBe(200);
    expect((await call(dept, 'GET', `/api/evaluation/runs/${runId}/orgs/${A}`)).statusCode).toBe(403);
    const notes = (await call(dept, 'GET', '/api/notifications')).json();
    const items = Array.isArray(notes) ? notes : notes.items;
    expect(items.some((n: { kind: string }) => n.kind === 'evaluation.published')).toBe(true);
  });

  it('DG Art 36, SY Art 12: the authority shows a published run on the open portal (no login), and withdraws it; a draft cannot go', async () => {
    const portal = async () => (await env.app.inject({ url: '/api/open/evaluations' })).json().items;
    expect((await portal()).map((r: { id: number }) => r.id)).not.toContain(runId);
    const dept = await login(env.app, bOfficer);
    const refused = await call(dept, 'POST', `/api/evaluation/runs/${runId}/portal`, { onPortal: true });
    expect(refused.statusCode).toBe(403);
    const denied = await db
      .selectFrom('audit_log')
      .select(['detail'])
      .where('action', '=', 'http.refused')
      .execute();
    expect(
      denied.some((r) => String((r.detail as { route?: string }).route ?? '').endsWith('/portal')),
      'the refusal is audited',
    ).toBe(true);

    const on = await call(reviewer, 'POST', `/api/evaluation/runs/${runId}/portal`, { onPortal: true });
    expect(on.statusCode, on.body).toBe(200);
    const shown = (await portal()).find((r: { id: number }) => r.id === runId);
    expect(shown.period).toBe(q.period);
    // the same ranking as the console's, with indicator scores but no evidence
    expect(shown.ranking.map((r: { org: { id: number } }) => r.org.id)).toEqual(
      ranking.ranking.map((r: { org: { id: number } }) => r.org.id),
    );
    expect(shown.ranking[0].indicators.length).toBeGreaterThan(0);
    expect(shown.ranking[0].indicators[0]).not.toHaveProperty('evidence');
    expect((await call(reviewer, 'GET', `/api/evaluation/runs/${runId}`)).json().onPortal).toBe(true);
    // the cockpit's departments-by-score map (issue 12 point 6) shows the same scores per indicator
    const cockpit = (await call(reviewer, 'GET', '/api/cockpit')).json();
    expect(cockpit.ranking.run.id).toBe(runId);
    for (const r of shown.ranking) {
      const cell = cockpit.ranking.items.find((i: { orgId: number }) => i.orgId === r.org.id);
      expect(cell.scores).toEqual(
        Object.fromEntries(
          r.indicators.map((i: { indicator: string; score: number | null }) => [i.indicator, i.score]),
        ),
      );
    }

    const off = await call(reviewer, 'POST', `/api/evaluation/runs/${runId}/portal`, { onPortal: false });
    expect(off.statusCode).toBe(200);
    expect((await portal()).map((r: { id: number }) => r.id)).not.toContain(runId);

    // a draft is not published: it cannot go on the portal
    const year = q.period.slice(0, 4);
    const draft = await call(reviewer, 'POST', '/api/evaluation/runs', { period: year });
    expect(draft.statusCode, draft.body).toBe(202);
    await env.ctx.jobs.runDue();
    const blocked = await call(reviewer, 'POST', `/api/evaluation/runs/${draft.json().id}/portal`, {
      onPortal: true,
    });
    expect(blocked.statusCode).toBe(409);
    expect(blocked.json().code).toBe('EVALUATION_NOT_PUBLISHED');
    expect((await portal()).map((r: { id: number }) => r.id)).not.toContain(draft.json().id);
    const audited = await db
      .selectFrom('audit_log')
      .select('detail')
      .where('action', '=', 'evaluation.portal')
      .orderBy('id')
      .execute();
    expect(audited.map((a) => (a.detail as { onPortal: boolean }).onPortal)).toEqual([true, false]);
  });

  it('DG Art 36: the scoring model is configuration the authority changes; a department cannot', async () => {
    const dept = await login(env.app, bOfficer);
    const model = {
      name: '2026 年度考核',
      indicators: [
        { code: 'quality', weight: 60 },
        { code: 'onTime', weight: 40 },
      ],
    };
    expect((await call(dept, 'PUT' as 'POST', '/api/evaluation/model', model)).statusCode).toBe(403);
    const dup = await call(reviewer, 'PUT' as 'POST', '/api/evaluation/model', {
      name: 'x',
      indicators: [
        { code: 'quality', weight: 50 },
        { code: 'quality', weight: 50 },
      ],
    });
    expect(dup.statusCode).toBe(400);
    const put = await call(reviewer, 'PUT' as 'POST', '/api/evaluation/model', model);
    expect(put.statusCode, put.body).toBe(200);
    expect((await call(dept, 'GET', '/api/evaluation/model')).json()).toMatchObject(model);
    // the run computed before keeps the model it was computed with
    const run = (await call(reviewer, 'GET', `/api/evaluation/runs/${runId}`)).json();
    expect(run.model.indicators).toHaveLength(6);
  });

  it('DG Art 35: a random check is drawn from its recorded seed reproducibly, and its outcome recorded once', async () => {
    const dept = await login(env.app, bOfficer);
    expect(
      (await call(dept, 'POST', '/api/evaluation/checks', { kind: 'department', count: 3 })).statusCode,
    ).toBe(403);
    const first = await call(reviewer, 'POST', '/api/evaluation/checks', {
      kind: 'department',
      count: 3,
      seed: 'q-2026',
    });
    expect(first.statusCode, first.body).toBe(201);
    const second = await call(reviewer, 'POST', '/api/evaluation/checks', {
      kind: 'department',
      count: 3,
      seed: 'q-2026',
    });
    const drawn = first.json().drawn.map((d: { id: number }) => d.id);
    expect(drawn).toHaveLength(3);
    expect(second.json().drawn.map((d: { id: number }) => d.id)).toEqual(drawn);
    // the same draw again from the recorded seed and the population, outside the service
    const population = await db.selectFrom('org').select('id').where('kind', '=', 'department').execute();
    expect(first.json().population).toBe(population.length);
    expect(
      draw(
        population.map((p) => ({ id: Number(p.id) })),
        3,
        'q-2026',
      ).map((p) => p.id),
    ).toEqual(drawn);
    // without a seed one is generated and recorded
    const unseeded = await call(reviewer, 'POST', '/api/evaluation/checks', { kind: 'resource', count: 2 });
    expect(unseeded.json().seed).toMatch(/^[0-9a-f]{16}$/);
    const id = first.json().id;
    const rec = await call(reviewer, 'POST', `/api/evaluation/checks/${id}/result`, {
      outcome: 'issues',
      note: '目录未按期更新',
    });
    expect(rec.statusCode, rec.body).toBe(200);
    expect(rec.json()).toMatchObject({ status: 'recorded', outcome: 'issues' });
    expect(
      (await call(reviewer, 'POST', `/api/evaluation/checks/${id}/result`, { outcome: 'pass' })).statusCode,
    ).toBe(409);
    const audit = await db
      .selectFrom('audit_log')
      .select('action')
      .where('action', 'like', 'evaluation.%')
      .execute();
    expect(new Set(audit.map((r) => r.action))).toEqual(
      new Set([
        'evaluation.run',
        'evaluation.publish',
        'evaluation.portal',
        'evaluation.model',
        'evaluation.check',
        'evaluation.checkResult',
      ]),
    );
  });
});
