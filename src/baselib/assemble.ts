import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import { getFields, type StoredField } from '../catalog/store.js';
import type { AppContext } from '../context.js';
import { type Db, inTx, type Tx } from '../db/index.js';
import { indexTextSql } from '../security/index-text.js';
import { AppError } from '../shared/errors.js';

/*
 * Assembly of a base or theme library (DG Art 21, XT Art 18–19), set-based, in steps that are each one transaction:
 *   1. the records: every key found in any source, each field's value from its authoritative source, else from the
 *      first secondary source that has one, with the source of every value (the records are replaced as a whole);
 *   2. one step per (field, secondary source): the keys where both have a value and they differ become conflicts
 *      (DG Art 15); a conflict seen again keeps its id and state, one whose values changed since it was resolved
 *      opens again;
 *   3. open conflicts not seen in this run are cleared (the sources agree now, or the pair left the definition), and
 *      the conflicts of a key the library no longer holds are removed (resolved ones too; audited as a count).
 * Every step can run again (the job is retried or resumed by another node after a crash): the result is the same.
 * SQL names only generated identifiers: the resource's data table (`ds.r_<id>`) and its field columns (`c<n>`), as
 * src/ingest and src/dataapi do; values are compared as trimmed text.
 */

export const ASSEMBLE_JOB = 'baselib.assemble';

const TABLE = /^ds\.r_[0-9]+$/;
const COLUMN = /^c[0-9]+$/;

interface SourceCols {
  resourceId: number;
  table: string;
  keyColumn: string;
  /**
   * the library key read from it: the column itself when hashed; for a clear key its canonical text
   * (security/index-text.ts `indexTextSql`: `1.50` and `1.5` one key, a date `YYYY-MM-DD`), the text the join index and
   * an encrypted source's lookup index are hashes of, so a library keyed in clear groups values as one keyed by hashes
   */
  keyText: string;
  /** the key column is the resource's whole record key: unique, no de-duplication needed */
  keyIsRecordKey: boolean;
  /** encrypted columns of the source (docs/ENCRYPTION.md): joined and compared on their lookup index `<column>_h` */
  encrypted: Set<string>;
  /** the key is read from `<column>_h`: an encrypted key, or the join index of a clear key in a hash-keyed library */
  keyHashed: boolean;
}

interface Plan {
  libraryId: number;
  /** the definition's version the plan was read from (each step checks it under the library row's lock) */
  version: number;
  /** library field code → [authoritative, …secondary] as (resource, column) */
  fields: { code: string; sources: { resourceId: number; column: string }[] }[];
  sources: Map<number, SourceCols>;
}

