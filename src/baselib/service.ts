import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import { getFields, type StoredField } from '../catalog/store.js';
import type { Actor, AppContext } from '../context.js';
import { type MaskedField, type MaskingPolicy, maskRecord } from '../dataapi/masking.js';
import { maskingPolicy } from '../dataapi/masking-policy.js';
import { type Db, inTx, type Tx } from '../db/index.js';
import { notify } from '../notify/service.js';
import { joinIndexLibrary, lockLibrarySources } from '../security/library-join.js';
import { AppError, type ErrorDetail } from '../shared/errors.js';
import { ASSEMBLE_JOB, runAssembly } from './assemble.js';
import {
  type ConflictStatus,
  canDefineLibrary,
  canReadLibraryRecords,
  canResolveConflict,
  canSeeConflict,
  checkLibraryShape,
  type LibraryInput,
  type Resolution,
  type SourceRef,
  wrongSides,
} from './model.js';

/*
 * Base and theme libraries (issue 7 point 7): definition (the authority), assembly as a job, the assembled records
 * (authorised, masked by the one masking policy, audited), and the conflicts the authority coordinates (DG Art 15).
 */

const KEY = '__key'; // the record key's place in a masked record; library field codes start with a letter

function requireDefiner(actor: Actor) {
  if (!canDefineLibrary(actor))
    throw new AppError('FORBIDDEN', [
      {
        reason: 'the data authority defines and assembles base and theme libraries (DG Art 21, XT Art 18)',
        reasonZh: '基础库、主题库由数据主管部门牵头定义和汇聚（DG Art 21、XT Art 18）',
      },
    ]);
}

interface ResolvedSource extends SourceRef {
  keyField: string;
}

/** Checks every source against the catalog: published, holding data, the field there, a key field of the library's kind. */
async function resolveSources(db: Db | Tx, input: LibraryInput) {
  const problems: ErrorDetail[] = [];
  const ids = [
    ...new Set(
      input.fields.flatMap((f) => [f.authoritative, ...(f.secondary ?? [])].map((s) => s.resourceId)),
    ),
  ];
  const rows = ids.length
    ? await db.selectFrom('resource').select(['id', 'status', 'data_table']).where('id', 'in', ids).execute()
    : [];
  const fieldsOf = new Map<number, StoredField[]>();
  for (const id of ids) fieldsOf.set(id, await getFields(db, id));
  const keyFieldOf = (resourceId: number) => {
    const fs = (fieldsOf.get(resourceId) ?? []).filter((f) => f.validator === input.keyKind);
    return (fs.find((f) => f.isKey) ?? fs[0])?.code ?? null;
  };
  const check = (s: SourceRef, at: string): ResolvedSource | null => {
    const r = rows.find((x) => x.id === s.resourceId);
    if (r?.status !== 'published' || !r.data_table) {
      problems.push({
        field: `${at}.resourceId`,
        reason: 'a source is a published resource holding data',
        reasonZh: '来源须为已发布且已汇聚数据的资源',
      });
      return null;
    }
    if (!(fieldsOf.get(s.resourceId) ?? []).some((f) => f.code === s.fieldCode)) {
      problems.push({
        field: `${at}.fieldCode`,
        reason: 'the resource has no such field',
        reasonZh: '该资源没有此信息项',
      });
      return null;
    }
    const keyField = keyFieldOf(s.resourceId);
    if (!keyField) {
      problems.push({
        field: `${at}.resourceId`,
        reason: `the resource carries no ${input.keyKind} to assemble by (XT Art 15)`,
        reasonZh: `该资源不含${input.keyKind === 'idNumber' ? '公民身份号码' : '统一社会信用代码'}，无法按关键标识汇聚（XT Art 15）`,
      });
      return null;
    }
    return { ...s, keyField };
  };
  const resolved = input.fields.map((f, i) => ({
    code: f.code,
    name: f.name.trim(),
    authoritative: check(f.authoritative, `fields[${i}].authoritative`),
    secondary: (f.secondary ?? []).map((s, j) => check(s, `fields[${i}].secondary[${j}]`)),
  }));
  if (problems.length) throw new AppError('VALIDATION_FAILED', problems);
  return resolved as {
    code: string;
    name: string;
    authoritative: ResolvedSource;
    secondary: ResolvedSource[];
  }[];
}

