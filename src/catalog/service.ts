import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import { assertPurchaseApproved } from '../baselib/purchase-rule.js';
import type { Actor, AppContext } from '../context.js';
import { maskRecord } from '../dataapi/masking.js';
import { maskingPolicy } from '../dataapi/masking-policy.js';
import { inTx, type Tx } from '../db/index.js';
import { notify, type Recipients } from '../notify/service.js';
import type { CatalogLevel, Profile } from '../profiles/model.js';
import { queueDecryption, queueEncryption } from '../security/key-convert.js';
import { AppError } from '../shared/errors.js';
import { coverPublished } from '../sharing/bulk.js';
import {
  canManageClasses,
  createClass,
  ensureClassTree,
  listClasses,
  type NewClass,
  nextResourceCode,
  resolveClass,
  resolveResourceCodes,
  rollUpCounts,
  setThemeDepartments,
} from './classes.js';
import {
  canEditResource,
  canLoadData,
  canPreviewData,
  canRegisterResource,
  canRetireResource,
  canReviewVersion,
  canSeeResource,
  checkAdditiveFields,
  checkShape,
  checkShareRules,
  columnDdl,
  columnName,
  dataTableDdl,
  dataTableName,
  diffSnapshots,
  type FieldDef,
  indexColumn,
  levelsVisibleToAll,
  type NormalisedResourceInput,
  normaliseResourceInput,
  type ResourceInput,
  resourceSecurityLevel,
  SNAPSHOT_KEYS,
  type Snapshot,
  SQL_TYPES,
  seesAllSectionEntries,
  shareRuleErrorCode,
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
import type { StoredField } from './store.js';
import * as store from './store.js';

export interface ListResourcesQuery extends Partial<Record<FacetKey, Array<string | number>>> {
  q?: string;
  /** a class of the tree: entries filed under it or below */
  classCode?: string;
  /** default published; other statuses list the caller's own department's entries */
  status?: string;
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
    status: f.status,
    classCode: f.classCode,
    ownOrgId: seesAllSectionEntries(actor) ? null : actor.orgId,
    visibleLevels: levelsVisibleToAll(ctx.profile),
    concurrent: ctx.database.kind === 'postgres',
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

/**
 * The classification tree with, per node, the published entries the actor can see filed under it or below (DG Art 11
 * visibility, as in search), for the catalog browser (issue 6 point 13).
 */
export async function classTree(ctx: AppContext, actor: Actor) {
  const nodes = await listClasses(ctx.db);
  const own = seesAllSectionEntries(actor) ? null : actor.orgId;
  let q = ctx.db
    .selectFrom('resource')
    .select(['class_code', sql<number>`count(*)::int`.as('n')])
    .where('status', '=', 'published')
    .where('class_code', 'is not', null)
    .groupBy('class_code');
  if (own !== null)
    q = q.where((eb) =>
      eb.or([eb('catalog_level', 'in', levelsVisibleToAll(ctx.profile)), eb('provider_org_id', '=', own)]),
    );
  const rows = await q.execute();
  const counts = rollUpCounts(nodes, new Map(rows.map((r) => [r.class_code!, r.n])));
  return {
    items: nodes.map((n) => ({ ...n, count: counts.get(n.id) ?? 0 })),
    canManage: canManageClasses(actor),
    themesArticle: ctx.profile.catalog.classTree.themesArticle,
  };
}

function requireClassManager(actor: Actor, article: string) {
  if (!canManageClasses(actor))
    throw new AppError('FORBIDDEN', [
      {
        reason: `the data authority organises the base and theme catalogs (${article})`,
        reasonZh: `基础目录和主题目录由数据主管部门组织编制（${article}）`,
      },
    ]);
}

/** The authority adds a theme with its lead and contributors, or a 目/细目 (DG Art 12, XT Art 13). */
export async function addClass(ctx: AppContext, actor: Actor, input: NewClass) {
  requireClassManager(actor, ctx.profile.catalog.classTree.themesArticle);
  const id = await inTx(ctx.db, async (trx) => {
    await ensureClassTree(trx, ctx.profile);
    const id = await createClass(trx, ctx.profile, input);
    await appendAudit(trx, {
      action: 'catalog.class_create',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      targetType: 'catalog_class',
      targetId: String(id),
      clientIp: actor.clientIp,
      detail: { name: input.name, parentId: input.parentId, leadOrgId: input.leadOrgId ?? null },
    });
    return id;
  });
  return (await classTree(ctx, actor)).items.find((n) => n.id === id)!;
}

/** The authority names a theme's lead and contributing departments (DG Art 12). */
export async function setThemeLead(
  ctx: AppContext,
  actor: Actor,
  id: number,
  input: { leadOrgId: number; contributorOrgIds?: number[] },
) {
  requireClassManager(actor, ctx.profile.catalog.classTree.themesArticle);
  await inTx(ctx.db, async (trx) => {
    await setThemeDepartments(trx, id, input.leadOrgId, input.contributorOrgIds ?? []);
    await appendAudit(trx, {
      action: 'catalog.theme_departments',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      targetType: 'catalog_class',
      targetId: String(id),
      clientIp: actor.clientIp,
      detail: { leadOrgId: input.leadOrgId, contributorOrgIds: input.contributorOrgIds ?? [] },
    });
  });
  return (await classTree(ctx, actor)).items.find((n) => n.id === id)!;
}

/** Loads a resource the actor may see, or throws NOT_FOUND (a hidden entry is indistinguishable from a missing one). */
export async function loadVisibleResource(ctx: AppContext, actor: Actor, id: number) {
  const row = await store.getResourceRow(ctx.db, id);
  if (
    !row ||
    !canSeeResource(
      actor,
      {
        catalogLevel: row.catalog_level,
        providerOrgId: row.provider_org_id,
        sectionId: row.section_id,
        status: row.status,
      },
      ctx.profile,
    )
  ) {
    throw new AppError('NOT_FOUND', [
      { field: 'id', reason: `resource ${id} not found`, reasonZh: `资源 ${id} 不存在` },
    ]);
  }
  return row;
}

type Row = NonNullable<Awaited<ReturnType<typeof store.getResourceRow>>>;
const target = (row: Row) => ({
  catalogLevel: row.catalog_level,
  providerOrgId: row.provider_org_id,
  sectionId: row.section_id,
});

export async function getResource(ctx: AppContext, actor: Actor, id: number) {
  const row = await loadVisibleResource(ctx, actor, id);
  const fields = await store.getFields(ctx.db, id);
  const open = await store.openVersion(ctx.db, id);
  const canEdit = canEditResource(actor, { providerOrgId: row.provider_org_id });
  // the version under work is shown to its department and to whoever may review it
  const openSnap = open ? (open.snapshot as Snapshot) : null;
  const openTarget = openSnap
    ? {
        catalogLevel: openSnap.catalogLevel,
        providerOrgId: row.provider_org_id,
        sectionId: openSnap.sectionId ?? null,
      }
    : null;
  const canReview =
    !!open &&
    open.status === 'submitted' &&
    canReviewVersion(actor, openTarget!, open.submitted_by, ctx.profile);
  const showOpen =
    !!open && (actor.orgId === row.provider_org_id || canReview || seesAllSectionEntries(actor));
  return {
    ...store.resourceView(row),
    ...(await metadataNames(ctx, actor, row)),
    // the join index is storage the platform keeps for base-library assembly, not part of the entry (never edited)
    fields: fields.map(({ ordinal: _o, columnName: _c, joinIndexed: _j, ...f }) => f),
    canLoadData: canLoadData(actor, { providerOrgId: row.provider_org_id }) && row.status !== 'retired',
    canPreview: canPreviewData(actor, { providerOrgId: row.provider_org_id }),
    canEdit: canEdit && row.status !== 'retired' && open?.status !== 'submitted',
    canRetire: row.status === 'published' && canRetireResource(actor, target(row), ctx.profile),
    reviewer: ctx.profile.catalog.levels[row.catalog_level].reviewer,
    workingVersion:
      showOpen && open
        ? {
            versionNo: open.version_no,
            status: open.status,
            submittedAt: open.submitted_at,
            comment: open.comment,
            canReview,
            canSubmit: canEdit && (open.status === 'draft' || open.status === 'returned'),
            snapshot: openSnap,
          }
        : null,
  };
}

/**
 * What the detail page shows by name: the class path (类 › 项 › 目 › 细目), the info system, the related entries the
 * actor may see (a related code the actor may not see is shown as its code only).
 */
async function metadataNames(ctx: AppContext, actor: Actor, row: Row) {
  const classPath = row.class_code
    ? await ctx.db
        .selectFrom('catalog_class')
        .select(['id', 'name', 'name_en as nameEn', 'kind', 'depth'])
        .where(sql<boolean>`${row.class_code} LIKE full_code || '%'`)
        .orderBy('depth')
        .execute()
    : [];
  const sys = row.info_system_id
    ? await ctx.db
        .selectFrom('info_system')
        .select(['id', 'name'])
        .where('id', '=', row.info_system_id)
        .executeTakeFirst()
    : undefined;
  const codes = row.related_codes ?? [];
  const rel = codes.length
    ? await ctx.db
        .selectFrom('resource')
        .select(['id', 'code', 'name', 'catalog_level', 'provider_org_id', 'section_id', 'status'])
        .where('code', 'in', codes)
        .execute()
    : [];
  return {
    classPath,
    infoSystem: sys ?? null,
    related: codes.map((code) => {
      const r = rel.find((x) => x.code === code);
      const visible =
        r &&
        canSeeResource(
          actor,
          {
            catalogLevel: r.catalog_level,
            providerOrgId: r.provider_org_id,
            sectionId: r.section_id,
            status: r.status,
          },
          ctx.profile,
        );
      return visible ? { code, id: r.id, name: r.name } : { code, id: null, name: null };
    }),
  };
}

function snapshotOf(input: NormalisedResourceInput): Snapshot {
  const s: Record<string, unknown> = {};
  for (const k of SNAPSHOT_KEYS) s[k] = (input as unknown as Record<string, unknown>)[k] ?? null;
  s.keywords = input.keywords ?? [];
  s.topic = input.topic ?? '';
  s.format = input.format ?? 'database';
  s.relatedCodes = input.relatedCodes ?? [];
  // GB/T 43697: the resource is graded at its highest field
  s.securityLevel = resourceSecurityLevel(input.fields).level;
  s.fields = input.fields.map((f) => ({ ...f, required: f.required || f.isKey, length: f.length ?? null }));
  return s as unknown as Snapshot;
}

/**
 * Checks an entry as submitted and returns it completed: the profile's share rules, the shape, the class node (tree
 * rules, classes.resolveClass), the section (the officer's org's), related resource codes (existing entries the actor
 * may see, 1272 关联资源代码) and the info system (the provider's own). Every violation is reported at once.
 */
async function checkInput(
  ctx: AppContext,
  trx: Tx,
  actor: Actor,
  orgId: number,
  input: ResourceInput,
  selfCode?: string,
): Promise<ResourceInput> {
  const rules = checkShareRules(input, ctx.profile);
  if (rules.length) throw new AppError(shareRuleErrorCode(rules), [...rules, ...checkShape(input)]);
  const errors = checkShape(input);
  await ensureClassTree(trx, ctx.profile);
  const cls = await resolveClass(trx, ctx.profile, orgId, input);
  if (input.sectionId) {
    const s = await trx
      .selectFrom('section')
      .select('org_id')
      .where('id', '=', input.sectionId)
      .executeTakeFirst();
    if (!s || s.org_id !== orgId)
      errors.push({
        field: 'sectionId',
        reason: 'not a section of your organisation',
        reasonZh: '不是本单位的科室',
      });
  }
  // an old code (before GB/T 21063.5, migration 045) names its entry by the entry's current code
  const renamed = await resolveResourceCodes(trx, input.relatedCodes ?? []);
  const related = [...new Set((input.relatedCodes ?? []).map((c) => renamed.get(c) ?? c))];
  if (related.length) {
    const rows = await trx
      .selectFrom('resource')
      .select(['code', 'catalog_level', 'provider_org_id', 'section_id', 'status'])
      .where('code', 'in', related)
      .execute();
    const found = new Map(rows.map((r) => [r.code, r]));
    related.forEach((code, i) => {
      const r = found.get(code);
      const visible =
        r &&
        r.status === 'published' &&
        canSeeResource(
          actor,
          {
            catalogLevel: r.catalog_level,
            providerOrgId: r.provider_org_id,
            sectionId: r.section_id,
            status: r.status,
          },
          ctx.profile,
        );
      if (!visible || code === selfCode)
        errors.push({
          field: `relatedCodes[${i}]`,
          reason: `"${code}" is not a published catalog entry you can see`,
          reasonZh: `关联资源代码“${code}”不是可见的已发布目录`,
        });
    });
  }
  if (input.infoSystemId) {
    const sys = await trx
      .selectFrom('info_system')
      .select('owner_org_id')
      .where('id', '=', input.infoSystemId)
      .executeTakeFirst();
    if (!sys || sys.owner_org_id !== orgId)
      errors.push({
        field: 'infoSystemId',
        reason: "not one of the provider's information systems",
        reasonZh: '不是本部门登记的信息系统',
      });
  }
  if (cls.errors.length) throw new AppError('CATALOG_RULE_VIOLATED', [...cls.errors, ...errors]);
  if (errors.length) throw new AppError('VALIDATION_FAILED', errors);
  const c = cls.resolved!;
  return {
    ...input,
    classId: c.classId,
    classification: c.classification,
    topic: c.topic,
    relatedCodes: related,
  };
}

/**
 * Inserts the catalog entry, its fields and its data table. DDL is transactional in PostgreSQL: a failure leaves none of
 * them. Every registration (the console's and the demo loader's) passes here, so the flags a validator implies always
 * apply. The entry starts as version 1 in `status` (draft or submitted).
 */
export async function createResourceWithTable(
  trx: Tx,
  profile: Pick<Profile, 'catalog'>,
  raw: ResourceInput,
  meta: { providerOrgId: number; createdBy: number | null; status?: 'draft' | 'submitted' },
): Promise<{ id: number; code: string }> {
  const { input: normalised, errors } = normaliseResourceInput(raw);
  if (errors.length) throw new AppError('VALIDATION_FAILED', errors);
  await ensureClassTree(trx, profile);
  const cls = await resolveClass(trx, profile, meta.providerOrgId, raw);
  if (cls.errors.length) throw new AppError('CATALOG_RULE_VIOLATED', cls.errors);
  const input = {
    ...normalised,
    classId: cls.resolved!.classId,
    classification: cls.resolved!.classification,
    topic: cls.resolved!.topic,
  };
  // GB/T 21063.5: every entry (console, API, demo) gets its code here
  const code = await nextResourceCode(trx, meta.providerOrgId);
  const status = meta.status ?? 'draft';
  const id = await store.insertResource(trx, input, { ...meta, code, status });
  await sql.raw(dataTableDdl(id, input.fields)).execute(trx);
  await trx
    .updateTable('resource')
    .set({ data_table: dataTableName(id) })
    .where('id', '=', id)
    .execute();
  const now = new Date();
  await trx
    .insertInto('resource_version')
    .values({
      resource_id: id,
      version_no: 1,
      status,
      snapshot: JSON.stringify(snapshotOf(input)),
      created_by: meta.createdBy,
      submitted_by: status === 'submitted' ? meta.createdBy : null,
      submitted_at: status === 'submitted' ? now : null,
    })
    .execute();
  // searchable from the moment the registration commits
  await refreshSearchDocument(trx, id);
  return { id, code };
}

function audit(
  trx: Tx,
  actor: Actor,
  action: string,
  row: { id: number; code: string },
  detail?: Record<string, unknown>,
) {
  return appendAudit(trx, {
    action,
    decision: 'allow',
    actorUserId: actor.id,
    actorOrgId: actor.orgId,
    resourceId: row.id,
    targetType: 'resource',
    targetId: row.code,
    clientIp: actor.clientIp,
    detail,
  });
}

/** The reviewers of a level, as notification recipients (DG Art 11). */
function reviewersOf(ctx: AppContext, level: CatalogLevel, providerOrgId: number): Recipients[] {
  const who = ctx.profile.catalog.levels[level].reviewer;
  if (who === 'authority') return [{ roles: ['authority_reviewer'], anyOrg: true }];
  if (who === 'department') return [{ roles: ['data_officer'], orgIds: [providerOrgId] }];
  return [{ roles: ['section_head'], orgIds: [providerOrgId] }];
}

async function notifySubmitted(
  ctx: AppContext,
  trx: Tx,
  resourceId: number,
  name: string,
  snap: Snapshot,
  versionNo: number,
  providerOrgId: number,
) {
  await notify(trx, reviewersOf(ctx, snap.catalogLevel, providerOrgId), {
    kind: 'catalog.submitted',
    severity: 'info',
    params: { resourceName: name, versionNo },
    resourceId,
  });
}

export async function registerResource(
  ctx: AppContext,
  actor: Actor,
  input: ResourceInput,
  opts: { submit?: boolean } = {},
) {
  if (!canRegisterResource(actor))
    throw new AppError('FORBIDDEN', [
      {
        reason: 'only a data officer registers resources (DG Art 9)',
        reasonZh: '仅数据专员可登记数据资源（DG Art 9）',
      },
    ]);
  const id = await inTx(ctx.db, async (trx) => {
    const checked = await checkInput(ctx, trx, actor, actor.orgId, input);
    const status = opts.submit ? 'submitted' : 'draft';
    const { id, code } = await createResourceWithTable(trx, ctx.profile, checked, {
      providerOrgId: actor.orgId,
      createdBy: actor.id,
      status,
    });
    await audit(trx, actor, 'catalog.register', { id, code }, { status, versionNo: 1 });
    if (status === 'submitted')
      await notifySubmitted(ctx, trx, id, input.name, input as Snapshot, 1, actor.orgId);
    return id;
  });
  return getResource(ctx, actor, id);
}

async function lockRow(trx: Tx, id: number) {
  await sql`SELECT id FROM resource WHERE id = ${id} FOR UPDATE`.execute(trx);
  return (await store.getResourceRow(trx, id))!;
}

/**
 * What `next`'s sensitive-personal flags do to the storage of the live fields (docs/ENCRYPTION.md "Catalog changes").
 * A column's storage (ciphertext or clear) follows the flag. Where no value is stored every change is applied at once
 * (`flips`). Otherwise:
 * - flag turned ON (table holding rows): the column stays clear (`encrypted = false`, shown 存量明文) and the conversion
 *   of clear columns (security/key-convert.ts, job `keys.encrypt`) is queued at publication for the clear
 *   sensitive-personal fields (`encrypt`), a record key included (the job rekeys the records, and the base libraries
 *   joining the resource on it, shared with other resources or not, become hash-keyed: their other clear sources get
 *   a join index); a join key that is not the record key (a non-key field) is converted too, its libraries re-keyed;
 *   and one part of a composite record key that a library joins on (since 2026-12-02): the records rekeyed
 *   `id|visit` → index(`id|visit`), the libraries as for a non-key field (id → index(id)), in the same job;
 * - flag turned OFF on an encrypted field (table, history or quarantine holding its values): the column stays encrypted
 *   (shown 加密存储（待解密）; values keep being encrypted on write) and the job `keys.decrypt` is queued at publication
 *   (`decrypt`), a record key included (the job rekeys the records back to the clear key, and a base library joining
 *   this resource and others on it turns clear-keyed again when no other source keeps the key encrypted), a non-key
 *   join field or one part of a composite record key a library joins on included (its libraries likewise, mapped back
 *   from the field's decrypted values). Nothing is refused here (since 2026-12-02, when one part of a composite record
 *   key was the last shape refused): every flip is applied at once or converted by its job, so submission checks none.
 */
async function storagePlan(
  trx: Tx,
  resourceId: number,
  live: StoredField[],
  next: FieldDef[],
): Promise<{ flips: StoredField[]; encrypt: string[]; decrypt: string[] }> {
  const flag = (i: number) => next[i]?.sensitivePersonal ?? false;
  const flips = live.filter((f, i) => i < next.length && f.encrypted !== flag(i));
  if (!flips.length) return { flips, encrypt: [], decrypt: [] };
  const holdsRows = (
    await sql.raw<{ x: number }>(`SELECT 1 AS x FROM ${dataTableName(resourceId)} LIMIT 1`).execute(trx)
  ).rows.length;
  const on = flips.filter((f) => !f.encrypted);
  const off = flips.filter((f) => f.encrypted);
  // an encrypted field's values also live in record_history and ingest_quarantine: the job decrypts those too
  const offHeld =
    off.length > 0 &&
    (holdsRows > 0 ||
      (
        await sql<{
          x: number;
        }>`SELECT 1 AS x WHERE EXISTS (SELECT 1 FROM record_history WHERE resource_id = ${resourceId})
          OR EXISTS (SELECT 1 FROM ingest_quarantine WHERE resource_id = ${resourceId})`.execute(trx)
      ).rows.length > 0);
  const now = [...(holdsRows ? [] : on), ...(offHeld ? [] : off)];
  const decrypt = offHeld ? off.map((f) => f.code) : [];
  // every `on` flip of a table holding rows is a clear column flagged sensitive-personal: clear until the job runs
  const turnedOn = holdsRows ? on.filter((f) => !f.sensitivePersonal) : [];
  if (!turnedOn.length) return { flips: now, encrypt: [], decrypt };
  return { flips: now, encrypt: on.map((f) => f.code), decrypt };
}

/**
 * Brings the live fields and data table to `next`. An entry never published and holding no data is rebuilt freely;
 * otherwise only additive changes (FIELD_CHANGE_NOT_ADDITIVE): existing fields keep code, type and position, new ones
 * become new columns. Returns the fields the caller queues for conversion to encrypted storage (`encrypt`) or back to
 * clear storage (`decrypt`) (storagePlan).
 */
async function applyFields(
  trx: Tx,
  row: Row,
  next: FieldDef[],
): Promise<{ encrypt: string[]; decrypt: string[] }> {
  const live = await store.getFields(trx, row.id);
  const liveDefs = live.map(({ ordinal: _o, columnName: _c, ...f }) => f as FieldDef);
  if (row.published_at === null && Number(row.row_count) === 0) {
    await trx.deleteFrom('resource_field').where('resource_id', '=', row.id).execute();
    await sql.raw(`DROP TABLE ${dataTableName(row.id)}`).execute(trx);
    await store.insertFields(trx, row.id, next, 0);
    await sql.raw(dataTableDdl(row.id, next)).execute(trx);
    return { encrypt: [], decrypt: [] };
  }
  const problems = checkAdditiveFields(liveDefs, next);
  if (problems.length) throw new AppError('FIELD_CHANGE_NOT_ADDITIVE', problems);
  const { flips, encrypt, decrypt } = await storagePlan(trx, row.id, live, next);
  for (const f of flips) {
    const t = dataTableName(row.id);
    const n = next[f.ordinal - 1];
    if (n.sensitivePersonal) {
      await sql.raw(`ALTER TABLE ${t} ALTER COLUMN ${f.columnName} TYPE text`).execute(trx);
      // a join-indexed column (a clear source of a hash-keyed base library) has its `_h` column and index already
      if (!f.joinIndexed) {
        await sql.raw(`ALTER TABLE ${t} ADD COLUMN ${indexColumn(f.columnName)} text`).execute(trx);
        await sql
          .raw(`CREATE INDEX r_${row.id}_${indexColumn(f.columnName)} ON ${t} (${indexColumn(f.columnName)})`)
          .execute(trx);
      }
    } else {
      await sql
        .raw(
          `ALTER TABLE ${t} ALTER COLUMN ${f.columnName} TYPE ${SQL_TYPES[n.type]} USING ${f.columnName}::${SQL_TYPES[n.type]}`,
        )
        .execute(trx);
      await sql.raw(`ALTER TABLE ${t} DROP COLUMN ${indexColumn(f.columnName)}`).execute(trx);
    }
    await trx
      .updateTable('resource_field')
      .set({ encrypted: n.sensitivePersonal ?? false, join_indexed: false })
      .where('resource_id', '=', row.id)
      .where('ordinal', '=', f.ordinal)
      .execute();
  }
  for (let i = 0; i < live.length; i++) {
    const f = next[i];
    await trx
      .updateTable('resource_field')
      .set({
        name: f.name,
        length: f.length ?? null,
        required: f.required || f.isKey,
        is_key: f.isKey,
        personal: f.personal,
        sensitive: f.sensitive,
        masking: f.masking,
        validator: f.validator ?? null,
        data_type: f.dataType ?? null,
        security_level: f.securityLevel ?? 'general',
        sensitive_personal: f.sensitivePersonal ?? false,
        allowed_values: f.allowedValues?.length ? JSON.stringify(f.allowedValues) : null,
      })
      .where('resource_id', '=', row.id)
      .where('ordinal', '=', i + 1)
      .execute();
  }
  const added = next.slice(live.length);
  await store.insertFields(trx, row.id, added, live.length);
  for (let i = 0; i < added.length; i++) {
    const ddl = columnDdl(row.id, columnName(live.length + i + 1), added[i]);
    for (const c of ddl.columns)
      await sql.raw(`ALTER TABLE ${dataTableName(row.id)} ADD COLUMN ${c}`).execute(trx);
    for (const x of ddl.indexes) await sql.raw(x).execute(trx);
  }
  return { encrypt, decrypt };
}

/**
 * Saves the provider's edit. A draft or returned entry that was never published is edited in place (version 1 stays
 * the working copy). A published entry gets a new version that goes through review while the live one keeps serving;
 * an open (draft/returned) new version is overwritten. A submitted version is frozen until it is decided.
 */
export async function saveResource(
  ctx: AppContext,
  actor: Actor,
  id: number,
  input: ResourceInput,
  opts: { submit?: boolean } = {},
) {
  await inTx(ctx.db, async (trx) => {
    const row = await lockRow(trx, id);
    if (!row) throw new AppError('NOT_FOUND');
    if (!canEditResource(actor, { providerOrgId: row.provider_org_id }))
      throw new AppError(
        canSeeResource(actor, { ...target(row), status: row.status }, ctx.profile)
          ? 'FORBIDDEN'
          : 'NOT_FOUND',
        [
          {
            reason: "only the provider's data officer edits its catalog entries (DG Art 10)",
            reasonZh: '仅数源部门的数据专员可编辑其目录（DG Art 10）',
          },
        ],
      );
    if (row.status === 'retired')
      throw new AppError('REVIEW_STATE_INVALID', [
        { reason: 'the entry is retired', reasonZh: '该目录已停用' },
      ]);
    const checked = await checkInput(ctx, trx, actor, row.provider_org_id, input, row.code);
    const { input: norm, errors } = normaliseResourceInput(checked);
    if (errors.length) throw new AppError('VALIDATION_FAILED', errors);
    const snap = snapshotOf(norm);
    const open = await store.openVersion(trx, id);
    if (open?.status === 'submitted')
      throw new AppError('REVIEW_STATE_INVALID', [
        {
          reason: 'the submitted version is under review; wait for the decision',
          reasonZh: '已提交的版本正在审核，请等待审核结果',
        },
      ]);
    const live = await store.getFields(trx, id);
    const liveDefs = live.map(({ ordinal: _o, columnName: _c, ...f }) => f as FieldDef);
    const neverPublished = row.published_at === null;
    if (!neverPublished || Number(row.row_count) > 0) {
      const problems = checkAdditiveFields(liveDefs, norm.fields);
      if (problems.length) throw new AppError('FIELD_CHANGE_NOT_ADDITIVE', problems);
    }
    const status = opts.submit ? 'submitted' : 'draft';
    const now = new Date();
    let versionNo: number;
    if (open?.status === 'returned') {
      // the returned version stays in the history with its decision and comment; the edit is a new version
      await trx
        .updateTable('resource_version')
        .set({ status: 'superseded' })
        .where('id', '=', open.id)
        .execute();
    }
    if (open && open.status !== 'returned') {
      versionNo = open.version_no;
      await trx
        .updateTable('resource_version')
        .set({
          snapshot: JSON.stringify(snap),
          status,
          updated_at: now,
          submitted_by: opts.submit ? actor.id : null,
          submitted_at: opts.submit ? now : null,
        })
        .where('id', '=', open.id)
        .execute();
    } else {
      const { max } = await trx
        .selectFrom('resource_version')
        .select(sql<number>`coalesce(max(version_no), 0)::int`.as('max'))
        .where('resource_id', '=', id)
        .executeTakeFirstOrThrow();
      versionNo = max + 1;
      await trx
        .insertInto('resource_version')
        .values({
          resource_id: id,
          version_no: versionNo,
          status,
          snapshot: JSON.stringify(snap),
          created_by: actor.id,
          submitted_by: opts.submit ? actor.id : null,
          submitted_at: opts.submit ? now : null,
        })
        .execute();
    }
    if (neverPublished) {
      // the entry is not live anywhere: its row is the working copy
      await store.updateResourceMeta(trx, id, norm);
      const { encrypt, decrypt } = await applyFields(trx, row, norm.fields);
      // a flag turned on (or off) while values are stored: converted by the job, as at publication
      if (encrypt.length) await queueEncryption(ctx, trx, actor, id, encrypt, 'catalog.edit', { versionNo });
      if (decrypt.length) await queueDecryption(ctx, trx, actor, id, decrypt, 'catalog.edit', { versionNo });
      await trx.updateTable('resource').set({ status }).where('id', '=', id).execute();
    }
    await audit(trx, actor, 'catalog.edit', row, {
      versionNo,
      status,
      changes: diffSnapshots(await liveSnapshot(trx, id, row), snap).length,
    });
    if (opts.submit) await notifySubmitted(ctx, trx, id, norm.name, snap, versionNo, row.provider_org_id);
  });
  return getResource(ctx, actor, id);
}

/** The live version's snapshot (null for an entry never published). */
async function liveSnapshot(trx: Tx | AppContext['db'], id: number, row: Row): Promise<Snapshot | null> {
  if (row.published_at === null) return null;
  const v = await trx
    .selectFrom('resource_version')
    .select('snapshot')
    .where('resource_id', '=', id)
    .where('status', '=', 'published')
    .executeTakeFirst();
  return v ? (v.snapshot as Snapshot) : null;
}

export async function submitResource(ctx: AppContext, actor: Actor, id: number) {
  await inTx(ctx.db, async (trx) => {
    const row = await lockRow(trx, id);
    if (!row || !canEditResource(actor, { providerOrgId: row.provider_org_id }))
      throw new AppError('FORBIDDEN', [
        {
          reason: "only the provider's data officer submits its entries",
          reasonZh: '仅数源部门的数据专员可提交其目录',
        },
      ]);
    const open = await store.openVersion(trx, id);
    if (!open || open.status === 'submitted')
      throw new AppError('REVIEW_STATE_INVALID', [
        {
          reason: open ? 'already submitted' : 'no draft to submit',
          reasonZh: open ? '已提交审核' : '没有待提交的草稿',
        },
      ]);
    const snap = open.snapshot as Snapshot;
    // the rules are checked again: the profile may have changed since the draft was saved
    const rules = checkShareRules(snap, ctx.profile);
    if (rules.length) throw new AppError(shareRuleErrorCode(rules), rules);
    const now = new Date();
    await trx
      .updateTable('resource_version')
      .set({ status: 'submitted', submitted_by: actor.id, submitted_at: now, updated_at: now })
      .where('id', '=', open.id)
      .execute();
    if (row.published_at === null)
      await trx.updateTable('resource').set({ status: 'submitted' }).where('id', '=', id).execute();
    await audit(trx, actor, 'catalog.submit', row, { versionNo: open.version_no });
    await notifySubmitted(ctx, trx, id, snap.name, snap, open.version_no, row.provider_org_id);
  });
  return getResource(ctx, actor, id);
}

/**
 * The level's reviewer decides a submitted version (DG Art 11 审核确定): publish makes it the live entry (the old live
 * version is superseded, the data table gains the new columns, `resource.version` is bumped so every node's data API
 * re-reads the metadata); return sends it back with a comment. A share-type change is published only this way
 * (DG Art 11, XT Art 23.5).
 */
export async function decideResource(
  ctx: AppContext,
  actor: Actor,
  id: number,
  d: { decision: 'publish' | 'return'; comment?: string | null },
) {
  await inTx(ctx.db, async (trx) => {
    const row = await lockRow(trx, id);
    if (!row) throw new AppError('NOT_FOUND');
    const open = await store.openVersion(trx, id);
    const snap = open ? (open.snapshot as Snapshot) : null;
    const t = snap
      ? {
          catalogLevel: snap.catalogLevel,
          providerOrgId: row.provider_org_id,
          sectionId: snap.sectionId ?? null,
        }
      : target(row);
    if (
      !canSeeResource(actor, { ...target(row), status: row.status }, ctx.profile) &&
      !canReviewVersion(actor, t, null, ctx.profile)
    )
      throw new AppError('NOT_FOUND');
    if (!open || !snap || open.status !== 'submitted')
      throw new AppError('REVIEW_STATE_INVALID', [
        { reason: 'no submitted version to decide', reasonZh: '没有待审核的版本' },
      ]);
    const rule = ctx.profile.catalog.levels[snap.catalogLevel];
    if (!canReviewVersion(actor, t, open.submitted_by, ctx.profile))
      throw new AppError('FORBIDDEN', [
        {
          reason: `a ${snap.catalogLevel}-level entry is reviewed by ${rule.reviewer === 'authority' ? "the authority's reviewer" : rule.reviewer === 'department' ? 'another data officer of the department' : 'the head of its section'}, never by its submitter (${rule.article})`,
          reasonZh: `${{ city: '市级', department: '部门级', section: '科室级' }[snap.catalogLevel]}目录由${rule.reviewer === 'authority' ? '数据主管部门审核员' : rule.reviewer === 'department' ? '本部门其他数据专员' : '所在科室负责人'}审核确定，提交人不得自审（${rule.article}）`,
        },
      ]);
    const now = new Date();
    if (d.decision === 'return') {
      if (!d.comment?.trim())
        throw new AppError('VALIDATION_FAILED', [
          { field: 'comment', reason: 'say what to change', reasonZh: '退回须填写修改意见' },
        ]);
      await trx
        .updateTable('resource_version')
        .set({
          status: 'returned',
          decision: 'returned',
          decided_by: actor.id,
          decided_at: now,
          comment: d.comment,
          updated_at: now,
        })
        .where('id', '=', open.id)
        .execute();
      if (row.published_at === null)
        await trx.updateTable('resource').set({ status: 'returned' }).where('id', '=', id).execute();
      await audit(trx, actor, 'catalog.return', row, { versionNo: open.version_no, comment: d.comment });
      await notify(trx, [{ roles: ['data_officer'], orgIds: [row.provider_org_id] }], {
        kind: 'catalog.returned',
        severity: 'warning',
        params: { resourceName: snap.name, versionNo: open.version_no, comment: d.comment },
        resourceId: id,
      });
      return;
    }
    // the rules are checked once more at publication, under the profile in force now
    const rules = checkShareRules(snap, ctx.profile);
    if (rules.length) throw new AppError(shareRuleErrorCode(rules), rules);
    // XT Art 16: purchased data is published only with the authority's approval record
    await assertPurchaseApproved(trx, ctx.profile, id);
    const { encrypt, decrypt } = await applyFields(trx, row, snap.fields);
    await store.updateResourceMeta(trx, id, snap);
    await trx
      .updateTable('resource_version')
      .set({ status: 'superseded' })
      .where('resource_id', '=', id)
      .where('status', '=', 'published')
      .execute();
    await trx
      .updateTable('resource_version')
      .set({
        status: 'published',
        decision: 'published',
        decided_by: actor.id,
        decided_at: now,
        comment: d.comment ?? null,
        updated_at: now,
      })
      .where('id', '=', open.id)
      .execute();
    await trx
      .updateTable('resource')
      .set({ status: 'published', version: open.version_no, published_at: now, updated_at: now })
      .where('id', '=', id)
      .execute();
    await refreshSearchDocument(trx, id);
    // NY task 7 整体授权: a bulk grant over the resource's class covers it from its publication
    await coverPublished(trx, ctx.profile, id);
    const before = await trx
      .selectFrom('resource_version')
      .select('snapshot')
      .where('resource_id', '=', id)
      .where('status', '=', 'superseded')
      .orderBy('version_no', 'desc')
      .executeTakeFirst();
    const prev = before ? (before.snapshot as Snapshot) : null;
    await audit(trx, actor, 'catalog.publish', row, {
      versionNo: open.version_no,
      comment: d.comment ?? null,
      shareType:
        prev && prev.shareType !== snap.shareType
          ? { from: prev.shareType, to: snap.shareType, article: ctx.profile.catalog.shareTypeChangeArticle }
          : undefined,
      encryptQueued: encrypt.length ? encrypt : undefined,
      decryptQueued: decrypt.length ? decrypt : undefined,
    });
    // a field flagged sensitive-personal on a table holding rows stays clear (存量明文) until this job converts it
    if (encrypt.length)
      await queueEncryption(ctx, trx, actor, id, encrypt, 'catalog.publish', { versionNo: open.version_no });
    // a field unflagged while its values are stored stays encrypted (加密存储（待解密）) until this job decrypts it
    if (decrypt.length)
      await queueDecryption(ctx, trx, actor, id, decrypt, 'catalog.publish', { versionNo: open.version_no });
    await notify(trx, [{ roles: ['data_officer'], orgIds: [row.provider_org_id] }], {
      kind: 'catalog.published',
      severity: 'info',
      params: { resourceName: snap.name, versionNo: open.version_no },
      resourceId: id,
    });
  });
  return getResource(ctx, actor, id);
}

/** Retires a published entry with a reason: no new requests, the data API stops serving it. */
export async function retireResource(ctx: AppContext, actor: Actor, id: number, reason: string) {
  await inTx(ctx.db, async (trx) => {
    const row = await lockRow(trx, id);
    if (!row || !canSeeResource(actor, { ...target(row), status: row.status }, ctx.profile))
      throw new AppError('NOT_FOUND');
    if (!canRetireResource(actor, target(row), ctx.profile))
      throw new AppError('FORBIDDEN', [
        {
          reason: "only the provider's data officer or the entry's reviewer retires it",
          reasonZh: '仅数源部门的数据专员或该目录的审核人可停用目录',
        },
      ]);
    if (row.status !== 'published')
      throw new AppError('REVIEW_STATE_INVALID', [
        { reason: 'only a published entry is retired', reasonZh: '只有已发布的目录可以停用' },
      ]);
    if (!reason.trim())
      throw new AppError('VALIDATION_FAILED', [
        { field: 'reason', reason: 'give the reason', reasonZh: '须填写停用理由' },
      ]);
    const now = new Date();
    await trx
      .updateTable('resource')
      .set({
        status: 'retired',
        retired_at: now,
        retired_by: actor.id,
        retire_reason: reason,
        version: sql`version + 1`,
        updated_at: now,
      })
      .where('id', '=', id)
      .execute();
    // an open new version dies with the entry
    await trx
      .deleteFrom('resource_version')
      .where('resource_id', '=', id)
      .where('status', 'in', ['draft', 'returned', 'submitted'])
      .execute();
    await refreshSearchDocument(trx, id);
    await audit(trx, actor, 'catalog.retire', row, { reason });
    await notify(trx, [{ roles: ['data_officer'], orgIds: [row.provider_org_id] }], {
      kind: 'catalog.retired',
      severity: 'warning',
      params: { resourceName: row.name, reason },
      resourceId: id,
    });
  });
  return getResource(ctx, actor, id);
}

/** Every version with who/when/decision/comment and its field-by-field diff against the version before it. */
export async function resourceHistory(ctx: AppContext, actor: Actor, id: number) {
  const row = await loadVisibleResource(ctx, actor, id);
  const versions = await store.getVersions(ctx.db, id);
  const insider = actor.orgId === row.provider_org_id || seesAllSectionEntries(actor);
  const person = (uid: number | null, name: string | null) => (uid ? { id: uid, displayName: name } : null);
  // each version is compared with the live (last published) version before it, or, before any publication, with the
  // version before it (what changed since the reviewer returned it)
  let prevPublished: Snapshot | null = null;
  let prevAny: Snapshot | null = null;
  const out = [];
  for (const v of versions) {
    const snap = v.snapshot as Snapshot;
    const open = v.status === 'draft' || v.status === 'returned' || v.status === 'submitted';
    // a returned version and the edits after it are compared with the live (last published) version
    const reviewer =
      open &&
      canReviewVersion(
        actor,
        {
          catalogLevel: snap.catalogLevel,
          providerOrgId: row.provider_org_id,
          sectionId: snap.sectionId ?? null,
        },
        null,
        ctx.profile,
      );
    if (!open || insider || reviewer)
      out.push({
        versionNo: v.version_no,
        status: v.status,
        live: v.status === 'published' && row.status === 'published',
        createdAt: v.created_at,
        createdBy: person(v.created_by, v.created_by_name),
        submittedAt: v.submitted_at,
        submittedBy: person(v.submitted_by, v.submitted_by_name),
        decidedAt: v.decided_at,
        decidedBy: person(v.decided_by, v.decided_by_name),
        decision: v.decision,
        comment: v.comment,
        diff: await named(ctx, diffSnapshots(prevPublished ?? prevAny, snap)),
      });
    if (v.decision === 'published') prevPublished = snap;
    prevAny = snap;
  }
  return { items: out.reverse() };
}

/** Diff rows that hold ids (class node, info system) carry the names the console shows instead. */
async function named(ctx: AppContext, rows: ReturnType<typeof diffSnapshots>) {
  const ids = (attr: string) =>
    rows
      .filter((r) => r.attribute === attr)
      .flatMap((r) => [r.before, r.after])
      .filter((v): v is number => typeof v === 'number');
  const classIds = ids('classId');
  const systemIds = ids('infoSystemId');
  const classes = classIds.length
    ? await ctx.db.selectFrom('catalog_class').select(['id', 'name']).where('id', 'in', classIds).execute()
    : [];
  const systems = systemIds.length
    ? await ctx.db.selectFrom('info_system').select(['id', 'name']).where('id', 'in', systemIds).execute()
    : [];
  const nameOf = (attr: string | undefined, v: unknown) => {
    if (typeof v !== 'number') return v;
    const list = attr === 'classId' ? classes : attr === 'infoSystemId' ? systems : null;
    return list ? { id: v, name: list.find((x) => x.id === v)?.name ?? '' } : v;
  };
  return rows.map((r) => ({
    ...r,
    before: nameOf(r.attribute, r.before),
    after: nameOf(r.attribute, r.after),
  }));
}

/** Submitted versions the actor may decide, oldest submission first (DG Art 11). */
export async function reviewInbox(ctx: AppContext, actor: Actor) {
  const rows = await ctx.db
    .selectFrom('resource_version as v')
    .innerJoin('resource as r', 'r.id', 'v.resource_id')
    .innerJoin('org as o', 'o.id', 'r.provider_org_id')
    .leftJoin('app_user as u', 'u.id', 'v.submitted_by')
    .select([
      'v.resource_id',
      'v.version_no',
      'v.snapshot',
      'v.submitted_at',
      'v.submitted_by',
      'u.display_name as submitted_by_name',
      'r.code',
      'r.status as resource_status',
      'r.provider_org_id',
      'o.name as provider_name',
    ])
    .where('v.status', '=', 'submitted')
    .orderBy('v.submitted_at')
    .orderBy('v.id')
    .execute();
  return {
    items: rows
      .filter((v) => {
        const s = v.snapshot as Snapshot;
        return canReviewVersion(
          actor,
          { catalogLevel: s.catalogLevel, providerOrgId: v.provider_org_id, sectionId: s.sectionId ?? null },
          v.submitted_by,
          ctx.profile,
        );
      })
      .map((v) => {
        const s = v.snapshot as Snapshot;
        return {
          resourceId: v.resource_id,
          code: v.code,
          name: s.name,
          versionNo: v.version_no,
          newVersion: v.resource_status === 'published',
          catalogLevel: s.catalogLevel,
          shareType: s.shareType,
          provider: { id: v.provider_org_id, name: v.provider_name },
          submittedAt: v.submitted_at,
          submittedBy: v.submitted_by ? { id: v.submitted_by, displayName: v.submitted_by_name } : null,
        };
      }),
  };
}

/** The provider's own look at its data: still masked on screen (DG Art 33) and audited. */
export async function previewResource(ctx: AppContext, actor: Actor, id: number, limit = 20) {
  const row = await loadVisibleResource(ctx, actor, id);
  if (!canPreviewData(actor, { providerOrgId: row.provider_org_id })) throw new AppError('FORBIDDEN');
  const policy = await maskingPolicy(ctx);
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
      rows: rows.map((r) => maskRecord(r, fields, policy)),
    };
  });
}
