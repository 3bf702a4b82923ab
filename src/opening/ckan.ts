import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type RawBuilder, sql } from 'kysely';
import { recordHttpRefusal } from '../audit/refusals.js';
import { shanghaiDate } from '../calendar/model.js';
import { levelsVisibleToAll } from '../catalog/model.js';
import type { StoredField } from '../catalog/store.js';
import type { AppContext } from '../context.js';
import { maskRecord } from '../dataapi/masking.js';
import { maskingPolicy } from '../dataapi/masking-policy.js';
import { toAppError } from '../http/app.js';
import { HTTP_STATUS } from '../http/errors.js';
import { AppError, type ErrorCode } from '../shared/errors.js';
import { purposeOf } from './applications.js';
import {
  DOWNLOAD_MEDIA,
  type DownloadFormat,
  domainsOfTopic,
  isListedOpen,
  PRIORITY_DOMAINS,
  PUBLIC_OPEN_TYPES,
} from './model.js';
import { dataCallerOf, openRateLimit } from './routes.js';
import * as service from './service.js';
import * as store from './store.js';

/*
 * CKAN-compatible Action API (issue 11 point 8) under /api/3/action/: the read actions harvesters, dashboards and
 * CKAN clients use, with CKAN's response shapes ({help, success, result}; errors {success: false, error: {__type,
 * message}} with CKAN's status codes). Datasets are the portal's open datasets (same search, same rules: never a
 * closed entry); organizations are departments, groups are SY Art 36's priority domains, tags are keywords, resources
 * are the download formats, and datastore_search reads the aggregated rows — masked, audited, counted, rate-limited as
 * the portal's downloads are. Read-only: no create/update actions exist.
 */

const ACTIONS = [
  'status_show',
  'package_list',
  'package_search',
  'package_show',
  'organization_list',
  'organization_show',
  'group_list',
  'tag_list',
  'resource_show',
  'datastore_search',
] as const;
type Action = (typeof ACTIONS)[number];

const RESOURCE_FORMATS: DownloadFormat[] = ['csv', 'csv-gbk', 'xlsx', 'json'];
const MAX_ROWS = 1000;

type Params = Record<string, unknown>;

class CkanError extends Error {
  constructor(
    readonly status: number,
    readonly type: 'Not Found Error' | 'Validation Error' | 'Authorization Error',
    message: string,
    readonly fields?: Record<string, string[]>,
  ) {
    super(message);
  }
}

const notFound = (what: string) => new CkanError(404, 'Not Found Error', `${what} not found`);
const invalid = (field: string, msg: string) =>
  new CkanError(409, 'Validation Error', msg, { [field]: [msg] });

function str(p: Params, k: string, max = 200): string | undefined {
  const v = p[k];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string' && typeof v !== 'number') throw invalid(k, `${k} must be a string`);
  const s = String(v);
  if (s.length > max) throw invalid(k, `${k} is longer than ${max} characters`);
  return s;
}