async function loadPlan(db: Db | Tx, libraryId: number): Promise<Plan> {
  const { version } = await db
    .selectFrom('base_library')
    .select('version')
    .where('id', '=', libraryId)
    .executeTakeFirstOrThrow();
  const fieldRows = await db
    .selectFrom('base_library_field')
    .select(['code'])
    .where('library_id', '=', libraryId)
    .orderBy('ordinal')
    .execute();
  const srcRows = await db
    .selectFrom('base_library_source as s')
    .innerJoin('resource as r', 'r.id', 's.resource_id')
    .select(['s.field_code', 's.priority', 's.resource_id', 's.source_field', 's.key_field', 'r.data_table'])
    .where('s.library_id', '=', libraryId)
    .orderBy('s.field_code')
    .orderBy('s.priority')
    .execute();
  const sources = new Map<number, SourceCols>();
  const columnOf = new Map<string, string>();
  const keys: { resourceId: number; table: string; key: StoredField; fields: StoredField[] }[] = [];
  for (const resourceId of new Set(srcRows.map((s) => s.resource_id))) {
    const row = srcRows.find((s) => s.resource_id === resourceId)!;
    if (!row.data_table || !TABLE.test(row.data_table))
      throw new AppError('VALIDATION_FAILED', [
        { field: 'resourceId', reason: `resource ${resourceId} holds no data`, reasonZh: '来源资源尚无数据' },
      ]);
    const fields = await getFields(db, resourceId);
    for (const f of fields) columnOf.set(`${resourceId}/${f.code}`, f.columnName);
    const key = fields.find((f) => f.code === row.key_field);
    if (!key || !COLUMN.test(key.columnName))
      throw new AppError('VALIDATION_FAILED', [
        {
          field: 'keyField',
          reason: `resource ${resourceId} lost its key field`,
          reasonZh: '来源资源缺少关键标识',
        },
      ]);
    keys.push({ resourceId, table: row.data_table, key, fields });
  }
  // hash-keyed: a source stores its join key encrypted, so the library's keys are keyed hashes, and every clear source
  // joins on its join index (`c<n>_h` beside its clear column, docs/ENCRYPTION.md; security/join-index.ts)
  const hashKeyed = keys.some((k) => k.key.encrypted);
  for (const { resourceId, table, key, fields } of keys) {
    const keyHashed = key.encrypted || (hashKeyed && key.joinIndexed);
    // a clear source of a hash-keyed library without a join index: saving the library definition adds it
    // (security/library-join.ts), so this is the safety net (a definition written otherwise, or a source turned clear
    // since); joining it on its clear values would put clear keys into the library
    if (hashKeyed && !keyHashed)
      throw new AppError('VALIDATION_FAILED', [
        {
          field: 'resourceId',
          reason: `resource ${resourceId}: its join key is stored clear without a join index, and the library is keyed by hashed keys (docs/ENCRYPTION.md)`,
          reasonZh: '来源资源的关联键为明文存储且无关联索引，而本基础库已按加密关联键组织',
        },
      ]);
    sources.set(resourceId, {
      resourceId,
      table,
      keyColumn: keyHashed ? `${key.columnName}_h` : key.columnName,
      keyText: keyHashed ? `${key.columnName}_h` : indexTextSql(key, key.columnName),
      // one part of a composite record key is not unique alone: de-duplicated like any other join column
      keyIsRecordKey: key.isKey && fields.filter((f) => f.isKey).length === 1,
      keyHashed,
      encrypted: new Set(fields.filter((f) => f.encrypted).map((f) => f.columnName)),
    });
  }
  const fieldsPlan = fieldRows.map((f) => ({
    code: f.code,
    sources: srcRows
      .filter((s) => s.field_code === f.code)
      .map((s) => {
        const column = columnOf.get(`${s.resource_id}/${s.source_field}`);
        if (!column || !COLUMN.test(column))
          throw new AppError('VALIDATION_FAILED', [
            {
              field: 'fieldCode',
              reason: `field ${s.source_field} is gone from resource ${s.resource_id}`,
              reasonZh: '来源信息项已不存在，请修改库定义',
            },
          ]);
        return { resourceId: s.resource_id, column };
      }),
  }));
  return { libraryId, version, fields: fieldsPlan, sources };
}

/**
 * Every step's FIRST lock: the library row — `FOR KEY SHARE` (steps 1 and 2), `FOR NO KEY UPDATE` (step 3, which
 * updates the row at its end). A definition's save (service.ts `saveLibrary`) takes the same row `FOR UPDATE` before
 * anything else (then the sources' rows, the library's records and conflicts when it re-keys them, then source tables),
 * so a step and a save always meet on the library row first: the step waits for the save to commit, or the save for
 * the step. Before (2026-12-01), step 3 updated conflicts and took the row last, while a save re-keying the library
 * held the row and updated conflicts: a deadlock on PostgreSQL (docs/ENCRYPTION.md). A save that committed since the
 * plan was read (the version moved) fails the run: its plan (columns, hashed or clear keys) is stale — assemble again.
 */
async function holdLibrary(trx: Tx, plan: Plan, mode: 'KEY SHARE' | 'NO KEY UPDATE'): Promise<void> {
  const { rows } = await sql<{ version: number }>`
    SELECT version FROM base_library WHERE id = ${plan.libraryId} FOR ${sql.raw(mode)}`.execute(trx);
  if (!rows.length || Number(rows[0].version) !== Number(plan.version))
    throw new AppError('CONFLICT', [
      {
        field: 'libraryId',
        reason: `the library definition changed during the assembly (version ${plan.version} → ${rows[0]?.version ?? 'deleted'}); assemble again`,
        reasonZh: '归集期间库定义已变更，请重新归集',
      },
    ]);
}

/** One row per key of a source, with the named columns as trimmed text (`v<i>`); the newest row wins a repeated key. */
function sourceQuery(s: SourceCols, columns: string[]): string {
  // an encrypted column: its ciphertext is carried as is (decrypted where it is read, before masking), and its lookup
  // index as `h<i>` for comparisons; the key of an encrypted key field is its keyed hash, the same in every resource
  const vals = columns.map((c, i) =>
    s.encrypted.has(c)
      ? `${c} AS v${i}, ${c}_h AS h${i}`
      : `NULLIF(btrim(${c}::text), '') AS v${i}, NULL::text AS h${i}`,
  );
  const select = [`${s.keyText} AS k`, ...vals].join(', ');
  if (s.keyIsRecordKey) return `SELECT ${select} FROM ${s.table}`;
  return `SELECT DISTINCT ON (${s.keyText}) ${select} FROM ${s.table}
    WHERE ${s.keyColumn} IS NOT NULL ORDER BY ${s.keyText}, _seq DESC`;
}

