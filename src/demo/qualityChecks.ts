import { sql } from 'kysely';
import { addDays, shanghaiDate } from '../calendar/model.js';
import { dataTableName } from '../catalog/model.js';
import { getFields } from '../catalog/store.js';
import type { Actor, AppContext } from '../context.js';
import { ingestRecords } from '../ingest/service.js';
import { createRule, runQualityCheck } from '../quality/checks.js';

/**
 * Quality rules and a year of runs (issue 12 point 2) so 数据质量 and the cockpit's twelve-month trend have a history on
 * first start, made through the same use
 * cases on the days they happened (a clock set back): custom rules next to the defaults; checks 27, 13 and 1 days ago
 * on the base libraries; and on 最低生活保障对象信息 a dip and its repair — 20 days ago an import carried two applicants'
 * names mistyped, the consistency check against 人口基础信息 failed (NY task 8 multi-source comparison; under XT Art 22
 * that opened a rectification task, elsewhere the provider was told); 12 days ago a correcting import restored one of
 * them, so the score rose but the rule still fails (the task, where there is one, got the new result) and one failing
 * record stays one click away. The year before: a scheduled check of 最低生活保障对象信息 on the 15th of each month (its
 * rules were set up a year ago), so every month of the trend has a point. Small: scans of a table of a few hundred rows
 * (the base libraries, 100 000 rows at the default size, are checked on the last three days only).
 */
export async function loadDemoQualityChecks(
  ctx: AppContext,
  who: { officer: (orgCode: string) => Actor; resource: (name: string) => number | undefined },
): Promise<number> {
  const today = shanghaiDate(ctx.clock.now());
  const at = (daysAgo: number): AppContext => {
    const d = new Date(`${addDays(today, -daysAgo)}T09:30:00+08:00`);
    return { ...ctx, clock: { now: () => d } };
  };
  const atDay = (day: string): AppContext => {
    const d = new Date(`${day}T09:30:00+08:00`);
    return { ...ctx, clock: { now: () => d } };
  };
  const withData = async (name: string) => {
    const id = who.resource(name);
    if (!id) return null;
    const r = await ctx.db
      .selectFrom('resource')
      .select(['id', 'code', 'status', 'data_table', 'row_count'])
      .where('id', '=', id)
      .executeTakeFirst();
    return r?.status === 'published' && r.data_table && Number(r.row_count) > 0 ? r : null;
  };
  const population = await withData('人口基础信息');
  const entities = await withData('法人单位基础信息');
  const assistance = await withData('最低生活保障对象信息');
  let runs = 0;
  const run = async (c: AppContext, id: number, trigger: 'schedule' | 'import', batchId?: number) => {
    await runQualityCheck(c, id, { trigger, batchId });
    runs++;
  };

  if (population)
    await createRule(at(28), who.officer('LJ-GAJ'), population.id, {
      kind: 'validity',
      fieldCode: 'gender',
      params: { check: 'enum', values: ['男', '女'] },
    });
  if (entities)
    await createRule(at(28), who.officer('LJ-SCJGJ'), entities.id, {
      kind: 'validity',
      fieldCode: 'entityName',
      params: { check: 'length', min: 2, max: 100 },
    });
  for (const d of [27, 13, 1]) {
    if (population) await run(at(d), population.id, 'schedule');
    if (entities) await run(at(d), entities.id, 'schedule');
  }
  if (!assistance || !population) return runs;

  const mzj = who.officer('LJ-MZJ');
  await createRule(at(366), mzj, assistance.id, {
    kind: 'consistency',
    fieldCode: 'name',
    params: { resourceId: population.id, fieldCode: 'name' },
    threshold: 100,
  });
  await createRule(at(366), mzj, assistance.id, {
    kind: 'validity',
    fieldCode: 'assistanceStatus',
    params: { check: 'enum', values: ['在保', '停保'] },
  });
  // monthly, a year back: on the 15th of each of the eleven months before the current one, up to four weeks ago (the
  // story below starts then)
  const [y, m] = today.split('-').map(Number);
  for (let k = 11; k >= 1; k--) {
    const day = new Date(Date.UTC(y, m - 1 - k, 15)).toISOString().slice(0, 10);
    if (day < addDays(today, -28)) await run(atDay(day), assistance.id, 'schedule');
  }
  await run(at(27), assistance.id, 'schedule');

  // two applicants whose names the 20-days-ago import mistyped (both are in the population register)
  const fields = await getFields(ctx.db, assistance.id);
  const cols = fields.map((f) => `${f.columnName}::text AS ${f.columnName}`).join(', ');
  const { rows } = await sql
    .raw<Record<string, string | null>>(
      `SELECT ${cols} FROM ${dataTableName(assistance.id)} t
       WHERE EXISTS (SELECT 1 FROM ${dataTableName(population.id)} p WHERE p._key = t._key)
       ORDER BY t._seq LIMIT 2`,
    )
    .execute(ctx.db);
  if (rows.length === 0) return runs;
  const header = fields.map((f) => f.code);
  const nameAt = fields.findIndex((f) => f.code === 'name');
  const asRecords = (mistype: boolean, n: number) => [
    header,
    ...rows.slice(0, n).map((r) =>
      fields.map((f, i) => {
        // encrypted columns (docs/ENCRYPTION.md) are re-sent in clear, as the department's system would
        const v = (ctx.fieldKeys.decrypt(r[f.columnName]) as string | null) ?? '';
        return mistype && i === nameAt ? `${Array.from(v)[0] ?? ''}某某` : v;
      }),
    ),
  ];
  const resource = { id: assistance.id, code: assistance.code, data_table: assistance.data_table };
  const bad = await ingestRecords(at(20), mzj, resource, asRecords(true, rows.length), [], {
    source: 'api',
    filename: null,
  });
  await run(at(20), assistance.id, 'import', bad.batchId);
  // the correction found one of the two; the other is still wrong (the page's failing-rows list shows it)
  const fixed = await ingestRecords(at(12), mzj, resource, asRecords(false, 1), [], {
    source: 'api',
    filename: null,
  });
  await run(at(12), assistance.id, 'import', fixed.batchId);
  await run(at(1), assistance.id, 'schedule');
  return runs;
}