async function checkClass(db: Db | Tx, input: LibraryInput) {
  if (input.classId == null) return;
  const c = await db
    .selectFrom('catalog_class')
    .select(['kind'])
    .where('id', '=', input.classId)
    .executeTakeFirst();
  if (!c || c.kind !== input.kind)
    throw new AppError('VALIDATION_FAILED', [
      {
        field: 'classId',
        reason: `a ${input.kind} library is filed under a ${input.kind} node of the classification tree`,
        reasonZh: `须选择分类树中的${input.kind === 'base' ? '基础信息资源' : '主题信息资源'}节点`,
      },
    ]);
}

async function writeDefinition(
  trx: Tx,
  libraryId: number,
  fields: Awaited<ReturnType<typeof resolveSources>>,
) {
  await trx.deleteFrom('base_library_source').where('library_id', '=', libraryId).execute();
  await trx.deleteFrom('base_library_field').where('library_id', '=', libraryId).execute();
  await trx
    .insertInto('base_library_field')
    .values(fields.map((f, i) => ({ library_id: libraryId, ordinal: i + 1, code: f.code, name: f.name })))
    .execute();
  await trx
    .insertInto('base_library_source')
    .values(
      fields.flatMap((f) =>
        [f.authoritative, ...f.secondary].map((s, priority) => ({
          library_id: libraryId,
          field_code: f.code,
          priority,
          resource_id: s.resourceId,
          source_field: s.fieldCode,
          key_field: s.keyField,
        })),
      ),
    )
    .execute();
}

export function createLibrary(ctx: AppContext, actor: Actor, input: LibraryInput) {
  return saveLibrary(ctx, actor, null, input);
}

export function updateLibrary(ctx: AppContext, actor: Actor, id: number, input: LibraryInput) {
  return saveLibrary(ctx, actor, id, input);
}

/**
 * Creates (id null) or redefines a library in one transaction: shape, class and sources checked, the name kept unique,
 * the definition rewritten and the change audited as `baselib.define` (with the new version on an edit). A library
 * that is hash-keyed (a source stores its join key encrypted) gets, in the same transaction, the join index of every
 * clear source still without one (security/library-join.ts; `detail.joinIndexed`, each audited `key.joinIndexed`); a
 * library the save leaves clear-keyed while it holds hashed keys is re-keyed to clear (`detail.rekeyedClear`; refused
 * KEY_DECRYPTION_UNMAPPED, audited `deny`, when a key has no clear form), and join indexes no hash-keyed library needs
 * any more are dropped (`detail.joinIndexDropped`). The library row is taken first (`FOR UPDATE`), as every assembly
 * step takes it first (assemble.ts `holdLibrary`).
 */