/**
 * The sources compared on lookup hashes (an encrypted column) must all be under one index-key version
 * (docs/ENCRYPTION.md "Rotating the lookup-index key"): a rotation converts a library's sources together, so this holds
 * except for a library linked, during a rotation, to a resource converted and one not yet — refused until the walk has
 * finished (INDEX_KEY_ROTATING), never compared across versions. The caller holds the source tables in share mode
 * (holdSources, in id order, as the rotation takes them), so a rotation has either committed or not begun for the step.
 */
async function assertOneIndexVersion(trx: Tx, plan: Plan) {
  const hashed = [...plan.sources.values()]
    .filter((s) => s.encrypted.size || s.keyHashed)
    .sort((a, b) => a.resourceId - b.resourceId);
  if (hashed.length < 2) return;
  const rows = await trx
    .selectFrom('resource')
    .select(['id', 'index_key'])
    .where(
      'id',
      'in',
      hashed.map((s) => s.resourceId),
    )
    .execute();
  if (new Set(rows.map((r) => r.index_key)).size > 1)
    throw new AppError('INDEX_KEY_ROTATING', [
      {
        field: 'libraryId',
        reason: `the sources are on different lookup-index key versions (${rows.map((r) => `${r.id}: ${r.index_key}`).join(', ')}); assemble again once the rotation has finished`,
        reasonZh: '来源资源的检索索引密钥版本不一致（轮换进行中），请在轮换完成后重新归集',
      },
    ]);
}

/** The plan's reading of its sources' storage (tables, key columns, what is hashed or encrypted), comparable. */
function storageOf(plan: Plan): string {
  return JSON.stringify([
    plan.fields,
    [...plan.sources.values()]
      .sort((a, b) => a.resourceId - b.resourceId)
      .map((x) => [x.resourceId, x.table, x.keyColumn, x.keyHashed, [...x.encrypted].sort()]),
  ]);
}

/**
 * A step that reads the source tables takes them all in share mode first (id order, as a storage conversion, an
 * index-key rotation and a definition's save take them), then checks their storage is still what the plan read when
 * the run began. A conversion to or from encrypted storage of a source (keys.encrypt / keys.decrypt, which also re-key
 * the library) has then either committed — the storage differs: the run fails CONFLICT and is started again, rather
 * than reading ciphertext as clear keys — or not begun, and waits for the step. Taking the tables before anything is
 * written also keeps step 1 from deleting the records and then waiting for a table a conversion holds while that
 * conversion waits to re-key the same records (a deadlock before 2026-12-02).
 */
async function holdSources(trx: Tx, plan: Plan): Promise<void> {
  const all = [...plan.sources.values()].sort((a, b) => a.resourceId - b.resourceId);
  if (!all.length) return;
  await sql.raw(`LOCK TABLE ${all.map((x) => x.table).join(', ')} IN ACCESS SHARE MODE`).execute(trx);
  if (storageOf(await loadPlan(trx, plan.libraryId)) !== storageOf(plan))
    throw new AppError('CONFLICT', [
      {
        field: 'libraryId',
        reason:
          "a source's storage changed during the assembly (a conversion to or from encrypted storage); assemble again",
        reasonZh: '归集期间来源资源的存储方式已变更（加密存储转换），请重新归集',
      },
    ]);
}

/** A test's hook: called once the run's plan is read, before its first step. */
export const assembleHooks: { afterPlan?: (libraryId: number) => void | Promise<void> } = {};

