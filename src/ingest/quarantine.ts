import { loadVisibleResource } from '../catalog/service.js';
import * as catalogStore from '../catalog/store.js';
import type { Actor, AppContext } from '../context.js';
import { inTx } from '../db/index.js';
import { AppError } from '../shared/errors.js';
import { openQuarantined, quarantineSealer } from './pipeline.js';
import { authorizeLoad, submitRecords } from './service.js';
import { shownValue } from './validate.js';

/*
 * Quarantine (issue 7 point 3): in "accept valid rows, quarantine the rest" mode the invalid rows are kept here with
 * their findings; the provider corrects them and resubmits them as a new batch (validated like any other).
 */

async function checkProvider(ctx: AppContext, actor: Actor, resourceId: number) {
  return authorizeLoad(ctx, actor, resourceId);
}

export async function listQuarantine(
  ctx: AppContext,
  actor: Actor,
  resourceId: number,
  q: { page: number; pageSize: number },
) {
  const resource = await loadVisibleResource(ctx, actor, resourceId);
  if (actor.orgId !== resource.provider_org_id) throw new AppError('FORBIDDEN');
  const fields = await catalogStore.getFields(ctx.db, resourceId);
  const base = ctx.db
    .selectFrom('ingest_quarantine')
    .where('resource_id', '=', resourceId)
    .where('status', '=', 'open');
  const { total } = await base.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
  const items = await base
    .selectAll()
    .orderBy('id')
    .limit(q.pageSize)
    .offset((q.page - 1) * q.pageSize)
    .execute();
  // sensitive-personal values are stored encrypted (docs/ENCRYPTION.md): decrypted here, then masked like any read
  const opened = await Promise.all(
    items.map((r) => openQuarantined(ctx, fields, r.vals as Record<string, unknown>)),
  );
  // the provider corrects its own data, so it sees its values; personal ones stay masked until edited
  return {
    total: Number(total),
    page: q.page,
    pageSize: q.pageSize,
    fields: fields.map((f) => ({
      code: f.code,
      name: f.name,
      type: f.type,
      personal: f.personal || f.sensitive,
    })),
    items: items.map((r, i) => {
      const vals = opened[i] as Record<string, string>;
      return {
        id: r.id,
        batchId: r.batch_id,
        row: r.row_no,
        values: Object.fromEntries(
          fields.map((f) => [
            f.code,
            vals[f.code] === undefined ? null : shownValue(f, String(vals[f.code] ?? '')),
          ]),
        ),
        raw: vals._cells ?? vals._raw ?? null,
        errors: r.errors,
      };
    }),
  };
}

export async function updateQuarantined(
  ctx: AppContext,
  actor: Actor,
  id: number,
  values: Record<string, string | null>,
) {
  const row = await ctx.db
    .selectFrom('ingest_quarantine')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row || row.status !== 'open') throw new AppError('NOT_FOUND');
  await checkProvider(ctx, actor, row.resource_id);
  const fields = await catalogStore.getFields(ctx.db, row.resource_id);
  const unknown = Object.keys(values).filter((k) => !fields.some((f) => f.code === k));
  if (unknown.length)
    throw new AppError(
      'VALIDATION_FAILED',
      unknown.map((k) => ({ field: k.slice(0, 100), reason: 'no such field', reasonZh: '无此信息项' })),
    );
  const prev = (await openQuarantined(ctx, fields, row.vals as Record<string, unknown>)) as Record<
    string,
    string
  >;
  const next = Object.fromEntries(
    fields.map((f) => [f.code, f.code in values ? (values[f.code] ?? '') : (prev[f.code] ?? '')]),
  );
  // stored encrypted again, under the resource's active data key
  const seal = await quarantineSealer(ctx, row.resource_id, fields);
  await ctx.db
    .updateTable('ingest_quarantine')
    .set({ vals: JSON.stringify(seal ? seal(next) : next) })
    .where('id', '=', id)
    .execute();
  return { id, updated: true };
}

export async function resubmitQuarantined(ctx: AppContext, actor: Actor, resourceId: number, ids: number[]) {
  await checkProvider(ctx, actor, resourceId);
  const rows = await ctx.db
    .selectFrom('ingest_quarantine')
    .selectAll()
    .where('resource_id', '=', resourceId)
    .where('status', '=', 'open')
    .where('id', 'in', ids)
    .orderBy('id')
    .execute();
  if (rows.length !== new Set(ids).size)
    throw new AppError('NOT_FOUND', [
      {
        field: 'ids',
        reason: 'some rows are not open quarantined rows of this resource',
        reasonZh: '部分行不是该资源中尚未处理的隔离行',
      },
    ]);
  const fields = await catalogStore.getFields(ctx.db, resourceId);
  const opened = await Promise.all(
    rows.map((r) => openQuarantined(ctx, fields, r.vals as Record<string, unknown>)),
  );
  const records = opened.map((o) => {
    const v = { ...o };
    delete v._cells;
    delete v._raw;
    return v;
  });
  const out = await submitRecords(
    ctx,
    actor,
    resourceId,
    { records, mode: 'upsert', onError: 'reject' },
    { format: 'json', rowNumbers: rows.map((r) => r.id) },
  );
  await inTx(ctx.db, async (trx) => {
    await trx
      .updateTable('ingest_quarantine')
      .set({
        status: 'resubmitted',
        resolved_batch_id: out.id,
        resolved_by: actor.id,
        resolved_at: new Date(),
      })
      .where('id', 'in', ids)
      .execute();
  });
  return out;
}

export async function discardQuarantined(ctx: AppContext, actor: Actor, resourceId: number, ids: number[]) {
  await checkProvider(ctx, actor, resourceId);
  const r = await ctx.db
    .updateTable('ingest_quarantine')
    .set({ status: 'discarded', resolved_by: actor.id, resolved_at: new Date() })
    .where('resource_id', '=', resourceId)
    .where('status', '=', 'open')
    .where('id', 'in', ids)
    .executeTakeFirst();
  return { discarded: Number(r.numUpdatedRows) };
}