function int(p: Params, k: string, def: number, min: number, max: number): number {
  const v = p[k];
  if (v === undefined || v === null || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw invalid(k, `${k} must be an integer from ${min} to ${max}`);
  return n;
}

/** URL-safe CKAN names: a dataset's from its catalog code, a department's from its org code. */
export function slug(code: string): string {
  return code.toLowerCase().replace(/[^a-z0-9_-]+/g, '-');
}

type Row = store.OpenResourceRow;

function baseUrl(req: FastifyRequest): string {
  return `${req.protocol}://${req.host}`;
}

async function orgOf(ctx: AppContext, id: number) {
  return ctx.db
    .selectFrom('org')
    .select(['id', 'code', 'name', 'created_at'])
    .where('id', '=', id)
    .executeTakeFirst();
}

function orgDict(o: { id: number; code: string; name: string; created_at: Date }, packageCount?: number) {
  return {
    id: String(o.id),
    name: slug(o.code),
    title: o.name,
    display_name: o.name,
    description: '',
    type: 'organization',
    is_organization: true,
    state: 'active',
    approval_status: 'approved',
    image_url: '',
    created: o.created_at,
    ...(packageCount === undefined ? {} : { package_count: packageCount }),
  };
}

function resourceDict(r: Row, f: DownloadFormat, position: number, base: string) {
  return {
    id: `${r.id}-${f}`,
    package_id: String(r.id),
    name: `${r.name} (${f.toUpperCase()})`,
    description: '',
    format: f === 'csv-gbk' ? 'CSV' : f.toUpperCase(),
    mimetype: DOWNLOAD_MEDIA[f].type.split(';')[0],
    url: `${base}/api/open/datasets/${r.id}/download?format=${f}`,
    url_type: null,
    position,
    state: 'active',
    datastore_active: true,
    created: r.published_at,
    last_modified: r.last_ingest_at ?? r.published_at,
  };
}

function packageDict(r: Row, org: ReturnType<typeof orgDict> | null, base: string) {
  const open = r.open_type === 'open' && !!r.data_table;
  const resources = open ? RESOURCE_FORMATS.map((f, i) => resourceDict(r, f, i, base)) : [];
  const tags = r.keywords.map((k) => ({ name: k, display_name: k, state: 'active', vocabulary_id: null }));
  const groups = domainsOfTopic(r.topic).map((g) => ({ id: g, name: g, title: g, display_name: g }));
  return {
    id: String(r.id),
    name: slug(r.code),
    title: r.name,
    notes: r.summary,
    type: 'dataset',
    state: 'active',
    private: false,
    author: r.provider_name,
    author_email: null,
    maintainer: r.provider_name,
    maintainer_email: null,
    license_id: null,
    license_title: null,
    url: `${base}/open/dataset/${r.id}`,
    version: String(r.version),
    metadata_created: r.published_at ?? r.created_at,
    metadata_modified: r.last_ingest_at ?? r.updated_at,
    owner_org: String(r.provider_org_id),
    organization: org,
    num_resources: resources.length,
    num_tags: tags.length,
    resources,
    tags,
    groups,
    extras: [
      { key: 'catalog_code', value: r.code },
      { key: 'open_type', value: r.open_type },
      { key: 'update_cycle', value: r.update_cycle },
      { key: 'topic', value: r.topic },
      { key: 'record_count', value: String(r.row_count) },
    ],
  };
}

/** A listed open dataset by id or name, or Not Found (closed and unpublished entries are not disclosed). */
async function findPackage(ctx: AppContext, idOrName: string): Promise<Row> {
  let id: number | null = /^\d{1,15}$/.test(idOrName) ? Number(idOrName) : null;
  if (id === null) {
    const hit = await sql<{ id: number }>`SELECT id FROM resource
      WHERE regexp_replace(lower(code), '[^a-z0-9_-]+', '-', 'g') = ${idOrName.toLowerCase()} LIMIT 1`.execute(
      ctx.db,
    );
    id = hit.rows[0] ? Number(hit.rows[0].id) : null;
  }
  const r = id === null ? undefined : await store.getResource(ctx.db, id);
  if (!r || !isListedOpen(r, levelsVisibleToAll(ctx.profile))) throw notFound('Dataset');
  return r;
}

async function findResource(ctx: AppContext, resourceId: string, onApplicationToo = false) {
  const m = /^(\d{1,15})-(csv|csv-gbk|xlsx|json)$/.exec(resourceId);
  if (!m) throw notFound('Resource');
  const r = await findPackage(ctx, m[1]).catch(() => {
    throw notFound('Resource');
  });
  if ((r.open_type !== 'open' && !(onApplicationToo && r.open_type === 'onApplication')) || !r.data_table)
    throw notFound('Resource');
  return { r, format: m[2] as DownloadFormat };
}

async function departments(ctx: AppContext) {
  const facts = await store.homeFacts(ctx.db, PUBLIC_OPEN_TYPES, 0);
  const orgs = await ctx.db
    .selectFrom('org')
    .select(['id', 'code', 'name', 'created_at'])
    .where('id', 'in', facts.departments.length ? facts.departments.map((d) => d.id) : [0])
    .execute();
  return orgs.map((o) => orgDict(o, facts.departments.find((d) => d.id === o.id)?.count ?? 0));
}

/** `organization:x groups:y open_type:open update_cycle:daily` (AND); quoted values allowed. */
function parseFq(fq: string | undefined) {
  const out: { organization: string[]; groups: string[]; open_type: string[]; update_cycle: string[] } = {
    organization: [],
    groups: [],
    open_type: [],
    update_cycle: [],
  };
  if (!fq) return out;
  for (const m of fq.matchAll(/(\+?)([a-z_]+):("([^"]*)"|[^\s]+)/g)) {
    const key = m[2] as keyof typeof out;
    if (!(key in out))
      throw invalid(
        'fq',
        `fq field ${m[2]} is not supported (organization, groups, open_type, update_cycle)`,
      );
    out[key].push(m[4] ?? m[3]);
  }
  return out;
}

const SORTS: Record<string, 'relevance' | 'name' | 'updated'> = {
  'score desc': 'relevance',
  'score desc, metadata_modified desc': 'relevance',
  'metadata_modified desc': 'updated',
  'name asc': 'name',
  'title_string asc': 'name',
};

async function packageSearch(ctx: AppContext, p: Params, base: string) {
  const q = str(p, 'q', 100);
  const rows = int(p, 'rows', 10, 0, MAX_ROWS);
  const start = int(p, 'start', 0, 0, 100_000);
  const sortText = str(p, 'sort', 60);
  const sort = sortText ? SORTS[sortText.trim().toLowerCase()] : undefined;
  if (sortText && !sort)
    throw invalid('sort', `sort ${sortText} is not supported (${Object.keys(SORTS).join('; ')})`);
  const fq = parseFq(str(p, 'fq', 500));
  let facetFields: string[] = [];
  const ff = p['facet.field'];
  if (ff !== undefined) {
    try {
      facetFields = typeof ff === 'string' ? JSON.parse(ff) : (ff as string[]);
    } catch {
      throw invalid('facet.field', 'facet.field must be a JSON list');
    }
    if (!Array.isArray(facetFields) || facetFields.length > 10)
      throw invalid('facet.field', 'facet.field must be a JSON list');
  }
  const orgs = await departments(ctx);
  const provider = fq.organization.map((n) => Number(orgs.find((o) => o.name === n)?.id ?? 0));
  const aligned = rows > 0 && start % rows === 0;
  const pageSize = aligned ? rows : Math.min(start + rows, MAX_ROWS) || 1;
  if (!aligned && start + rows > MAX_ROWS)
    throw invalid('start', `start + rows must be at most ${MAX_ROWS} unless start is a multiple of rows`);
  const domain = fq.groups[0];
  if (domain && !PRIORITY_DOMAINS.some((d) => d.key === domain)) throw notFound('Group');
  const res = await service.searchOpen(ctx, {
    q,
    provider: provider.length ? provider : undefined,
    domain,
    openType: fq.open_type.length ? fq.open_type : undefined,
    updateCycle: fq.update_cycle.length ? fq.update_cycle : undefined,
    sort,
    page: aligned ? start / rows + 1 : 1,
    pageSize,
  });
  const items = aligned ? res.items : res.items.slice(start, start + rows);
  const results = [];
  for (const it of rows === 0 ? [] : items) {
    const r = await store.getResource(ctx.db, it.id);
    if (r) results.push(packageDict(r, orgs.find((o) => o.id === String(r.provider_org_id)) ?? null, base));
  }
  const facets: Record<string, Record<string, number>> = {};
  const searchFacets: Record<
    string,
    { title: string; items: { name: string; display_name: string; count: number }[] }
  > = {};
  for (const f of facetFields) {
    let items: { name: string; display_name: string; count: number }[] = [];
    if (f === 'organization')
      items = res.facets.department.map((b) => {
        const o = orgs.find((x) => x.id === String(b.value));
        return { name: o?.name ?? String(b.value), display_name: b.label, count: b.count };
      });
    else if (f === 'groups') {
      const by = new Map<string, number>();
      for (const b of res.facets.topic)
        for (const d of domainsOfTopic(String(b.value))) by.set(d, (by.get(d) ?? 0) + b.count);
      items = [...by].map(([name, count]) => ({ name, display_name: name, count }));
    } else if (f === 'open_type' || f === 'update_cycle') {
      const key = f === 'open_type' ? 'openType' : 'updateCycle';
      items = res.facets[key].map((b) => ({ name: String(b.value), display_name: b.label, count: b.count }));
    } else if (f === 'res_format') {
      const open = res.facets.openType.find((b) => b.value === 'open')?.count ?? 0;
      items = open ? ['CSV', 'XLSX', 'JSON'].map((n) => ({ name: n, display_name: n, count: open })) : [];
    } else throw invalid('facet.field', `facet field ${f} is not supported`);
    facets[f] = Object.fromEntries(items.map((i) => [i.name, i.count]));
    searchFacets[f] = { title: f, items };
  }
  return {
    count: res.total,
    sort: sortText ?? (q ? 'score desc, metadata_modified desc' : 'name asc'),
    facets,
    search_facets: searchFacets,
    results,
  };
}

function ckanType(f: StoredField): string {
  return f.type === 'integer'
    ? 'int'
    : f.type === 'decimal'
      ? 'numeric'
      : f.type === 'date'
        ? 'date'
        : f.type === 'datetime'
          ? 'timestamp'
          : 'text';
}

const isProtected = (f: StoredField) => f.personal || f.sensitive || f.masking !== 'none';

/**
 * The condition of one `filters` entry: the column's text among the values. On the table's only key field, when it is
 * text, `_key` (the primary key, which holds that same normalised text) is among them too: the same rows, found
 * through the index instead of a scan of the whole table for the page and again for the total (bench/open-serve.ts:
 * 42 → ≈ 1 000 req/s on 100 000 rows under 50 clients).
 */
export function filterCondition(
  f: Pick<StoredField, 'columnName' | 'isKey' | 'type'>,
  fields: ReadonlyArray<Pick<StoredField, 'isKey'>>,
  values: string[],
): RawBuilder<unknown> {
  const cond = sql`${sql.ref(f.columnName)}::text = ANY(${values}::text[])`;
  const onlyKey = f.isKey && f.type === 'string' && fields.filter((x) => x.isKey).length === 1;
  return onlyKey ? sql`_key = ANY(${values}::text[]) AND ${cond}` : cond;
}

async function datastoreSearch(ctx: AppContext, req: FastifyRequest, p: Params) {
  const resourceId = str(p, 'resource_id', 60);
  if (!resourceId) throw invalid('resource_id', 'Missing value');
  // the entry and its fields side by side (the fields of an entry that is not listed are read and dropped), the entry
  // read once: findResource checks it is listed, dataResource who may take its data
  const entryId = Number(/^\d{1,10}(?=-)/.exec(resourceId)?.[0] ?? 0);
  const [found, fields] = await Promise.all([
    findResource(ctx, resourceId, true),
    entryId > 0 && entryId <= 2 ** 31 - 1 ? store.fieldsOf(ctx.db, entryId) : [],
  ]);
  // on-application data: the approved applicant's open key and the approved purpose (SY Art 34, XT Art 30)
  const caller = await dataCallerOf(ctx, req, 'call');
  if (!caller.purpose) caller.purpose = purposeOf(str(p, 'purpose', 2000));
  const { r, grant } = await service.dataResource(ctx, caller, found.r);
  const limit = int(p, 'limit', 100, 0, MAX_ROWS);
  const offset = int(p, 'offset', 0, 0, 10_000_000);
  const conds: RawBuilder<unknown>[] = [];
  let filters = p.filters;
  if (typeof filters === 'string') {
    try {
      filters = JSON.parse(filters);
    } catch {
      throw invalid('filters', 'filters must be a JSON object');
    }
  }
  if (filters !== undefined && (typeof filters !== 'object' || filters === null || Array.isArray(filters)))
    throw invalid('filters', 'filters must be a JSON object');
  for (const [k, v] of Object.entries((filters ?? {}) as Record<string, unknown>).slice(0, 20)) {
    const f = fields.find((x) => x.code === k);
    if (!f) throw invalid('filters', `field "${k}" not in the table`);
    // a filter on a masked field would reveal its clear value by the rows it returns
    if (isProtected(f)) throw invalid('filters', `field "${k}" is masked and cannot be filtered`);
    const values = (Array.isArray(v) ? v : [v]).slice(0, 100).map((x) => String(x).slice(0, 200));
    conds.push(filterCondition(f, fields, values));
  }
  const filterCount = conds.length;
  const q = str(p, 'q', 100);
  if (q) {
    const searchable = fields.filter((f) => !isProtected(f));
    const like = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    conds.push(
      searchable.length
        ? sql`(${sql.join(
            searchable.map((f) => sql`${sql.ref(f.columnName)}::text ILIKE ${like}`),
            sql` OR `,
          )})`
        : sql`false`,
    );
  }
  const where = conds.length ? sql`${sql.join(conds, sql` AND `)}` : null;
  const policy = await maskingPolicy(ctx);
  const page = await store.auditedRowsPage(
    ctx.db,
    r.data_table!,
    fields,
    offset,
    limit,
    where,
    {
      actorUserId: caller.userId ?? null,
      actorOrgId: caller.orgId ?? null,
      action: 'open.api',
      resourceId: r.id,
      fields: fields.map((f) => f.code),
      clientIp: caller.ip ? caller.ip.slice(0, 64) : null,
      purpose: grant?.purpose ?? null,
      detail: {
        action: 'datastore_search',
        filters: filterCount,
        q: q ? q.slice(0, 100) : null,
        ...(caller.principal
          ? { openAccountId: caller.principal.accountId, keyId: caller.principal.keyId }
          : {}),
        ...(grant ? { applicationId: grant.applicationId } : {}),
      },
    },
    shanghaiDate(ctx.clock.now()),
  );
  const masking = service.maskingFields(fields);
  const records = page.records.map((rec) => maskRecord(rec, masking, policy));
  return {
    resource_id: resourceId,
    fields: fields.map((f) => ({ id: f.code, type: ckanType(f), info: { label: f.name } })),
    records,
    total: page.total,
    limit,
    offset,
    include_total: true,
    records_format: 'objects',
    _links: {
      start: `/api/3/action/datastore_search?resource_id=${resourceId}&limit=${limit}`,
      next: `/api/3/action/datastore_search?resource_id=${resourceId}&limit=${limit}&offset=${offset + limit}`,
    },
  };
}

async function run(ctx: AppContext, req: FastifyRequest, action: Action, p: Params): Promise<unknown> {
  const base = baseUrl(req);
  switch (action) {
    case 'status_show':
      return {
        site_title: '临江市公共数据开放平台',
        site_description: 'govshare open-data portal (CKAN-compatible read API)',
        site_url: base,
        ckan_version: '2.10.0',
        locale_default: 'zh_Hans_CN',
        error_emails_to: null,
        extensions: ['datastore'],
      };
    case 'package_list': {
      const limit = int(p, 'limit', MAX_ROWS, 1, MAX_ROWS);
      const offset = int(p, 'offset', 0, 0, 1_000_000);
      const res = await service.searchOpen(ctx, {
        sort: 'name',
        page: 1,
        pageSize: Math.min(offset + limit, MAX_ROWS),
      });
      return res.items.slice(offset, offset + limit).map((i) => slug(i.code));
    }
    case 'package_search':
      return packageSearch(ctx, p, base);
    case 'package_show': {
      const id = str(p, 'id', 120);
      if (!id) throw invalid('id', 'Missing value');
      const r = await findPackage(ctx, id);
      const org = await orgOf(ctx, r.provider_org_id);
      return packageDict(r, org ? orgDict(org) : null, base);
    }
    case 'organization_list': {
      const orgs = await departments(ctx);
      const all = p.all_fields === true || p.all_fields === 'true';
      return all ? orgs : orgs.map((o) => o.name);
    }
    case 'organization_show': {
      const id = str(p, 'id', 120);
      if (!id) throw invalid('id', 'Missing value');
      const o = (await departments(ctx)).find((x) => x.id === id || x.name === id);
      if (!o) throw notFound('Organization');
      return o;
    }
    case 'group_list': {
      const home = await service.home(ctx);
      const all = p.all_fields === true || p.all_fields === 'true';
      return home.domains.map((d) =>
        all
          ? {
              id: d.key,
              name: d.key,
              title: d.key,
              display_name: d.key,
              package_count: d.count,
              type: 'group',
              is_organization: false,
              state: 'active',
            }
          : d.key,
      );
    }
    case 'tag_list': {
      const rows = await sql<{ tag: string }>`SELECT DISTINCT unnest(keywords) AS tag FROM resource
        WHERE status = 'published' AND open_type = ANY(${[...PUBLIC_OPEN_TYPES]}::text[])
          AND catalog_level = ANY(${levelsVisibleToAll(ctx.profile)}::text[]) ORDER BY 1 LIMIT 5000`.execute(
        ctx.db,
      );
      return rows.rows.map((x) => x.tag);
    }
    case 'resource_show': {
      const id = str(p, 'id', 60);
      if (!id) throw invalid('id', 'Missing value');
      const { r, format } = await findResource(ctx, id);
      return resourceDict(r, format, RESOURCE_FORMATS.indexOf(format), base);
    }
    case 'datastore_search':
      return datastoreSearch(ctx, req, p);
  }
}

const ERROR_TYPE: Partial<Record<number, string>> = {
  401: 'Authorization Error',
  403: 'Authorization Error',
  404: 'Not Found Error',
  409: 'Validation Error',
};

export async function ckanRoutes(app: FastifyInstance, ctx: AppContext) {
  await app.register(async (scope) => {
    // CKAN's error shape for every refusal of this API; still audited (bounded, aggregated) like every other refusal
    scope.setErrorHandler(async (err, req, reply) => {
      let status: number;
      let type: string;
      let message: string;
      let fields: Record<string, string[]> | undefined;
      let code: ErrorCode;
      if (err instanceof CkanError) {
        status = err.status;
        type = err.type;
        message = err.message;
        fields = err.fields;
        code = status === 404 ? 'OPEN_DATASET_NOT_FOUND' : 'VALIDATION_FAILED';
      } else {
        const e = err instanceof AppError ? err : toAppError(err, req, ctx);
        code = e.code;
        status = HTTP_STATUS[e.code];
        if (status === 400) status = 409;
        type = ERROR_TYPE[status] ?? (status === 429 ? 'Rate Limit Error' : 'Internal Error');
        message = e.messageEn;
      }
      const audited = err instanceof AppError && err.audited;
      if (status >= 400 && status < 500 && !audited) await recordHttpRefusal(ctx, req, code, status);
      const action = (req.params as { action?: string } | undefined)?.action ?? '';
      return reply.code(status).send({
        help: `${baseUrl(req)}/api/3/action/help_show?name=${encodeURIComponent(action.slice(0, 40))}`,
        success: false,
        error: { __type: type, message, ...(fields ?? {}) },
      });
    });
    const handler = async (req: FastifyRequest) => {
      const action = (req.params as { action: Action }).action;
      // an open key counts against its per-key limit on every action (an invalid key is refused)
      await dataCallerOf(ctx, req, 'call');
      const p = { ...((req.query as Params) ?? {}), ...((req.body as Params | undefined) ?? {}) };
      const result = await run(ctx, req, action, p);
      return { help: `${baseUrl(req)}/api/3/action/help_show?name=${action}`, success: true, result };
    };
    const schema = {
      tags: ['opening'],
      summary:
        'CKAN-compatible Action API (read-only): status_show, package_list, package_search, package_show, organization_list, organization_show, group_list, tag_list, resource_show, datastore_search',
      params: {
        type: 'object',
        properties: { action: { type: 'string', enum: ACTIONS } },
        required: ['action'],
      },
      // CKAN's error shape, not the platform's {code, message, …}
      response: {
        '4xx': {
          description: 'CKAN error: {help, success: false, error: {__type, message, <field>: [reasons]}}',
          type: 'object',
          additionalProperties: true,
        },
      },
    };
    const config = { public: true, rateLimit: openRateLimit(ctx, 'read') };
    scope.get('/api/3/action/:action', { schema, config }, handler);
    scope.post(
      '/api/3/action/:action',
      { schema: { ...schema, body: { type: 'object', maxProperties: 20 } }, config },
      handler,
    );
  });
}