async function stepRecords(trx: Tx, plan: Plan, runId: number): Promise<number> {
  await holdLibrary(trx, plan, 'KEY SHARE');
  await holdSources(trx, plan);
  await assertOneIndexVersion(trx, plan);
  // per source: the columns it contributes, in a fixed order
  const used = new Map<number, string[]>();
  for (const f of plan.fields)
    for (const s of f.sources) {
      const cols = used.get(s.resourceId) ?? [];
      if (!cols.includes(s.column)) cols.push(s.column);
      used.set(s.resourceId, cols);
    }
  const ids = [...used.keys()];
  const alias = (resourceId: number) => `s${ids.indexOf(resourceId)}`;
  const ctes = ids.map((id) => `${alias(id)} AS (${sourceQuery(plan.sources.get(id)!, used.get(id)!)})`);
  const keys = ids.map((id) => `SELECT k FROM ${alias(id)} WHERE k IS NOT NULL`).join(' UNION ');
  const ref = (s: { resourceId: number; column: string }) =>
    `${alias(s.resourceId)}.v${used.get(s.resourceId)!.indexOf(s.column)}`;
  const vals = plan.fields.map(
    (f) => `'${f.code}', COALESCE(${f.sources.map(ref).join(', ')})`, // codes match FIELD_CODE: safe literals
  );
  const srcs = plan.fields.map(
    (f) =>
      `'${f.code}', CASE ${f.sources.map((s) => `WHEN ${ref(s)} IS NOT NULL THEN ${Number(s.resourceId)}`).join(' ')} END`,
  );
  const joins = ids.map((id) => `LEFT JOIN ${alias(id)} ON ${alias(id)}.k = keys.k`).join('\n    ');
  await sql`DELETE FROM base_library_record WHERE library_id = ${plan.libraryId}`.execute(trx);
  const r = await sql
    .raw(
      `WITH ${ctes.join(',\n    ')}, keys AS (${keys})
    INSERT INTO base_library_record (library_id, key, vals, srcs, run_id)
    SELECT ${Number(plan.libraryId)}, keys.k, jsonb_build_object(${vals.join(', ')}),
      jsonb_strip_nulls(jsonb_build_object(${srcs.join(', ')})), ${Number(runId)}
    FROM keys
    ${joins}
    WHERE length(keys.k) <= 64`,
    )
    .execute(trx);
  return Number(r.numAffectedRows ?? 0);
}

async function stepConflicts(
  trx: Tx,
  plan: Plan,
  runId: number,
  field: Plan['fields'][number],
  secondary: { resourceId: number; column: string },
  now: Date,
): Promise<void> {
  await holdLibrary(trx, plan, 'KEY SHARE');
  await holdSources(trx, plan);
  await assertOneIndexVersion(trx, plan);
  const auth = field.sources[0];
  // one side ciphertext, the other clear: SQL cannot compare them (no key in the database); not guessed, left out
  const enc = (x: { resourceId: number; column: string }) =>
    plan.sources.get(x.resourceId)!.encrypted.has(x.column);
  if (enc(auth) !== enc(secondary)) return;
  const a = sourceQuery(plan.sources.get(auth.resourceId)!, [auth.column]);
  const s = sourceQuery(plan.sources.get(secondary.resourceId)!, [secondary.column]);
  await sql`
    INSERT INTO base_library_conflict AS c
      (library_id, key, field_code, auth_resource_id, auth_value, sec_resource_id, sec_value,
       first_run_id, last_run_id, found_at)
    SELECT ${plan.libraryId}, a.k, ${field.code}, ${auth.resourceId}, left(a.v0, 2000), ${secondary.resourceId},
      left(s.v0, 2000), ${runId}, ${runId}, ${now}
    FROM (${sql.raw(a)}) a JOIN (${sql.raw(s)}) s ON s.k = a.k
    WHERE a.v0 IS NOT NULL AND s.v0 IS NOT NULL AND coalesce(a.h0, a.v0) <> coalesce(s.h0, s.v0) AND length(a.k) <= 64
    ON CONFLICT (library_id, key, field_code, sec_resource_id) DO UPDATE SET
      status = CASE
        WHEN c.status = 'cleared' THEN 'open'
        WHEN c.status = 'resolved' AND (c.auth_value IS DISTINCT FROM EXCLUDED.auth_value
          OR c.sec_value IS DISTINCT FROM EXCLUDED.sec_value) THEN 'open'
        ELSE c.status END,
      resolution = CASE WHEN c.status = 'resolved' AND c.auth_value IS NOT DISTINCT FROM EXCLUDED.auth_value
        AND c.sec_value IS NOT DISTINCT FROM EXCLUDED.sec_value THEN c.resolution END,
      auth_resource_id = EXCLUDED.auth_resource_id,
      auth_value = EXCLUDED.auth_value,
      sec_value = EXCLUDED.sec_value,
      last_run_id = EXCLUDED.last_run_id`.execute(trx);
}