async function saveLibrary(ctx: AppContext, actor: Actor, id: number | null, input: LibraryInput) {
  requireDefiner(actor);
  const shape = checkLibraryShape(input);
  if (shape.length) throw new AppError('VALIDATION_FAILED', shape);
  return inTx(ctx.db, async (trx) => {
    let version: number | undefined;
    if (id !== null) {
      const lib = await sql<{ version: number }>`
        SELECT version FROM base_library WHERE id = ${id} FOR UPDATE`.execute(trx);
      if (!lib.rows.length) throw new AppError('NOT_FOUND');
      version = lib.rows[0].version + 1;
    }
    await checkClass(trx, input);
    const fields = await resolveSources(trx, input);
    let nameQuery = trx.selectFrom('base_library').select('id').where('name', '=', input.name.trim());
    if (id !== null) nameQuery = nameQuery.where('id', '<>', id);
    if (await nameQuery.executeTakeFirst())
      throw new AppError('CONFLICT', [
        { field: 'name', reason: 'a library of that name exists', reasonZh: '已有同名的库' },
      ]);
    const now = ctx.clock.now();
    const definition = {
      name: input.name.trim(),
      kind: input.kind,
      key_kind: input.keyKind,
      class_id: input.classId ?? null,
      description: input.description?.trim() ?? '',
      updated_by: actor.id,
      updated_at: now,
    };
    let libraryId: number;
    if (id === null) {
      ({ id: libraryId } = await trx
        .insertInto('base_library')
        .values({ ...definition, created_by: actor.id, created_at: now })
        .returning('id')
        .executeTakeFirstOrThrow());
    } else {
      libraryId = id;
      await trx
        .updateTable('base_library')
        .set({ ...definition, version })
        .where('id', '=', id)
        .execute();
    }
    // the sources of the old and new definitions held (id order, as conversions, rotations and merges take them)
    // before their storage is read: a hash-keyed library's clear sources get their join index in this transaction
    const before = await trx
      .selectFrom('base_library_source')
      .select(['resource_id', 'key_field'])
      .distinct()
      .where('library_id', '=', libraryId)
      .execute();
    await lockLibrarySources(trx, [
      ...before.map((s) => Number(s.resource_id)),
      ...fields.flatMap((f) => [f.authoritative, ...f.secondary].map((s) => s.resourceId)),
    ]);
    await writeDefinition(trx, libraryId, fields);
    const joined = await joinIndexLibrary(
      trx,
      ctx.fieldKeys,
      libraryId,
      { via: 'baselib.define', ...(version ? { libraryVersion: version } : {}) },
      before.map((s) => ({ resourceId: Number(s.resource_id), keyField: s.key_field })),
    );
    await appendAudit(trx, {
      action: 'baselib.define',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      targetType: 'base_library',
      targetId: libraryId,
      clientIp: actor.clientIp,
      detail: {
        name: input.name,
        fields: fields.length,
        ...(version ? { version } : {}),
        ...(joined?.joinIndexed.length ? { joinIndexed: joined.joinIndexed } : {}),
        ...(joined?.rekeyed ? { rekeyed: joined.rekeyed } : {}),
        ...(joined?.rekeyedClear !== undefined ? { rekeyedClear: joined.rekeyedClear } : {}),
        ...(joined?.joinIndexDropped ? { joinIndexDropped: joined.joinIndexDropped } : {}),
      },
    });
    return version ? { id: libraryId, version } : { id: libraryId };
  }).catch(async (e) => {
    // refused, nothing changed (the transaction rolled back), audited: a save turning a hash-keyed library clear-keyed
    // whose keys cannot all be traced back to a clear key; a source the catalog does not allow (not published, no
    // field of the library's key kind — an ID number or credit code, a string: a date, decimal or integer field is
    // never a join key, docs/ENCRYPTION.md "Join keys and lookups of other types")
    if (e instanceof AppError && (e.code === 'KEY_DECRYPTION_UNMAPPED' || e.code === 'VALIDATION_FAILED'))
      await appendAudit(ctx.db, {
        action: 'baselib.define',
        decision: 'deny',
        actorUserId: actor.id,
        actorOrgId: actor.orgId,
        targetType: 'base_library',
        targetId: id ?? undefined,
        clientIp: actor.clientIp,
        detail: {
          name: input.name,
          code: e.code,
          reason: e.details?.[0]?.reason,
          ...(e.details?.[0]?.field ? { field: e.details[0].field } : {}),
        },
      });
    throw e;
  });
}

function runView(r: {
  id: number;
  status: string;
  requested_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  steps_total: number;
  steps_done: number;
  records: number;
  conflicts_open: number;
  conflicts_new: number;
  conflicts_cleared: number;
  error: string | null;
  library_version: number;
}) {
  return {
    id: r.id,
    status: r.status,
    libraryVersion: r.library_version,
    requestedAt: r.requested_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    stepsTotal: r.steps_total,
    stepsDone: r.steps_done,
    records: r.records,
    conflictsOpen: r.conflicts_open,
    conflictsNew: r.conflicts_new,
    conflictsCleared: r.conflicts_cleared,
    error: r.error,
  };
}

/** Everyone signed in may see which libraries exist and where their fields come from (the catalog is public inside). */
export async function listLibraries(ctx: AppContext, actor: Actor) {
  const libs = await ctx.db
    .selectFrom('base_library as l')
    .leftJoin('base_library_run as r', 'r.id', 'l.last_run_id')
    .leftJoin('catalog_class as c', 'c.id', 'l.class_id')
    .select([
      'l.id',
      'l.name',
      'l.kind',
      'l.key_kind',
      'l.version',
      'l.updated_at',
      'c.name as class_name',
      'r.finished_at',
      'r.records',
    ])
    .orderBy('l.id')
    .execute();
  const open = await ctx.db
    .selectFrom('base_library_conflict')
    .select(['library_id', sql<number>`count(*)`.as('n')])
    .where('status', '=', 'open')
    .groupBy('library_id')
    .execute();
  const sources = await ctx.db
    .selectFrom('base_library_source')
    .select(['library_id', sql<number>`count(DISTINCT resource_id)`.as('n')])
    .groupBy('library_id')
    .execute();
  return {
    canDefine: canDefineLibrary(actor),
    canReadRecords: canReadLibraryRecords(actor),
    items: libs.map((l) => ({
      id: l.id,
      name: l.name,
      kind: l.kind,
      keyKind: l.key_kind,
      version: l.version,
      updatedAt: l.updated_at,
      className: l.class_name,
      assembledAt: l.finished_at,
      records: l.records ?? 0,
      sources: Number(sources.find((s) => s.library_id === l.id)?.n ?? 0),
      openConflicts: Number(open.find((o) => o.library_id === l.id)?.n ?? 0),
    })),
  };
}

