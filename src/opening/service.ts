import type { Readable } from 'node:stream';
import { appendAudit } from '../audit/store.js';
import { addDays, shanghaiDate } from '../calendar/model.js';
import { levelsVisibleToAll } from '../catalog/model.js';
import {
  type FacetKey,
  highlight,
  type SearchSort,
  searchResources,
  summarySnippet,
} from '../catalog/search.js';
import type { StoredField } from '../catalog/store.js';
import type { AppContext } from '../context.js';
import { type MaskingPolicy, maskRecord } from '../dataapi/masking.js';
import { maskingPolicy } from '../dataapi/masking-policy.js';
import type { Tx } from '../db/index.js';
import { AppError } from '../shared/errors.js';
import { tableStream } from '../shared/tabular.js';
import { MAX_DOWNLOADS_KEPT, type OpenPrincipal } from './accounts.js';
import { checkGrant, requiredStatements } from './applications.js';
import {
  DOWNLOAD_MEDIA,
  type DownloadFormat,
  domainsOfTopic,
  isListedOpen,
  mayTakeDataWithoutApplication,
  PREVIEW_ROWS,
  PRIORITY_DOMAINS,
  PUBLIC_OPEN_TYPES,
} from './model.js';
import * as store from './store.js';

/*
 * The public open-data portal's use cases (issue 11 point 1–2). No login: the caller is an address (and a console
 * user when a session cookie happens to come along). Every preview and download is audited with the address, in the
 * transaction that counts it; refusals are audited by the HTTP error handler (src/audit/refusals.ts).
 */

/** Who is asking: the client address (bounded) and the console user when signed in. */
export interface Caller {
  ip: string | null;
  userId?: number | null;
  orgId?: number | null;
  /** a public account (by its open API key or portal session), when one came along */
  principal?: OpenPrincipal | null;
  /** the purpose the call names (X-Purpose or ?purpose=), for on-application data (XT Art 30) */
  purpose?: string | null;
}

const MAX_IP = 64;
const ip = (c: Caller) => (c.ip ? c.ip.slice(0, MAX_IP) : null);

/** The facets the portal offers: department, domain, open type, format, update cycle. */
export const OPEN_FACETS: FacetKey[] = ['provider', 'topic', 'openType', 'format', 'updateCycle'];

export interface OpenSearchInput {
  q?: string;
  provider?: number[];
  topic?: string[];
  /** a priority domain (SY Art 36): the topics it gathers */
  domain?: string;
  openType?: string[];
  format?: string[];
  updateCycle?: string[];
  sort?: SearchSort;
  page: number;
  pageSize: number;
}

type Row = store.OpenResourceRow;

/** The public metadata of an open entry (what 开放广东 shows), never its internal workflow state. */
export function publicView(r: Row) {
  return {
    id: r.id,
    code: r.code,
    title: r.name,
    summary: r.summary,
    keywords: r.keywords,
    department: { id: r.provider_org_id, name: r.provider_name },
    topic: r.topic,
    domains: domainsOfTopic(r.topic),
    openType: r.open_type as 'open' | 'onApplication',
    updateCycle: r.update_cycle,
    format: r.format,
    publishedAt: r.published_at,
    updatedAt: r.last_ingest_at ?? r.published_at ?? r.updated_at,
    rowCount: Number(r.row_count),
  };
}

/** Full-text search of open datasets with facets: the catalog's search (jieba) restricted to open entries. */
export async function searchOpen(ctx: AppContext, input: OpenSearchInput) {
  const topics = [...(input.topic ?? [])];
  if (input.domain) {
    const d = PRIORITY_DOMAINS.find((x) => x.key === input.domain);
    const all = await store.homeFacts(ctx.db, PUBLIC_OPEN_TYPES, 0);
    const inDomain = all.topics.filter((t) => d?.words.some((w) => t.topic.includes(w))).map((t) => t.topic);
    topics.push(...(inDomain.length ? inDomain : ['\u0000none']));
  }
  const r = await searchResources(ctx.db, {
    q: input.q,
    filters: {
      provider: input.provider,
      topic: topics,
      openType: input.openType,
      format: input.format,
      updateCycle: input.updateCycle,
    },
    sort: input.sort,
    page: input.page,
    pageSize: input.pageSize,
    // published entries at the levels every department sees; no organisation of its own (id 0 exists nowhere)
    ownOrgId: 0,
    visibleLevels: levelsVisibleToAll(ctx.profile),
    openTypes: PUBLIC_OPEN_TYPES,
    facetKeys: OPEN_FACETS,
    concurrent: ctx.database.kind === 'postgres',
  });
  const facets = r.facets as Record<string, { value: string | number; label: string; count: number }[]>;
  if (input.domain) facets.topic = facets.topic.filter((b) => b.value !== '\u0000none');
  return {
    items: r.rows.map((row) => {
      const v = publicView(row as unknown as Row);
      return {
        ...v,
        highlight: r.tokens.length
          ? { title: highlight(v.title, r.tokens), summary: summarySnippet(v.summary, r.tokens) }
          : null,
      };
    }),
    total: r.total,
    page: input.page,
    pageSize: input.pageSize,
    sort: r.sort,
    facets: Object.fromEntries(
      OPEN_FACETS.map((k) => [k === 'provider' ? 'department' : k, facets[k] ?? []]),
    ),
  };
}