async function progress(trx: Tx, runId: number, done: number) {
  await trx.updateTable('base_library_run').set({ steps_done: done }).where('id', '=', runId).execute();
}

/**
 * Runs (or re-runs, after a crash) an assembly. `db` may be a transaction (the demo loader assembles inside its own);
 * the job passes the pool, so each step commits and the console sees the progress.
 */
export async function runAssembly(ctx: AppContext, runId: number): Promise<void> {
  const db = ctx.db;
  const run = await db.selectFrom('base_library_run').selectAll().where('id', '=', runId).executeTakeFirst();
  if (!run || run.status === 'done' || run.status === 'failed') return;
  const started = ctx.clock.now();
  try {
    const plan = await loadPlan(db, run.library_id);
    await assembleHooks.afterPlan?.(run.library_id);
    const pairs = plan.fields.flatMap((f) => f.sources.slice(1).map((s) => ({ field: f, s })));
    const total = 2 + pairs.length;
    await db
      .updateTable('base_library_run')
      .set({ status: 'running', started_at: started, steps_total: total, steps_done: 0, error: null })
      .where('id', '=', runId)
      .execute();
    const records = await inTx(db, async (trx) => {
      const n = await stepRecords(trx, plan, runId);
      await trx
        .updateTable('base_library_run')
        .set({ records: n, steps_done: 1 })
        .where('id', '=', runId)
        .execute();
      return n;
    });
    let done = 1;
    for (const p of pairs) {
      await inTx(db, async (trx) => {
        await stepConflicts(trx, plan, runId, p.field, p.s, started);
        await progress(trx, runId, ++done);
      });
    }
    await inTx(db, async (trx) => {
      // the library row before the conflicts (holdLibrary): the order a definition's save takes them in
      await holdLibrary(trx, plan, 'NO KEY UPDATE');
      const cleared = await trx
        .updateTable('base_library_conflict')
        .set({ status: 'cleared' })
        .where('library_id', '=', run.library_id)
        .where('status', '=', 'open')
        .where('last_run_id', '<>', runId)
        .executeTakeFirst();
      // a conflict of a key the library no longer holds (gone from every source, or its only sources left the
      // definition) is removed, whatever its state: its resolution stays in the audit log (baselib.resolve), and kept
      // here it would be a library key no source can map back when the library is re-keyed to clear
      // (KEY_DECRYPTION_UNMAPPED, docs/ENCRYPTION.md)
      const removed = await sql`
        DELETE FROM base_library_conflict c
        WHERE c.library_id = ${run.library_id} AND c.last_run_id <> ${runId}
          AND NOT EXISTS (SELECT 1 FROM base_library_record r WHERE r.library_id = c.library_id AND r.key = c.key)`.execute(
        trx,
      );
      const counts = await trx
        .selectFrom('base_library_conflict')
        .select([
          sql<number>`count(*) FILTER (WHERE status = 'open')`.as('open'),
          sql<number>`count(*) FILTER (WHERE first_run_id = ${runId})`.as('fresh'),
        ])
        .where('library_id', '=', run.library_id)
        .executeTakeFirstOrThrow();
      await trx
        .updateTable('base_library_run')
        .set({
          status: 'done',
          steps_done: total,
          finished_at: ctx.clock.now(),
          conflicts_open: Number(counts.open),
          conflicts_new: Number(counts.fresh),
          conflicts_cleared: Number(cleared.numUpdatedRows ?? 0),
        })
        .where('id', '=', runId)
        .execute();
      await trx
        .updateTable('base_library')
        .set({ last_run_id: runId })
        .where('id', '=', run.library_id)
        .execute();
      await appendAudit(trx, {
        action: 'baselib.assembled',
        decision: 'allow',
        actorUserId: run.requested_by,
        targetType: 'base_library',
        targetId: run.library_id,
        detail: {
          runId,
          records,
          conflictsOpen: Number(counts.open),
          conflictsNew: Number(counts.fresh),
          ...(removed.numAffectedRows ? { conflictsRemoved: Number(removed.numAffectedRows) } : {}),
        },
      });
    });
  } catch (e) {
    const message = e instanceof AppError ? `${e.code}: ${e.details[0]?.reason ?? e.messageEn}` : String(e);
    await db
      .updateTable('base_library_run')
      .set({ status: 'failed', finished_at: ctx.clock.now(), error: message.slice(0, 2000) })
      .where('id', '=', runId)
      .execute();
  }
}