export async function getLibrary(ctx: AppContext, actor: Actor, id: number) {
  const l = await ctx.db
    .selectFrom('base_library as l')
    .leftJoin('catalog_class as c', 'c.id', 'l.class_id')
    .select([
      'l.id',
      'l.name',
      'l.kind',
      'l.key_kind',
      'l.class_id',
      'c.name as class_name',
      'l.description',
      'l.version',
      'l.updated_at',
      'l.last_run_id',
    ])
    .where('l.id', '=', id)
    .executeTakeFirst();
  if (!l) throw new AppError('NOT_FOUND');
  const fields = await ctx.db
    .selectFrom('base_library_field')
    .select(['code', 'name'])
    .where('library_id', '=', id)
    .orderBy('ordinal')
    .execute();
  const sources = await ctx.db
    .selectFrom('base_library_source as s')
    .innerJoin('resource as r', 'r.id', 's.resource_id')
    .innerJoin('org as o', 'o.id', 'r.provider_org_id')
    .leftJoin('resource_field as f', (j) =>
      j.onRef('f.resource_id', '=', 's.resource_id').onRef('f.code', '=', 's.source_field'),
    )
    .select([
      's.field_code',
      's.priority',
      's.resource_id',
      's.source_field',
      'r.name as resource_name',
      'r.code as resource_code',
      'o.id as org_id',
      'o.name as org_name',
      'f.name as field_name',
    ])
    .where('s.library_id', '=', id)
    .orderBy('s.priority')
    .execute();
  const runs = await ctx.db
    .selectFrom('base_library_run')
    .selectAll()
    .where('library_id', '=', id)
    .orderBy('id', 'desc')
    .limit(10)
    .execute();
  const src = (s: (typeof sources)[number]) => ({
    resourceId: s.resource_id,
    resourceName: s.resource_name,
    resourceCode: s.resource_code,
    orgId: s.org_id,
    orgName: s.org_name,
    fieldCode: s.source_field,
    fieldName: s.field_name,
  });
  return {
    id: l.id,
    name: l.name,
    kind: l.kind,
    keyKind: l.key_kind,
    classId: l.class_id,
    className: l.class_name,
    description: l.description,
    version: l.version,
    updatedAt: l.updated_at,
    canEdit: canDefineLibrary(actor),
    canReadRecords: canReadLibraryRecords(actor),
    fields: fields.map((f) => {
      const mine = sources.filter((s) => s.field_code === f.code);
      return {
        code: f.code,
        name: f.name,
        authoritative: mine.filter((s) => s.priority === 0).map(src)[0] ?? null,
        secondary: mine.filter((s) => s.priority > 0).map(src),
      };
    }),
    runs: runs.map(runView),
  };
}