/** Views, downloads and API calls over the last `days` days, per department and dataset, with the daily series. */
export async function usage(ctx: AppContext, days: number) {
  const today = shanghaiDate(ctx.clock.now());
  const since = addDays(today, -(days - 1));
  return {
    since,
    until: today,
    ...(await store.portalUsage(ctx.db, since, PUBLIC_OPEN_TYPES, levelsVisibleToAll(ctx.profile))),
  };
}

/** The portal's home: totals, newest datasets, priority domains that have data, departments with counts. */
export async function home(ctx: AppContext) {
  const facts = await store.homeFacts(ctx.db, PUBLIC_OPEN_TYPES, 8);
  const levels = levelsVisibleToAll(ctx.profile);
  const latest: ReturnType<typeof publicView>[] = [];
  for (const id of facts.latestIds) {
    const r = await store.getResource(ctx.db, id);
    if (r && isListedOpen(r, levels)) latest.push(publicView(r));
  }
  const domains = PRIORITY_DOMAINS.map((d) => ({
    key: d.key,
    count: facts.topics.filter((t) => d.words.some((w) => t.topic.includes(w))).reduce((n, t) => n + t.n, 0),
  })).filter((d) => d.count > 0);
  return {
    datasets: facts.total,
    rows: facts.rows,
    departments: facts.departments,
    domains,
    latest,
  };
}

/** A listed open entry, or OPEN_DATASET_NOT_FOUND (a closed or unpublished entry is not disclosed). */
async function openResource(ctx: AppContext, id: number): Promise<Row> {
  const r = await store.getResource(ctx.db, id);
  if (!r || !isListedOpen(r, levelsVisibleToAll(ctx.profile)))
    throw new AppError('OPEN_DATASET_NOT_FOUND', [
      { field: 'id', reason: `dataset ${id}`, reasonZh: `数据集 ${id}` },
    ]);
  return r;
}

/**
 * Preview, download and API rows: unconditional open data to anyone (SY Art 33); on-application data only to the
 * account holding an unexpired approved application, for its approved purpose (SY Art 34, XT Art 30: checkGrant,
 * which audits its refusals). Returns the grant used, if any.
 */
export async function dataResource(
  ctx: AppContext,
  caller: Caller,
  /** the entry's id, or its row as this request already read and checked it listed (openResource, findPackage) */
  entry: number | Row,
): Promise<{ r: Row; grant: { applicationId: number; purpose: string } | null }> {
  const r = typeof entry === 'number' ? await openResource(ctx, entry) : entry;
  if (r.open_type === 'onApplication' && r.data_table)
    return {
      r,
      grant: await checkGrant(ctx, caller.principal ?? null, r.id, caller.purpose ?? null, ip(caller)),
    };
  if (!mayTakeDataWithoutApplication(r, levelsVisibleToAll(ctx.profile)) || !r.data_table)
    throw new AppError('OPEN_APPLICATION_REQUIRED', [
      {
        field: 'id',
        reason: 'open on application (SY Art 34): apply for it first',
        reasonZh: '依申请开放（沈阳条例第三十四条）：请先提出申请',
      },
    ]);
  return { r, grant: null };
}

function fieldView(f: StoredField) {
  return {
    code: f.code,
    name: f.name,
    type: f.type,
    /** personal or sensitive: shown and handed out masked */
    masked: f.personal || f.sensitive || f.masking !== 'none',
  };
}

/** The dataset page: metadata, fields, download formats, usage; counts a view. */
export async function dataset(ctx: AppContext, id: number) {
  // the entry and its fields side by side (the fields of an entry that is not listed are read and dropped); then the
  // view is counted and the usage read in one statement (bench/open-serve.ts: four round trips and a commit were
  // three quarters of the page's time)
  const [r, fields] = await Promise.all([openResource(ctx, id), store.fieldsOf(ctx.db, id)]);
  const today = shanghaiDate(ctx.clock.now());
  const usage = await store.countViewAndUsage(ctx.db, r.id, today, addDays(today, -29));
  const downloadable = r.open_type === 'open' && !!r.data_table;
  return {
    ...publicView(r),
    contact: { department: r.provider_name },
    fields: fields.map(fieldView),
    downloads: downloadable ? (['csv', 'csv-gbk', 'xlsx', 'json'] as const) : [],
    api: downloadable
      ? {
          ckanPackage: `/api/3/action/package_show?id=${r.id}`,
          datastore: `/api/3/action/datastore_search?resource_id=${r.id}-csv`,
        }
      : null,
    /** on application: what the application must state (profile opening.requestMustState), the reply deadline */
    application:
      r.open_type === 'onApplication'
        ? {
            mustState: requiredStatements(ctx),
            replyDeadline: ctx.profile.opening?.onApplicationReply ?? null,
            article: ctx.profile.opening?.article ?? null,
          }
        : null,
    usage,
  };
}

