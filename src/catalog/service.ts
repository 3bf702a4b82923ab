import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import type { Actor, AppContext } from '../context.js';
import { inTx, type Tx } from '../db/index.js';
import { maskRecord } from '../service/masking.js';
import { AppError } from '../shared/errors.js';
import {
  canLoadData,
  canPreviewData,
  canRegisterResource,
  canSeeResource,
  checkResourceInput,
  dataTableDdl,
  dataTableName,
  normaliseResourceInput,
  type ResourceInput,
  seesAllSectionEntries,
} from './model.js';
import {
  FACET_KEYS,
  type FacetKey,
  highlight,
  refreshSearchDocument,
  type SearchInput,
  type SearchSort,
  searchResources,
  summarySnippet,
} from './search.js';
import * as store from './store.js';

export interface ListResourcesQuery extends Partial<Record<FacetKey, Array<string | number>>> {
  q?: string;
  /** the earlier single-provider filter; same as provider=[id] */
  providerOrgId?: number;
  sort?: SearchSort;
  page: number;
  pageSize: number;
}

/**
 * Full-text catalog search with facets and highlights (issue 6 point 11). Section-level entries are counted and listed
 * only inside their department (DG Art 11), in the SQL itself, so facet counts never reveal a hidden entry.
 */
export async function listResources(ctx: AppContext, actor: Actor, f: ListResourcesQuery) {
  const filters: SearchInput['filters'] = {};
  for (const k of FACET_KEYS) if (f[k]?.length) filters[k] = f[k];
  if (f.providerOrgId) filters.provider = [...(filters.provider ?? []), f.providerOrgId];
  const r = await searchResources(ctx.db, {
    q: f.q,
    filters,
    sort: f.sort,
    page: f.page,
    pageSize: f.pageSize,
    sectionLevelOrgId: seesAllSectionEntries(actor) ? null : actor.orgId,
  });
  return {
    items: r.rows.map((row) => {
      const v = store.resourceView(row as unknown as Parameters<typeof store.resourceView>[0]);
      return {
        ...v,
        highlight: r.tokens.length
          ? { name: highlight(v.name, r.tokens), summary: summarySnippet(v.summary, r.tokens) }
          : null,
      };
    }),
    total: r.total,
    page: f.page,
    pageSize: f.pageSize,
    sort: r.sort,
    facets: r.facets,
  };
}

/** Loads a resource the actor may see, or throws NOT_FOUND (a hidden entry is indistinguishable from a missing one). */
export async function loadVisibleResource(ctx: AppContext, actor: Actor, id: number) {
  const row = await store.getResourceRow(ctx.db, id);
  if (
    !row ||
    !canSeeResource(actor, { catalogLevel: row.catalog_level, providerOrgId: row.provider_org_id })
  ) {
    throw new AppError('NOT_FOUND', [{ field: 'id', reason: `resource ${id} not found` }]);
  }
  return row;
}

export async function getResource(ctx: AppContext, actor: Actor, id: number) {
  const row = await loadVisibleResource(ctx, actor, id);
  const fields = await store.getFields(ctx.db, id);
  return {
    ...store.resourceView(row),
    fields: fields.map(({ ordinal: _o, columnName: _c, ...f }) => f),
    canLoadData: canLoadData(actor, { providerOrgId: row.provider_org_id }),
    canPreview: canPreviewData(actor, { providerOrgId: row.provider_org_id }),
  };
}

/**
 * Inserts the catalog entry, its fields and its data table. DDL is transactional in PostgreSQL: a failure leaves none of
 * them. Every registration (the console's and the demo loader's) passes here, so the flags a validator implies always apply.
 */
export async function createResourceWithTable(
  trx: Tx,
  raw: ResourceInput,
  meta: { code: string; providerOrgId: number; createdBy: number | null },
): Promise<number> {
  const { input, errors } = normaliseResourceInput(raw);
  if (errors.length) throw new AppError('VALIDATION_FAILED', errors);
  const id = await store.insertResource(trx, input, meta);
  await sql.raw(dataTableDdl(id, input.fields)).execute(trx);
  await trx
    .updateTable('resource')
    .set({ data_table: dataTableName(id) })
    .where('id', '=', id)
    .execute();
  // searchable from the moment the registration commits
  await refreshSearchDocument(trx, id);
  return id;
}

export async function registerResource(ctx: AppContext, actor: Actor, input: ResourceInput) {
  if (!canRegisterResource(actor))
    throw new AppError('FORBIDDEN', [{ reason: 'only a data officer registers resources (DG Art 9)' }]);
  const problems = checkResourceInput(input, ctx.profile);
  if (problems.length) {
    const code = problems.some((p) => p.field === 'legalBasis')
      ? 'LEGAL_BASIS_REQUIRED'
      : 'VALIDATION_FAILED';
    throw new AppError(code, problems);
  }
  const id = await inTx(ctx.db, async (trx) => {
    if (input.sectionId) {
      const s = await trx
        .selectFrom('section')
        .select('org_id')
        .where('id', '=', input.sectionId)
        .executeTakeFirst();
      if (!s || s.org_id !== actor.orgId)
        throw new AppError('VALIDATION_FAILED', [
          { field: 'sectionId', reason: 'not a section of your organisation' },
        ]);
    }
    const org = await trx
      .selectFrom('org')
      .select('code')
      .where('id', '=', actor.orgId)
      .executeTakeFirstOrThrow();
    const code = await store.nextResourceCode(trx, actor.orgId, org.code);
    const id = await createResourceWithTable(trx, input, {
      code,
      providerOrgId: actor.orgId,
      createdBy: actor.id,
    });
    await appendAudit(trx, {
      action: 'catalog.register',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      resourceId: id,
      targetType: 'resource',
      targetId: code,
      clientIp: actor.clientIp,
    });
    return id;
  });
  return getResource(ctx, actor, id);
}

/** The provider's own look at its data: still masked on screen (DG Art 33) and audited. */
export async function previewResource(ctx: AppContext, actor: Actor, id: number, limit = 20) {
  const row = await loadVisibleResource(ctx, actor, id);
  if (!canPreviewData(actor, { providerOrgId: row.provider_org_id })) throw new AppError('FORBIDDEN');
  const fields = await store.getFields(ctx.db, id);
  return inTx(ctx.db, async (trx) => {
    const cols = fields.map((f) => `${f.columnName} AS "${f.code}"`).join(', ');
    const { rows } = await sql
      .raw<Record<string, unknown>>(
        `SELECT ${cols} FROM ${dataTableName(id)} ORDER BY _key LIMIT ${Number(limit)}`,
      )
      .execute(trx);
    await appendAudit(trx, {
      action: 'data.preview',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      resourceId: id,
      targetType: 'resource',
      targetId: row.code,
      rowsReturned: rows.length,
      fields: fields.map((f) => f.code),
      clientIp: actor.clientIp,
    });
    return {
      columns: fields.map(({ ordinal: _o, columnName: _c, ...f }) => f),
      rows: rows.map((r) => maskRecord(r, fields)),
    };
  });
}