/** Queues an assembly run as a job (one running or queued run per library: asking again returns it). */
export async function startRun(ctx: AppContext, actor: Actor, libraryId: number) {
  requireDefiner(actor);
  return inTx(ctx.db, async (trx) => {
    const lib = await sql<{ version: number }>`
      SELECT version FROM base_library WHERE id = ${libraryId} FOR UPDATE`.execute(trx);
    if (!lib.rows.length) throw new AppError('NOT_FOUND');
    const active = await trx
      .selectFrom('base_library_run')
      .selectAll()
      .where('library_id', '=', libraryId)
      .where('status', 'in', ['queued', 'running'])
      .executeTakeFirst();
    if (active) return runView(active);
    const now = ctx.clock.now();
    const run = await trx
      .insertInto('base_library_run')
      .values({
        library_id: libraryId,
        library_version: lib.rows[0].version,
        requested_by: actor.id,
        requested_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await ctx.jobs.schedule(trx, {
      kind: ASSEMBLE_JOB,
      key: `run:${run.id}`,
      runAt: now,
      payload: { runId: run.id },
      maxAttempts: 3,
    });
    await appendAudit(trx, {
      action: 'baselib.run',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      targetType: 'base_library',
      targetId: libraryId,
      clientIp: actor.clientIp,
      detail: { runId: run.id },
    });
    return runView(run);
  });
}

/** The demo loader assembles inside its own transaction: the same steps, without waiting for a job. */
export async function assembleNow(ctx: AppContext, actor: Actor, libraryId: number) {
  requireDefiner(actor);
  const lib = await ctx.db
    .selectFrom('base_library')
    .select('version')
    .where('id', '=', libraryId)
    .executeTakeFirstOrThrow();
  const run = await ctx.db
    .insertInto('base_library_run')
    .values({
      library_id: libraryId,
      library_version: lib.version,
      requested_by: actor.id,
      requested_at: ctx.clock.now(),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await runAssembly(ctx, run.id);
  return run.id;
}

export async function getRun(ctx: AppContext, _actor: Actor, runId: number) {
  const r = await ctx.db
    .selectFrom('base_library_run')
    .selectAll()
    .where('id', '=', runId)
    .executeTakeFirst();
  if (!r) throw new AppError('NOT_FOUND');
  return { libraryId: r.library_id, ...runView(r) };
}

/** What masks a library's values: each field's authoritative source field (its personal flags and masking rule). */
async function maskFields(db: Db | Tx, libraryId: number) {
  const srcs = await db
    .selectFrom('base_library_source')
    .select(['field_code', 'resource_id', 'source_field', 'key_field'])
    .where('library_id', '=', libraryId)
    .where('priority', '=', 0)
    .execute();
  const byResource = new Map<number, StoredField[]>();
  for (const s of srcs)
    if (!byResource.has(s.resource_id)) byResource.set(s.resource_id, await getFields(db, s.resource_id));
  const libFields = await db
    .selectFrom('base_library_field')
    .select(['code', 'name'])
    .where('library_id', '=', libraryId)
    .orderBy('ordinal')
    .execute();
  const asMasked = (f: StoredField | undefined, code: string, name: string): MaskedField => ({
    code,
    name,
    // a field whose source is gone is treated as personal: masked rather than shown
    personal: f?.personal ?? true,
    sensitive: f?.sensitive ?? false,
    masking: f?.masking ?? 'partial',
    type: f?.type,
  });
  const fields = libFields.map((lf) => {
    const s = srcs.find((x) => x.field_code === lf.code);
    const f = s ? byResource.get(s.resource_id)?.find((x) => x.code === s.source_field) : undefined;
    return asMasked(f, lf.code, lf.name);
  });
  const first = srcs[0];
  const keyDef = first
    ? byResource.get(first.resource_id)?.find((x) => x.code === first.key_field)
    : undefined;
  const key = asMasked(keyDef, KEY, '');
  return { fields, key };
}

async function sourceNames(db: Db | Tx, ids: number[]) {
  const rows = ids.length
    ? await db
        .selectFrom('resource as r')
        .innerJoin('org as o', 'o.id', 'r.provider_org_id')
        .select(['r.id', 'r.name', 'o.id as org_id', 'o.name as org_name'])
        .where('r.id', 'in', [...new Set(ids)])
        .execute()
    : [];
  return new Map(
    rows.map((r) => [r.id, { resourceId: r.id, resourceName: r.name, orgId: r.org_id, orgName: r.org_name }]),
  );
}

/**
 * The assembled records, a page at a time by `seq` (or one key): masked by the one masking policy and audited in the
 * same transaction, like every data access (DG Art 33).
 */
export async function readRecords(
  ctx: AppContext,
  actor: Actor,
  libraryId: number,
  q: { key?: string; after?: number; limit: number },
) {
  if (!canReadLibraryRecords(actor))
    throw new AppError('FORBIDDEN', [
      {
        reason:
          'the assembled library is managed by the data authority (DG Art 21); departments use it through sharing',
        reasonZh: '基础库由数据主管部门集中统一管理（DG Art 21），各部门通过共享申请使用',
      },
    ]);
  const lib = await ctx.db
    .selectFrom('base_library')
    .select(['id'])
    .where('id', '=', libraryId)
    .executeTakeFirst();
  if (!lib) throw new AppError('NOT_FOUND');
  const policy = await maskingPolicy(ctx);
  return inTx(ctx.db, async (trx) => {
    const { fields, key } = await maskFields(trx, libraryId);
    let query = trx
      .selectFrom('base_library_record')
      .select(['key', 'seq', 'vals', 'srcs'])
      .where('library_id', '=', libraryId);
    // a library keyed by an encrypted field (an ID number) keys its records by the keyed hash (docs/ENCRYPTION.md)
    if (q.key) {
      const k = q.key.trim().toUpperCase();
      // under every index-key version: a library's keys are all under its sources' one version (a rotation converts a
      // library with all its sources in one transaction), which this need not know
      query = query.where('key', 'in', [k, ...ctx.fieldKeys.indexAll(k)]);
    } else query = query.where('seq', '>', q.after ?? 0);
    const rows = await query.orderBy('seq').limit(q.limit).execute();
    const names = await sourceNames(
      trx,
      rows.flatMap((r) => Object.values(r.srcs as Record<string, number>)),
    );
    await appendAudit(trx, {
      action: 'baselib.records',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      targetType: 'base_library',
      targetId: libraryId,
      rowsReturned: rows.length,
      fields: fields.map((f) => f.code),
      clientIp: actor.clientIp,
      detail: { byKey: Boolean(q.key) },
    });
    return {
      fields: fields.map((f) => ({ code: f.code, name: f.name })),
      items: rows.map((r) => {
        const masked = maskRecord({ ...(r.vals as object), [KEY]: r.key }, [...fields, key], policy);
        const srcs = r.srcs as Record<string, number>;
        return {
          key: masked[KEY],
          values: Object.fromEntries(fields.map((f) => [f.code, masked[f.code] ?? null])),
          sources: Object.fromEntries(
            fields.map((f) => [f.code, srcs[f.code] ? (names.get(srcs[f.code]) ?? null) : null]),
          ),
        };
      }),
      next: rows.length === q.limit && !q.key ? rows[rows.length - 1].seq : null,
    };
  });
}

export interface ConflictFilter {
  libraryId?: number;
  status?: ConflictStatus;
  fieldCode?: string;
  resourceId?: number;
  orgId?: number;
  page: number;
  pageSize: number;
}

const conflictColumns = [
  'c.id',
  'c.library_id',
  'l.name as library_name',
  'c.key',
  'c.field_code',
  'lf.name as field_name',
  'c.auth_resource_id',
  'ar.name as auth_resource_name',
  'ao.id as auth_org_id',
  'ao.name as auth_org_name',
  'c.auth_value',
  'c.sec_resource_id',
  'sr.name as sec_resource_name',
  'so.id as sec_org_id',
  'so.name as sec_org_name',
  'c.sec_value',
  'c.status',
  'c.found_at',
  'c.resolution',
  'c.note',
  'c.resolved_at',
  'u.display_name as resolved_by_name',
] as const;

function conflictQuery(db: Db | Tx) {
  return db
    .selectFrom('base_library_conflict as c')
    .innerJoin('base_library as l', 'l.id', 'c.library_id')
    .leftJoin('base_library_field as lf', (j) =>
      j.onRef('lf.library_id', '=', 'c.library_id').onRef('lf.code', '=', 'c.field_code'),
    )
    .innerJoin('resource as ar', 'ar.id', 'c.auth_resource_id')
    .innerJoin('org as ao', 'ao.id', 'ar.provider_org_id')
    .innerJoin('resource as sr', 'sr.id', 'c.sec_resource_id')
    .innerJoin('org as so', 'so.id', 'sr.provider_org_id')
    .leftJoin('app_user as u', 'u.id', 'c.resolved_by');
}

interface ConflictRow {
  id: number;
  library_id: number;
  library_name: string;
  key: string;
  field_code: string;
  field_name: string | null;
  auth_resource_id: number;
  auth_resource_name: string;
  auth_org_id: number;
  auth_org_name: string;
  auth_value: string | null;
  sec_resource_id: number;
  sec_resource_name: string;
  sec_org_id: number;
  sec_org_name: string;
  sec_value: string | null;
  status: string;
  found_at: Date;
  resolution: string | null;
  note: string | null;
  resolved_at: Date | null;
  resolved_by_name: string | null;
}

// the policy is read before the caller's transaction: PGlite has one connection, a read beside the transaction would wait
async function conflictViews(db: Db | Tx, policy: MaskingPolicy, rows: ConflictRow[]) {
  const masks = new Map<number, Awaited<ReturnType<typeof maskFields>>>();
  for (const id of new Set(rows.map((r) => r.library_id))) masks.set(id, await maskFields(db, id));
  return rows.map((r) => {
    const m = masks.get(r.library_id)!;
    const def = m.fields.find((f) => f.code === r.field_code) ?? {
      code: r.field_code,
      personal: true,
      masking: 'partial' as const,
    };
    const mask = (v: string | null) =>
      maskRecord({ [KEY]: r.key, v }, [m.key, { ...def, code: 'v' }], policy);
    const a = mask(r.auth_value);
    const s = mask(r.sec_value);
    return {
      id: r.id,
      library: { id: r.library_id, name: r.library_name },
      key: a[KEY],
      field: { code: r.field_code, name: r.field_name ?? r.field_code },
      authoritative: {
        resourceId: r.auth_resource_id,
        resourceName: r.auth_resource_name,
        orgId: r.auth_org_id,
        orgName: r.auth_org_name,
        value: a.v ?? null,
      },
      secondary: {
        resourceId: r.sec_resource_id,
        resourceName: r.sec_resource_name,
        orgId: r.sec_org_id,
        orgName: r.sec_org_name,
        value: s.v ?? null,
      },
      status: r.status,
      foundAt: r.found_at,
      resolution: r.resolution,
      note: r.note,
      resolvedAt: r.resolved_at,
      resolvedBy: r.resolved_by_name,
    };
  });
}

/**
 * Conflicts with filters and paging: the authority sees all, a department's data officer those where its resource is
 * one side. Values are masked and the listing is audited (it shows personal data, even masked).
 */
export async function listConflicts(ctx: AppContext, actor: Actor, f: ConflictFilter) {
  const all = canResolveConflict(actor);
  if (!all && !canSeeConflict(actor, [actor.orgId]))
    throw new AppError('FORBIDDEN', [
      {
        reason: 'conflicts are seen by the authority and by the departments whose data disagree (DG Art 15)',
        reasonZh: '数据冲突由数据主管部门和数据不一致的相关部门查看（DG Art 15）',
      },
    ]);
  const policy = await maskingPolicy(ctx);
  return inTx(ctx.db, async (trx) => {
    let q = conflictQuery(trx);
    if (f.libraryId) q = q.where('c.library_id', '=', f.libraryId);
    if (f.status) q = q.where('c.status', '=', f.status);
    if (f.fieldCode) q = q.where('c.field_code', '=', f.fieldCode);
    if (f.resourceId)
      q = q.where((eb) =>
        eb.or([eb('c.auth_resource_id', '=', f.resourceId!), eb('c.sec_resource_id', '=', f.resourceId!)]),
      );
    if (f.orgId) q = q.where((eb) => eb.or([eb('ao.id', '=', f.orgId!), eb('so.id', '=', f.orgId!)]));
    if (!all) q = q.where((eb) => eb.or([eb('ao.id', '=', actor.orgId), eb('so.id', '=', actor.orgId)]));
    const total = await q.select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
    const rows = (await q
      .select([...conflictColumns])
      .orderBy('c.id')
      .limit(f.pageSize)
      .offset((f.page - 1) * f.pageSize)
      .execute()) as ConflictRow[];
    const byStatus = await (() => {
      let s = conflictQuery(trx)
        .select(['c.status', sql<number>`count(*)`.as('n')])
        .groupBy('c.status');
      if (f.libraryId) s = s.where('c.library_id', '=', f.libraryId);
      if (!all) s = s.where((eb) => eb.or([eb('ao.id', '=', actor.orgId), eb('so.id', '=', actor.orgId)]));
      return s.execute();
    })();
    await appendAudit(trx, {
      action: 'baselib.conflicts',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      targetType: 'base_library',
      targetId: f.libraryId ?? null,
      rowsReturned: rows.length,
      clientIp: actor.clientIp,
      detail: { status: f.status ?? null, page: f.page },
    });
    return {
      total: Number(total.n),
      counts: Object.fromEntries(byStatus.map((b) => [b.status, Number(b.n)])),
      canResolve: all,
      items: await conflictViews(trx, policy, rows),
    };
  });
}

/** One conflict with the assembled record of its key and the key's other conflicts (masked, audited). */
export async function getConflict(ctx: AppContext, actor: Actor, id: number) {
  const policy = await maskingPolicy(ctx);
  return inTx(ctx.db, async (trx) => {
    const row = (await conflictQuery(trx)
      .select([...conflictColumns])
      .where('c.id', '=', id)
      .executeTakeFirst()) as ConflictRow | undefined;
    if (!row || !canSeeConflict(actor, [row.auth_org_id, row.sec_org_id])) throw new AppError('NOT_FOUND');
    const siblings = (await conflictQuery(trx)
      .select([...conflictColumns])
      .where('c.library_id', '=', row.library_id)
      .where('c.key', '=', row.key)
      .where('c.id', '<>', id)
      .orderBy('c.id')
      .limit(50)
      .execute()) as ConflictRow[];
    const [view, ...others] = await conflictViews(trx, policy, [row, ...siblings]);
    let record = null;
    if (canReadLibraryRecords(actor)) {
      const r = await trx
        .selectFrom('base_library_record')
        .select(['vals', 'srcs'])
        .where('library_id', '=', row.library_id)
        .where('key', '=', row.key)
        .executeTakeFirst();
      if (r) {
        const { fields, key } = await maskFields(trx, row.library_id);
        const masked = maskRecord({ ...(r.vals as object), [KEY]: row.key }, [...fields, key], policy);
        const srcs = r.srcs as Record<string, number>;
        const names = await sourceNames(trx, Object.values(srcs));
        record = fields.map((f) => ({
          code: f.code,
          name: f.name,
          value: masked[f.code] ?? null,
          source: srcs[f.code] ? (names.get(srcs[f.code]) ?? null) : null,
        }));
      }
    }
    await appendAudit(trx, {
      action: 'baselib.conflict',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      targetType: 'base_library_conflict',
      targetId: id,
      targetLabel: String(view.key ?? ''),
      rowsReturned: 1 + others.length + (record ? 1 : 0),
      clientIp: actor.clientIp,
    });
    return {
      ...view,
      canResolve: canResolveConflict(actor) && view.status === 'open',
      record,
      others,
    };
  });
}

/**
 * The authority coordinates a conflict (DG Art 15, GD Art 14): marks it resolved with which side was right and a note;
 * audited; the provider(s) of the wrong value are told to correct their data.
 */
export async function resolveConflict(
  ctx: AppContext,
  actor: Actor,
  id: number,
  input: { resolution: Resolution; note: string },
) {
  if (!canResolveConflict(actor))
    throw new AppError('FORBIDDEN', [
      {
        reason: 'the data authority coordinates conflicting values (DG Art 15)',
        reasonZh: '不同部门数据不一致的，由数据主管部门协调（DG Art 15）',
      },
    ]);
  if (!input.note.trim())
    throw new AppError('VALIDATION_FAILED', [
      { field: 'note', reason: 'say how it was coordinated', reasonZh: '须填写协调处理说明' },
    ]);
  return inTx(ctx.db, async (trx) => {
    const c = await sql<{
      status: string;
      library_id: number;
      field_code: string;
      auth_resource_id: number;
      sec_resource_id: number;
    }>`SELECT status, library_id, field_code, auth_resource_id, sec_resource_id
       FROM base_library_conflict WHERE id = ${id} FOR UPDATE`.execute(trx);
    const row = c.rows[0];
    if (!row) throw new AppError('NOT_FOUND');
    if (row.status !== 'open')
      throw new AppError('CASE_STATE_INVALID', [
        { field: 'id', reason: `the conflict is ${row.status}`, reasonZh: '该冲突已处理或已自动消除' },
      ]);
    const now = ctx.clock.now();
    await trx
      .updateTable('base_library_conflict')
      .set({
        status: 'resolved',
        resolution: input.resolution,
        note: input.note.trim(),
        resolved_by: actor.id,
        resolved_at: now,
      })
      .where('id', '=', id)
      .execute();
    const lib = await trx
      .selectFrom('base_library as l')
      .leftJoin('base_library_field as f', (j) =>
        j.onRef('f.library_id', '=', 'l.id').on('f.code', '=', row.field_code),
      )
      .select(['l.name', 'f.name as field_name'])
      .where('l.id', '=', row.library_id)
      .executeTakeFirstOrThrow();
    const wrong = wrongSides(input.resolution).map((side) =>
      side === 'authoritative' ? row.auth_resource_id : row.sec_resource_id,
    );
    const resources = await trx
      .selectFrom('resource')
      .select(['id', 'name', 'provider_org_id'])
      .where('id', 'in', wrong)
      .execute();
    for (const r of resources)
      await notify(trx, [{ roles: ['data_officer'], orgIds: [r.provider_org_id] }], {
        kind: 'baselib.conflictResolved',
        severity: 'warning',
        params: {
          libraryName: lib.name,
          fieldName: lib.field_name ?? row.field_code,
          resourceName: r.name,
          note: input.note.trim().slice(0, 500),
        },
        resourceId: r.id,
      });
    await appendAudit(trx, {
      action: 'baselib.resolve',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      targetType: 'base_library_conflict',
      targetId: id,
      clientIp: actor.clientIp,
      detail: {
        resolution: input.resolution,
        note: input.note.trim(),
        notifiedResources: resources.map((r) => r.id),
      },
    });
    return { id, status: 'resolved', notified: resources.map((r) => r.id) };
  });
}