/** What maskRecord needs of an entry's fields (built once per page, not per row). */
export function maskingFields(fields: StoredField[]) {
  return fields.map((f) => ({
    code: f.code,
    name: f.name,
    personal: f.personal,
    sensitive: f.sensitive,
    masking: f.masking,
    type: f.type,
  }));
}

function masked(fields: StoredField[], record: Record<string, unknown>, policy: MaskingPolicy) {
  return maskRecord(record, maskingFields(fields), policy);
}

/** Records an access and its counter in one transaction. */
async function recordAccess(
  trx: Tx,
  ctx: AppContext,
  caller: Caller,
  r: Row,
  action: 'open.preview' | 'open.download' | 'open.api',
  rows: number,
  fields: StoredField[],
  detail: Record<string, unknown>,
  grant: { applicationId: number; purpose: string } | null = null,
) {
  const p = caller.principal;
  await appendAudit(trx, {
    actorUserId: caller.userId ?? null,
    actorOrgId: caller.orgId ?? null,
    action,
    resourceId: r.id,
    targetType: 'resource',
    targetId: r.id,
    decision: 'allow',
    rowsReturned: rows,
    fields: fields.map((f) => f.code),
    clientIp: ip(caller),
    purpose: grant?.purpose ?? null,
    detail: {
      ...detail,
      ...(p ? { openAccountId: p.accountId, keyId: p.keyId } : {}),
      ...(grant ? { applicationId: grant.applicationId } : {}),
    },
  });
  if (p && action === 'open.download') {
    // "my downloads": the newest MAX_DOWNLOADS_KEPT per account
    await trx
      .insertInto('open_account_download')
      .values({
        account_id: p.accountId,
        resource_id: r.id,
        format: String(detail.format ?? ''),
        via: p.keyId === null ? 'portal' : 'key',
      })
      .execute();
    await trx
      .deleteFrom('open_account_download')
      .where('account_id', '=', p.accountId)
      .where(
        'id',
        'not in',
        trx
          .selectFrom('open_account_download')
          .select('id')
          .where('account_id', '=', p.accountId)
          .orderBy('id', 'desc')
          .limit(MAX_DOWNLOADS_KEPT),
      )
      .execute();
  }
  const kind =
    action === 'open.preview' ? 'previews' : action === 'open.download' ? 'downloads' : 'api_calls';
  await store.countUsage(trx, r.id, shanghaiDate(ctx.clock.now()), kind);
}

/** The first rows of an unconditional dataset, masked (the one masking implementation), audited and counted. */
export async function preview(ctx: AppContext, caller: Caller, id: number) {
  const { r, grant } = await dataResource(ctx, caller, id);
  // read before the transaction: on PGlite (one connection) a read outside it would wait for it
  const policy = await maskingPolicy(ctx);
  return ctx.db.transaction().execute(async (trx) => {
    const fields = await store.fieldsOf(trx, id);
    const rows = await store.rowsAfter(trx, r.data_table!, fields, 0, PREVIEW_ROWS);
    const records = rows.map((x) => masked(fields, x.record, policy));
    await recordAccess(trx, ctx, caller, r, 'open.preview', records.length, fields, {}, grant);
    return { fields: fields.map(fieldView), records, total: Number(r.row_count) };
  });
}

/** Rows read per statement while streaming a download. */
export const DOWNLOAD_BATCH = 2000;

/**
 * A download of an unconditional dataset: audited and counted first (one transaction), then streamed in batches of
 * `DOWNLOAD_BATCH` rows by `_seq` (keyset: constant memory whatever the size), masked row by row.
 */
export async function download(
  ctx: AppContext,
  caller: Caller,
  id: number,
  format: DownloadFormat,
  batchSize = DOWNLOAD_BATCH,
) {
  const { r, grant } = await dataResource(ctx, caller, id);
  const fields = await store.fieldsOf(ctx.db, id);
  await ctx.db
    .transaction()
    .execute((trx) =>
      recordAccess(trx, ctx, caller, r, 'open.download', Number(r.row_count), fields, { format }, grant),
    );
  const table = r.data_table!;
  const policy = await maskingPolicy(ctx);
  async function* records() {
    let after = 0;
    for (;;) {
      const batch = await store.rowsAfter(ctx.db, table, fields, after, batchSize);
      if (!batch.length) return;
      after = batch[batch.length - 1].seq;
      yield batch.map((x) => masked(fields, x.record, policy));
      if (batch.length < batchSize) return;
    }
  }
  const media = DOWNLOAD_MEDIA[format];
  const filename = `${r.code.replaceAll('/', '-')}.${media.ext}`;
  return { stream: encode(format, fields, records()), type: media.type, filename, title: r.name };
}

function encode(
  format: DownloadFormat,
  fields: StoredField[],
  batches: AsyncGenerator<Record<string, unknown>[]>,
): Readable {
  const columns = fields.map((f) => ({ key: f.code, header: f.name }));
  if (format === 'csv-gbk') return tableStream({ format: 'csv', encoding: 'gbk', columns }, batches);
  return tableStream({ format, bom: true, columns }, batches);
}
