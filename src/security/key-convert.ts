import { CompiledQuery, sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import { indexColumn, SQL_TYPES } from '../catalog/model.js';
import { getFields, type StoredField } from '../catalog/store.js';
import type { Actor, AppContext } from '../context.js';
import { forgetResourceMeta } from '../dataapi/service.js';
import { inTx, type Tx } from '../db/index.js';
import { recordHash } from '../ingest/model.js';
import { AppError } from '../shared/errors.js';
import { isCiphertext } from './field-cipher.js';
import type { FieldWriter } from './field-keys.js';
import { rewriteHistory, rewriteQuarantine, tableChunks, updateChunk } from './history-walk.js';
import { type IndexTextField, indexText, normalisedText } from './index-text.js';
import { addJoinIndex, librariesJoining, rekeyLibrary } from './join-index.js';
import {
  dropJoinIndex,
  fieldClearMap,
  joinIndexNeeded,
  libraryClearMap,
  type SharedLibrary,
  sharedGroup,
  sharedLibraries,
} from './join-reverse.js';
import { canRotate, tableOf } from './key-service.js';
import { type Rekey, rekeyResource } from './rekey.js';

/*
 * Converting stored clear values to encrypted storage (docs/ENCRYPTION.md "Converting clear columns"): a resource whose
 * sensitive-personal field is still stored in clear (`resource_field.encrypted = false`: a table created before
 * migration 040, or a flag a catalog version turned on while the table held rows) is converted by the job
 * `keys.encrypt`, queued by the catalog when it publishes such a version or by the platform administrator
 * (`POST /api/security/keys/resources/:id/encrypt`, `govshare keys encrypt --resource ID`); audited `key.encrypt`.
 *
 * One resource is converted in ONE transaction holding an exclusive lock on its table: reads and writes of that
 * resource wait until it commits (the pause), other resources keep serving; a crash leaves all or nothing, and the
 * job runs again. It rewrites every place holding a value of the field: the column (ciphertext + its keyed hash
 * `c<n>_h`, indexed), `_hash` (keyed once the resource has an encrypted field), record_history (values, their lookup
 * indexes, `rhash`), ingest_quarantine (values, whole-row raw cells) and base-library copies (records, conflicts).
 * A record-key field also rewrites `_key` and everything keyed by it (rekey.ts: the clear key becomes its keyed hash).
 * A base-library join key is converted with its libraries in one group transaction (below, convertResource), whether
 * it is the record key or a non-key field (an ID-number column of a resource keyed otherwise: the field is converted as
 * any field, A's record keys untouched, the libraries re-keyed clear → index(clear)) or one part of a composite record
 * key (both at once in the same transaction: the records rekeyed `id|visit` → index(`id|visit`) as any record key, the
 * libraries, keyed by the part's values, re-keyed id → index(id) as for a non-key field).
 *
 * The reverse (`decryptResource`, job `keys.decrypt`, audited `key.decrypt` / `key.decrypted`) turns a field whose
 * sensitive-personal flag a catalog version turned off back to clear storage, the same way: see further down.
 */

export const ENCRYPT_JOB = 'keys.encrypt';

type Indexed = { f: StoredField; i: number };

/**
 * The base libraries joining this resource (on `keyField`: their records are keyed by that field's values), one row per
 * library field it feeds, each with whether another resource is also one of the library's sources.
 */
export async function joinsOn(db: Tx | AppContext['db'], resourceId: number) {
  const rows = await sql<{ library_id: number; key_field: string; shared: boolean }>`
    SELECT s.library_id, s.key_field, EXISTS (SELECT 1 FROM base_library_source o
      WHERE o.library_id = s.library_id AND o.resource_id <> s.resource_id) AS shared
    FROM base_library_source s WHERE s.resource_id = ${resourceId}`.execute(db);
  return rows.rows.map((r) => ({ libraryId: Number(r.library_id), keyField: r.key_field, shared: r.shared }));
}

/** The clear sensitive-personal fields to convert (none: FIELD_ALREADY_ENCRYPTED). */
function convertible(fields: StoredField[]): Indexed[] {
  const clear = fields.map((f, i) => ({ f, i })).filter((x) => x.f.sensitivePersonal && !x.f.encrypted);
  if (!clear.length)
    throw new AppError('FIELD_ALREADY_ENCRYPTED', [
      {
        field: 'resourceId',
        reason: 'no sensitive-personal field of the resource is stored in clear',
        reasonZh: '该资源没有以明文存储的敏感个人信息项',
      },
    ]);
  return clear;
}

type Via = 'console' | 'cli' | 'catalog.publish' | 'catalog.edit';

/**
 * `key.encrypt` (or `key.decrypt`, the reverse conversion) on the resource, allowed (a conversion queued) or refused,
 * with who asked.
 */
function auditEncrypt(
  db: Tx | AppContext['db'],
  actor: Actor | null,
  resourceId: number,
  decision: 'allow' | 'deny',
  detail: Record<string, unknown>,
  reverse = false,
) {
  return appendAudit(db, {
    action: reverse ? 'key.decrypt' : 'key.encrypt',
    decision,
    actorUserId: actor?.id ?? null,
    actorOrgId: actor?.orgId ?? null,
    clientIp: actor?.clientIp ?? null,
    resourceId,
    targetType: 'resource',
    targetId: resourceId,
    detail,
  });
}

/** Audits the request (`key.encrypt`, allow) and queues the job `keys.encrypt`, in the caller's transaction. */
export async function queueEncryption(
  ctx: AppContext,
  trx: Tx,
  actor: Actor | null,
  resourceId: number,
  fields: string[],
  via: Via,
  extra: Record<string, unknown> = {},
) {
  await auditEncrypt(trx, actor, resourceId, 'allow', { fields, via, ...extra });
  await ctx.jobs.schedule(trx, {
    kind: ENCRYPT_JOB,
    key: `r${resourceId}`,
    runAt: ctx.clock.now(),
    payload: { resourceId },
  });
}

/** The administrator asks for the conversion: checked, audited (`key.encrypt`), run by the job `keys.encrypt`. */
export async function requestEncryption(ctx: AppContext, actor: Actor | null, resourceId: number) {
  const deny = (db: Tx | AppContext['db'], detail: Record<string, unknown>) =>
    auditEncrypt(db, actor, resourceId, 'deny', { ...detail, via: actor ? 'console' : 'cli' });
  if (actor && !canRotate(actor)) {
    await deny(ctx.db, { code: 'FORBIDDEN' });
    throw new AppError('FORBIDDEN').alreadyAudited();
  }
  await tableOf(ctx.db, resourceId);
  let conv: Indexed[];
  try {
    conv = convertible(await getFields(ctx.db, resourceId));
  } catch (e) {
    // refused (nothing left in clear): audited with its code
    if (!(e instanceof AppError)) throw e;
    await deny(ctx.db, { code: e.code, fields: e.details.map((d) => d.field) });
    throw e.alreadyAudited();
  }
  const fields = conv.map((x) => x.f.code);
  await inTx(ctx.db, (trx) =>
    queueEncryption(ctx, trx, actor, resourceId, fields, actor ? 'console' : 'cli'),
  );
  return { resourceId, fields, job: ENCRYPT_JOB };
}

/** The job: converts the resource (nothing left to convert: done, so a re-run after a commit is a no-op). */
export async function encryptJob(ctx: AppContext, payload: { resourceId: number }) {
  await convertResource(ctx, payload.resourceId);
}

/**
 * Converts every clear sensitive-personal column of a resource, in one transaction (see the head of this file).
 * Returns the converted field codes (empty: nothing was left to convert).
 */
export async function convertResource(
  ctx: AppContext,
  resourceId: number,
  opts: { rekeyTiming?: Rekey['timing'] } = {},
): Promise<string[]> {
  await ctx.fieldKeys.refresh(true, ctx.db);
  const out = await inTx(ctx.db, async (trx) => {
    // the group: the resource and the other sources of the clear-keyed libraries joining it on a field to convert
    // (they get their join index in this transaction); rows locked in id order (as the index-key rotation does, which
    // orders this with every merge, conversion and rotation of them), then their tables
    const toConvert = (await getFields(trx, resourceId)).filter((f) => f.sensitivePersonal && !f.encrypted);
    const planned = await clearKeyedLibraries(
      trx,
      resourceId,
      toConvert.map((f) => f.code),
    );
    const group = groupOfPlan(resourceId, planned);
    const tables = await lockGroup(trx, group);
    const table = tables.get(resourceId) as string;
    const fields = await getFields(trx, resourceId);
    if (!fields.some((f) => f.sensitivePersonal && !f.encrypted)) return [];
    const conv = convertible(fields);
    const libs = await clearKeyedLibraries(
      trx,
      resourceId,
      conv.map((x) => x.f.code),
    );
    // a library definition changed between the plan and the locks: the job runs again (its backoff)
    if (groupOfPlan(resourceId, libs).some((id) => !group.includes(id)))
      throw new AppError('ENCRYPTION_CONVERSION_BUSY', [
        {
          field: 'resourceId',
          reason: 'the base libraries joining the resource changed during the conversion',
          reasonZh: '转换期间关联该资源的基础库定义发生变化',
        },
      ]);
    // an import staged with the clear layout would merge clear values into the converted columns
    await assertNoImport(trx, resourceId);
    const w = await ctx.fieldKeys.writer(resourceId, trx);
    // every clear source of a library that becomes hash-keyed gets its join index (its values stay clear)
    const joinIndexed: { resourceId: number; field: string; rows: number }[] = [];
    for (const l of libs)
      for (const s of l.sources) {
        if (joinIndexed.some((j) => j.resourceId === s.resourceId && j.field === s.field.code)) continue;
        const rows = await addJoinIndex(
          trx,
          ctx.fieldKeys,
          s.resourceId,
          tables.get(s.resourceId) as string,
          s.field,
          {
            libraryId: l.libraryId,
            joinedWith: resourceId,
          },
        );
        joinIndexed.push({ resourceId: s.resourceId, field: s.field.code, rows });
      }
    const hadEncrypted = fields.some((f) => f.encrypted);
    const rows = await convertTable(trx, table, conv, w, !hadEncrypted);
    await convertHistory(trx, resourceId, fields, conv, w, !hadEncrypted);
    await convertQuarantine(trx, resourceId, conv, w, !hadEncrypted);
    await encryptBaseLibraries(trx, resourceId, conv, w);
    // a clear record key: `_key` becomes its keyed hash, with everything keyed by it (rekey.ts)
    const rekeyed =
      conv.some((x) => x.f.isKey) && !fields.some((f) => f.isKey && f.encrypted)
        ? await rekeyKeyField(ctx, trx, resourceId, table, (k) => w.index(k), opts.rekeyTiming, [])
        : null;
    // the libraries joining it on a converted field become hash-keyed: their keys clear → index(clear), as assembly
    // now computes them from every source's `c<n>_h`
    const libraries = [];
    // (the hash of the key's canonical text, index-text.ts, which a clear-keyed library's key already is)
    for (const l of libs)
      libraries.push({
        id: l.libraryId,
        rekeyed: await rekeyLibrary(trx, l.libraryId, (k) => w.index(l.own ? indexText(l.own, k) : k)),
      });
    await setStorage(trx, resourceId, conv, true);
    const codes = conv.map((x) => x.f.code);
    await appendAudit(trx, {
      action: 'key.encrypted',
      decision: 'allow',
      resourceId,
      targetType: 'resource',
      targetId: resourceId,
      detail: {
        fields: codes,
        rows,
        version: w.version,
        ...(rekeyed === null ? {} : { rekeyed }),
        ...(libraries.length ? { libraries, joinIndexed } : {}),
      },
    });
    await convertHooks.beforeCommit?.(group);
    return codes;
  });
  forgetResourceMeta(ctx);
  return out;
}

/** A test's hook: called inside the conversion's transaction after everything was rewritten, before it commits. */
export const convertHooks: { beforeCommit?: (resourceIds: number[]) => void | Promise<void> } = {};

type LibraryPlan = {
  libraryId: number;
  /** the field the library joins the converted resource on (its keys are that field's canonical text) */
  own: StoredField | undefined;
  sources: { resourceId: number; field: StoredField }[];
};

const groupOfPlan = (resourceId: number, libs: LibraryPlan[]) =>
  [...new Set([resourceId, ...libs.flatMap((l) => l.sources.map((s) => s.resourceId))])].sort(
    (a, b) => a - b,
  );

/**
 * Takes a conversion group (`group`: resource ids, ascending): their rows `FOR UPDATE`, then their tables `ACCESS
 * EXCLUSIVE`, both in id order (as the index-key rotation's walk and the library save take them); returns each table.
 */
async function lockGroup(trx: Tx, group: number[]): Promise<Map<number, string>> {
  await sql`SELECT id FROM resource WHERE id = ANY (${group}::bigint[]) ORDER BY id FOR UPDATE`.execute(trx);
  const tables = new Map<number, string>();
  for (const id of group) tables.set(id, await tableOf(trx, id));
  await sql
    .raw(`LOCK TABLE ${group.map((id) => tables.get(id)).join(', ')} IN ACCESS EXCLUSIVE MODE`)
    .execute(trx);
  return tables;
}

/**
 * The CLEAR-KEYED base libraries (no source stores its join key encrypted) joining the resource on one of `codes`:
 * converting that field makes them hash-keyed. Each with its other sources whose clear join key has no join index yet.
 * A hash-keyed library joining the resource needs nothing: its keys are hashes already.
 */
async function clearKeyedLibraries(db: Tx, resourceId: number, codes: string[]): Promise<LibraryPlan[]> {
  const out: LibraryPlan[] = [];
  for (const [libraryId, all] of await librariesJoining(db, resourceId, codes)) {
    const keyFields = all.flatMap((r) => (r.field ? [{ resourceId: r.resourceId, field: r.field }] : []));
    if (keyFields.some((k) => k.field.encrypted)) continue;
    out.push({
      libraryId,
      own: keyFields.find((k) => k.resourceId === resourceId)?.field,
      sources: keyFields.filter((k) => k.resourceId !== resourceId && !k.field.joinIndexed),
    });
  }
  return out;
}

/**
 * The record key converted either way: the resource rekeyed by `map` (rekey.ts), with `libraries`, whose keys are the
 * resource's record keys (keys.decrypt: the single-source libraries joining it on its record key of one field). The
 * conversion passes none: it rekeys its clear-keyed libraries itself (rekeyLibrary, join-index.ts).
 */
function rekeyKeyField(
  ctx: AppContext,
  trx: Tx,
  resourceId: number,
  table: string,
  map: (old: string) => string,
  timing: Rekey['timing'] | undefined,
  libraries: number[],
) {
  return rekeyResource(trx, { resourceId, table, map, timing, secret: ctx.secret, libraries });
}

/** The converted fields' storage state, in the conversion's transaction. */
async function setStorage(trx: Tx, resourceId: number, conv: Indexed[], encrypted: boolean) {
  // an encrypted column's `_h` is its lookup index: a join index it had (a clear source of a hash-keyed library) is that
  await trx
    .updateTable('resource_field')
    .set(encrypted ? { encrypted, join_indexed: false } : { encrypted })
    .where('resource_id', '=', resourceId)
    .where(
      'ordinal',
      'in',
      conv.map((x) => x.f.ordinal),
    )
    .execute();
}

/** An import of the resource queued or running: it staged rows with the storage layout read at its start. */
export async function assertNoImport(trx: Tx, resourceId: number) {
  const busy = await trx
    .selectFrom('ingest_batch')
    .select('id')
    .where('resource_id', '=', resourceId)
    .where('status', 'in', ['queued', 'running'])
    .executeTakeFirst();
  if (busy)
    throw new AppError('ENCRYPTION_CONVERSION_BUSY', [
      {
        field: 'resourceId',
        reason: `import ${busy.id} is in progress`,
        reasonZh: `导入批次 ${busy.id} 正在进行`,
      },
    ]);
}

const enc = (w: FieldWriter, v: unknown) =>
  v === null || v === undefined || isCiphertext(v) ? v : w.encrypt(String(v));
/** A field value's lookup index: the hash of its canonical text (index-text.ts), as ingest computes it. */
const idx = (w: FieldWriter, f: IndexTextField, v: unknown) =>
  v === null || v === undefined ? null : w.index(indexText(f, String(v)));

/** The resource table: each column to text holding ciphertext, its keyed-hash column filled then indexed. */
async function convertTable(trx: Tx, table: string, conv: Indexed[], w: FieldWriter, keyHash: boolean) {
  for (const { f } of conv) {
    // a join-indexed column (a clear source of a hash-keyed library) has its `_h` column and index already
    await sql
      .raw(
        `ALTER TABLE ${table} ALTER COLUMN ${f.columnName} TYPE text USING ${normalisedText(f, f.columnName)}${
          f.joinIndexed ? '' : `;\n         ALTER TABLE ${table} ADD COLUMN ${indexColumn(f.columnName)} text`
        }`,
      )
      .execute(trx);
  }
  const cols = conv.map((x) => x.f.columnName);
  let total = 0;
  for await (const rows of tableChunks(trx, table, ['_hash', ...cols])) {
    const set: [string, (string | null)[]][] = conv.flatMap(({ f }): [string, (string | null)[]][] => [
      [f.columnName, rows.map((r) => enc(w, r[f.columnName]) as string | null)],
      [indexColumn(f.columnName), rows.map((r) => idx(w, f, r[f.columnName]))],
    ]);
    // the unchanged-row hash is keyed once the resource holds an encrypted field (stagedSealer does the same)
    if (keyHash) set.push(['_hash', rows.map((r) => (r._hash == null ? null : w.index(String(r._hash))))]);
    await updateChunk(trx, table, rows, set);
    total += rows.length;
  }
  const id = table.slice('ds.r_'.length);
  for (const { f } of conv)
    if (!f.joinIndexed)
      await sql
        .raw(`CREATE INDEX r_${id}_${indexColumn(f.columnName)} ON ${table} (${indexColumn(f.columnName)})`)
        .execute(trx);
  return total;
}

/**
 * record_history keeps a record as a jsonb array: every field's value, then the lookup index of each encrypted field
 * in field order (storageColumns). The converted values are encrypted and their indexes inserted at their place.
 */
function convertHistory(
  trx: Tx,
  resourceId: number,
  fields: StoredField[],
  conv: Indexed[],
  w: FieldWriter,
  keyHash: boolean,
) {
  const n = fields.length;
  const before = fields.flatMap((f, i) => (f.encrypted ? [i] : []));
  const converted = new Set(conv.map((x) => x.i));
  const afterEnc = fields.flatMap((f, i) => (f.encrypted || converted.has(i) ? [i] : []));
  return rewriteHistory(trx, resourceId, null, (h) => {
    const vals = Array.from({ length: n }, (_, i) => h.data[i] ?? null);
    const oldIdx = h.data.slice(n);
    const indexes = afterEnc.map((i) =>
      converted.has(i) ? idx(w, fields[i], vals[i]) : (oldIdx[before.indexOf(i)] ?? null),
    );
    for (const i of converted) vals[i] = enc(w, vals[i]) as string | null;
    return { data: [...vals, ...indexes], rhash: keyHash ? w.index(h.rhash) : h.rhash };
  });
}

/** Quarantined rows: values by field code (or by position, duplicates moved from staging); raw cells whole. */
function convertQuarantine(trx: Tx, resourceId: number, conv: Indexed[], w: FieldWriter, raw: boolean) {
  return rewriteQuarantine(trx, resourceId, (vals) => {
    if (Array.isArray(vals)) {
      const a = vals.slice();
      for (const { i } of conv) if (typeof a[i] === 'string' && a[i] !== '') a[i] = enc(w, a[i]);
      return a;
    }
    const o = { ...(vals as Record<string, unknown>) };
    for (const { f } of conv)
      if (typeof o[f.code] === 'string' && o[f.code] !== '') o[f.code] = enc(w, o[f.code]);
    // the raw cells of a ragged row are encrypted whole once the resource has an encrypted field (quarantineSealer)
    if (raw && o._cells !== undefined && !isCiphertext(o._cells))
      o._cells = w.encrypt(JSON.stringify(o._cells));
    if (raw && o._raw !== undefined && !isCiphertext(o._raw)) o._raw = w.encrypt(String(o._raw));
    return o;
  });
}

/**
 * Base-library copies of the fields' values (records whose value came from this resource, conflict values on its
 * side), each rewritten by `change`, which answers undefined to leave a value as it is. One walk for both directions.
 */
async function rewriteBaseLibraries(
  trx: Tx,
  resourceId: number,
  conv: Indexed[],
  change: (v: unknown) => unknown | undefined,
) {
  const sources = await trx
    .selectFrom('base_library_source')
    .select(['library_id', 'field_code'])
    .where('resource_id', '=', resourceId)
    .where(
      'source_field',
      'in',
      conv.map((x) => x.f.code),
    )
    .execute();
  for (const s of sources) {
    const recs = await trx
      .selectFrom('base_library_record')
      .select(['key', 'vals'])
      .where('library_id', '=', s.library_id)
      .where(sql<boolean>`srcs->>${s.field_code} = ${String(resourceId)}`)
      .execute();
    for (const r of recs) {
      const vals = { ...(r.vals as Record<string, unknown>) };
      const v = change(vals[s.field_code]);
      if (v === undefined) continue;
      vals[s.field_code] = v;
      await trx
        .updateTable('base_library_record')
        .set({ vals: JSON.stringify(vals) })
        .where('library_id', '=', s.library_id)
        .where('key', '=', r.key)
        .execute();
    }
    for (const side of ['auth', 'sec'] as const) {
      const col = `${side}_value` as const;
      const confl = await trx
        .selectFrom('base_library_conflict')
        .select(['id', col])
        .where('library_id', '=', s.library_id)
        .where('field_code', '=', s.field_code)
        .where(`${side}_resource_id`, '=', resourceId)
        .execute();
      for (const c of confl) {
        const v = change((c as Record<string, unknown>)[col]);
        if (v === undefined) continue;
        await trx
          .updateTable('base_library_conflict')
          .set({ [col]: v as string })
          .where('id', '=', c.id)
          .execute();
      }
    }
  }
}

/** Converting: clear values encrypted under the resource's active data key. */
const encryptBaseLibraries = (trx: Tx, resourceId: number, conv: Indexed[], w: FieldWriter) =>
  rewriteBaseLibraries(trx, resourceId, conv, (v) =>
    v === null || v === undefined || isCiphertext(v) ? undefined : enc(w, v),
  );

/*
 * The reverse conversion (docs/ENCRYPTION.md "Catalog changes"): a catalog version that turns the sensitive-personal
 * flag OFF for a field stored encrypted, while the resource holds values, publishes with the column still encrypted
 * (`encrypted = true`, shown 加密存储（待解密）: values keep being encrypted on write) and queues the job
 * `keys.decrypt` (audited `key.decrypt`). The job is the mirror of `convertResource`: one transaction per resource
 * holding its row and its table, the column rewritten to the field's own SQL type in clear, its keyed-hash column
 * dropped, record_history / ingest_quarantine / base-library copies decrypted, `encrypted = false`, audited
 * `key.decrypted`. `_hash` becomes what ingest computes for a clear resource once no encrypted field is left.
 * A record key that base libraries share with other resources, or a non-key field or one part of a composite record
 * key any base library joins the resource on (`keyedApart`), is turned back in one group transaction with those
 * libraries (join-reverse.ts: clear-keyed again when no other source keeps the key encrypted, else A join-indexed).
 */

export const DECRYPT_JOB = 'keys.decrypt';

/** Fields whose flag is off but whose column is still encrypted: what the job `keys.decrypt` turns back to clear. */
export function decryptible(fields: StoredField[]): Indexed[] {
  return fields.map((f, i) => ({ f, i })).filter((x) => x.f.encrypted && !x.f.sensitivePersonal);
}

/**
 * The fields among `fields` whose base libraries are keyed by the field's own values rather than by the record keys:
 * every field but a record key of ONE field (join-reverse.ts `sharedLibraries`' `alone`). A non-key join field and one
 * part of a composite record key alike: the records' keys (`id|visit`) are not the libraries' keys (`id`), so no record
 * rekeying carries them, and the resource's part of each library's mapping comes from the field's decrypted values
 * (join-reverse.ts `fieldClearMap`), not from `clearKeys`.
 */
export const keyedApart = (fields: StoredField[], codes: string[]) => {
  const whole = fields.filter((f) => f.isKey);
  return codes.filter((c) => !(whole.length === 1 && whole[0].code === c));
};

/** Audits the request (`key.decrypt`, allow) and queues the job `keys.decrypt`, in the caller's transaction. */
export async function queueDecryption(
  ctx: AppContext,
  trx: Tx,
  actor: Actor | null,
  resourceId: number,
  fields: string[],
  via: Via,
  extra: Record<string, unknown> = {},
) {
  await auditEncrypt(trx, actor, resourceId, 'allow', { fields, via, ...extra }, true);
  await ctx.jobs.schedule(trx, {
    kind: DECRYPT_JOB,
    key: `r${resourceId}`,
    runAt: ctx.clock.now(),
    payload: { resourceId },
  });
}

/** The job: decrypts the resource (nothing left to decrypt: done, so a re-run after a commit is a no-op). */
export async function decryptJob(ctx: AppContext, payload: { resourceId: number }) {
  await decryptResource(ctx, payload.resourceId);
}

/**
 * Turns every encrypted field whose sensitive-personal flag is off back to clear storage, in one transaction (the
 * same pause as `convertResource`). Returns the decrypted field codes (empty: nothing was left to decrypt).
 */
export async function decryptResource(
  ctx: AppContext,
  resourceId: number,
  opts: { rekeyTiming?: Rekey['timing'] } = {},
): Promise<string[]> {
  await ctx.fieldKeys.refresh(true, ctx.db);
  const out = await inTx(ctx.db, async (trx) => {
    // the group: the resource and the other sources of the shared libraries joining it on a key field to decrypt that
    // become clear-keyed (join-reverse.ts); rows locked in id order, then their tables (as convertResource does)
    const before = await getFields(trx, resourceId);
    const pending = decryptible(before).map((x) => x.f.code);
    const planned = await sharedLibraries(trx, resourceId, pending, keyedApart(before, pending));
    const group = sharedGroup(resourceId, planned);
    const tables = await lockGroup(trx, group);
    const table = tables.get(resourceId) as string;
    const fields = await getFields(trx, resourceId);
    const conv = decryptible(fields);
    if (!conv.length) return [];
    // the libraries joining it on a decrypted field: on its record key of one field (shared with other resources; one
    // whose only source is the resource is rekeyed with its records), or on a non-key field or one part of a
    // composite record key (any, join-reverse.ts: their keys are the field's values, not the records')
    const codes = conv.map((x) => x.f.code);
    const shared = await sharedLibraries(trx, resourceId, codes, keyedApart(fields, codes));
    // a library definition or a source's storage changed between the plan and the locks: the job runs again
    if (sharedGroup(resourceId, shared).some((id) => !group.includes(id)))
      throw new AppError('ENCRYPTION_CONVERSION_BUSY', [
        {
          field: 'resourceId',
          reason: 'the base libraries joining the resource changed during the conversion',
          reasonZh: '转换期间关联该资源的基础库定义发生变化',
        },
      ]);
    // an import staged with the encrypted layout would merge ciphertext into the clear columns
    await assertNoImport(trx, resourceId);
    // the unchanged-row hash is unkeyed again only when no encrypted field is left (stagedSealer keys it otherwise)
    const clearHash = !fields.some((f, i) => f.encrypted && !conv.some((x) => x.i === i));
    const keys = ctx.fieldKeys;
    // the record key back to clear when no key field stays encrypted: every stored hash mapped to its clear key first,
    // while the values are still encrypted (one that cannot be mapped refuses the job before anything is rewritten)
    const t0 = performance.now();
    const unhash =
      conv.some((x) => x.f.isKey) &&
      !fields.some((f, i) => f.isKey && f.encrypted && !conv.some((x) => x.i === i))
        ? await clearKeys(trx, resourceId, table, fields, keys, (await keys.writer(resourceId, trx)).index)
        : null;
    if (unhash) opts.rekeyTiming?.('unhash', performance.now() - t0);
    // the libraries this decryption concerns: those joining it on a field keyed apart from the records (a non-key field,
    // one part of a composite record key), and on the record key of one field when that turns clear
    const apart = new Set(keyedApart(fields, codes));
    const concerned = shared.filter((l) => apart.has(l.ownField) || unhash);
    // every key of a library turning clear-keyed mapped back before anything is rewritten (one left: refused); the
    // resource's part from its clear record keys, or from the decrypted values of the field it is joined on
    const fieldMaps = new Map<string, Map<string, string>>();
    const libMaps = new Map<number, Map<string, string>>();
    for (const l of concerned.filter((x) => !x.staysHashed)) {
      let own = unhash as Map<string, string>;
      if (apart.has(l.ownField)) {
        if (!fieldMaps.has(l.ownField)) {
          const f = fields.find((x) => x.code === l.ownField) as StoredField;
          fieldMaps.set(l.ownField, await fieldClearMap(trx, keys, resourceId, table, f));
        }
        own = fieldMaps.get(l.ownField) as Map<string, string>;
      }
      libMaps.set(l.libraryId, await libraryClearMap(trx, keys, l, own, tables));
    }
    const rows = await decryptTable(trx, table, fields, conv, keys, clearHash);
    await decryptHistory(trx, resourceId, fields, conv, keys, clearHash);
    await decryptQuarantine(trx, resourceId, fields, conv, keys, clearHash);
    await decryptBaseLibraries(trx, resourceId, conv, keys);
    // `_key` becomes the clear key again, with everything keyed by it (rekey.ts, the conversion's routine reversed)
    const rekeyed = unhash
      ? await rekeyKeyField(
          ctx,
          trx,
          resourceId,
          table,
          (k) => unhash.get(k) as string,
          opts.rekeyTiming,
          (await joinsOn(trx, resourceId))
            // a library shared with other resources, or joining it on a field keyed apart from the records (one part
            // of a composite record key), is rekeyed by its own mapping (join-reverse.ts)
            .filter((j) => !j.shared && !apart.has(j.keyField) && codes.includes(j.keyField))
            .map((j) => j.libraryId),
        )
      : null;
    const libs = await reverseSharedLibraries(
      trx,
      keys,
      resourceId,
      table,
      fields,
      conv,
      concerned,
      libMaps,
      tables,
    );
    await setStorage(trx, resourceId, conv, false);
    await appendAudit(trx, {
      action: 'key.decrypted',
      decision: 'allow',
      resourceId,
      targetType: 'resource',
      targetId: resourceId,
      detail: {
        fields: codes,
        rows,
        rowHash: clearHash ? 'clear' : 'keyed',
        ...(rekeyed === null ? {} : { rekeyed }),
        ...(libs ?? {}),
      },
    });
    await decryptHooks.beforeCommit?.(group);
    return codes;
  }).catch(async (e) => {
    // a record key that cannot be turned back (a stored hash without its clear key): refused, nothing changed, audited
    if (e instanceof AppError && e.code === 'KEY_DECRYPTION_UNMAPPED')
      await appendAudit(ctx.db, {
        action: 'key.decrypted',
        decision: 'deny',
        resourceId,
        targetType: 'resource',
        targetId: resourceId,
        detail: { code: e.code, reason: e.details?.[0]?.reason },
      });
    throw e;
  });
  forgetResourceMeta(ctx);
  return out;
}

/** A test's hook: called inside `keys.decrypt`'s transaction after everything was rewritten, before it commits. */
export const decryptHooks: { beforeCommit?: (resourceIds: number[]) => void | Promise<void> } = {};

/**
 * The shared libraries joining the resource on its decrypted record key (join-reverse.ts): those turning clear-keyed
 * re-keyed by their mapping, the join indexes of their clear sources dropped where no hash-keyed library needs them;
 * the resource given a join index where a library stays hash-keyed. What `key.decrypted` records (none: nothing).
 */
async function reverseSharedLibraries(
  trx: Tx,
  keys: Keys,
  resourceId: number,
  table: string,
  fields: StoredField[],
  conv: Indexed[],
  shared: SharedLibrary[],
  libMaps: Map<number, Map<string, string>>,
  tables: Map<number, string>,
) {
  if (!shared.length) return null;
  const libraries: { id: number; rekeyed: number }[] = [];
  for (const [id, map] of libMaps)
    libraries.push({ id, rekeyed: await rekeyLibrary(trx, id, (k) => map.get(k) as string) });
  const becomingClear = [...libMaps.keys()];
  const decrypted = { resourceId, fields: conv.map((x) => x.f.code) };
  const joinIndexDropped: { resourceId: number; field: string }[] = [];
  for (const l of shared.filter((x) => libMaps.has(x.libraryId)))
    for (const s of l.sources) {
      if (!s.field.joinIndexed || s.field.encrypted) continue;
      if (joinIndexDropped.some((j) => j.resourceId === s.resourceId && j.field === s.field.code)) continue;
      if (await joinIndexNeeded(trx, s.resourceId, s.field.code, decrypted, becomingClear)) continue;
      await dropJoinIndex(trx, s.resourceId, tables.get(s.resourceId) as string, s.field, {
        libraryId: l.libraryId,
        decryptedWith: resourceId,
      });
      joinIndexDropped.push({ resourceId: s.resourceId, field: s.field.code });
    }
  // a library keeping the key hashed (another source stores it encrypted): the resource is now one of its clear sources,
  // its join field (the record key or a non-key field) indexed once
  const hashed = shared.filter((x) => x.staysHashed);
  const joinIndexed: { resourceId: number; field: string; rows: number }[] = [];
  for (const code of new Set(hashed.map((h) => h.ownField))) {
    const field = fields.find((f) => f.code === code) as StoredField;
    const on = hashed.filter((h) => h.ownField === code);
    const rows = await addJoinIndex(trx, keys, resourceId, table, field, {
      libraryId: on[0].libraryId,
      libraries: on.map((h) => h.libraryId),
    });
    joinIndexed.push({ resourceId, field: code, rows });
  }
  return {
    libraries,
    ...(joinIndexed.length ? { joinIndexed } : {}),
    ...(joinIndexDropped.length ? { joinIndexDropped } : {}),
    ...(hashed.length ? { librariesStillHashed: hashed.map((h) => h.libraryId) } : {}),
  };
}

type Keys = AppContext['fieldKeys'];

/**
 * Every record key the resource stored as a keyed hash (table, record_history, record_change), mapped back to its clear
 * form: the key fields' values joined by `|` as ingest builds the key (src/ingest/model.ts), the encrypted ones
 * decrypted, the clear ones printed as ingest normalised them. A live record's key comes from its key columns, a key
 * only history and the change feed know (a deleted record) from its versions in record_history. A pair is kept only if
 * the clear key hashes to the stored one. A stored hash left without a clear key (its versions gone) refuses the job:
 * KEY_DECRYPTION_UNMAPPED, nothing rewritten.
 */
export async function clearKeys(
  trx: Tx,
  resourceId: number,
  table: string,
  fields: StoredField[],
  keys: Keys,
  /** the keyed hash the resource's keys are stored under (its own index-key version) */
  index: (v: string) => string,
): Promise<Map<string, string>> {
  const keyIdx = fields.flatMap((f, i) => (f.isKey ? [i] : []));
  const out = new Map<string, string>();
  const add = (hash: string, r: Record<string, unknown>) => {
    if (out.has(hash)) return;
    const parts = keyIdx.map((i) => {
      const v = r[`k${i}`];
      if (v === null || v === undefined) return null;
      return fields[i].encrypted ? (keys.decrypt(v) as string | null) : String(v);
    });
    if (parts.some((p) => p === null)) return;
    const clear = parts.join('|');
    if (index(clear) === hash) out.set(hash, clear);
  };
  const live = fields.map((f) => f.columnName);
  const tableCols = keyIdx.map((i) =>
    fields[i].encrypted ? `${live[i]} AS k${i}` : `${normalisedText(fields[i], live[i])} AS k${i}`,
  );
  for await (const rows of tableChunks(trx, table, ['_key', ...tableCols]))
    for (const r of rows) add(String(r._key), r);
  // keys no live record holds: from their versions (one version a key is enough)
  const histCols = keyIdx.map((i) =>
    fields[i].encrypted
      ? `h.data->>${i} AS k${i}`
      : `${normalisedText(fields[i], `(h.data->>${i})::${SQL_TYPES[fields[i].type]}`)} AS k${i}`,
  );
  const hist = (
    await trx.executeQuery<Record<string, unknown>>(
      CompiledQuery.raw(
        `SELECT DISTINCT ON (h.rkey) h.rkey, ${histCols.join(', ')} FROM record_history h
         WHERE h.resource_id = $1 AND NOT EXISTS (SELECT 1 FROM ${table} t WHERE t._key = h.rkey)
         ORDER BY h.rkey, h.version DESC`,
        [resourceId],
      ),
    )
  ).rows;
  for (const r of hist) add(String(r.rkey), r);
  const stored = await sql<{ k: string }>`
    SELECT _key AS k FROM ${sql.raw(table)}
    UNION SELECT rkey FROM record_history WHERE resource_id = ${resourceId}
    UNION SELECT rkey FROM record_change WHERE resource_id = ${resourceId}`.execute(trx);
  const missing = stored.rows.filter((r) => !out.has(r.k)).length;
  if (missing)
    throw new AppError('KEY_DECRYPTION_UNMAPPED', [
      {
        field: 'resourceId',
        reason: `${missing} stored record key(s) cannot be traced back to a clear key (no live record and no version in record_history holds it)`,
        reasonZh: `有 ${missing} 个已存储的记录键无法还原为明文主键（现有记录与历史版本中均无对应值）`,
      },
    ]);
  return out;
}

export { normalisedText } from './index-text.js';

const plain = (keys: Keys, v: unknown) =>
  v === null || v === undefined ? null : (keys.decrypt(v) as string | null);

/**
 * The resource table: each column's values decrypted in place, then the column back to the field's own SQL type and
 * its keyed-hash column (and index) dropped; `_hash` recomputed unkeyed when no encrypted field is left.
 */
async function decryptTable(
  trx: Tx,
  table: string,
  fields: StoredField[],
  conv: Indexed[],
  keys: Keys,
  clearHash: boolean,
) {
  const converted = new Set(conv.map((x) => x.i));
  const cols = conv.map((x) => x.f.columnName);
  // every field's value when the hash is recomputed: decrypted ones from the column, the others normalised in SQL
  const read = clearHash
    ? fields.map((f, i) => (converted.has(i) ? f.columnName : `${normalisedText(f, f.columnName)} AS v${i}`))
    : cols;
  let total = 0;
  for await (const rows of tableChunks(trx, table, read)) {
    const values = cols.map((c) => rows.map((r) => plain(keys, r[c])));
    const set: [string, (string | null)[]][] = cols.map((c, k) => [c, values[k]]);
    if (clearHash)
      set.push([
        '_hash',
        rows.map((r, k) =>
          recordHash(
            fields.map((f, i) =>
              converted.has(i)
                ? values[cols.indexOf(f.columnName)][k]
                : ((r[`v${i}`] as string | null | undefined) ?? null),
            ),
          ),
        ),
      ]);
    await updateChunk(trx, table, rows, set);
    total += rows.length;
  }
  for (const { f } of conv) {
    const type = SQL_TYPES[f.type];
    await sql
      .raw(
        `ALTER TABLE ${table} ALTER COLUMN ${f.columnName} TYPE ${type} USING ${f.columnName}::${type};
         ALTER TABLE ${table} DROP COLUMN ${indexColumn(f.columnName)}`,
      )
      .execute(trx);
  }
  return total;
}

/**
 * record_history: the decrypted values put back in clear, their lookup indexes removed from the tail (storageColumns
 * keeps the indexes of the encrypted fields only), `rhash` recomputed unkeyed when no encrypted field is left.
 */
function decryptHistory(
  trx: Tx,
  resourceId: number,
  fields: StoredField[],
  conv: Indexed[],
  keys: Keys,
  clearHash: boolean,
) {
  const n = fields.length;
  const before = fields.flatMap((f, i) => (f.encrypted ? [i] : []));
  const converted = new Set(conv.map((x) => x.i));
  const afterEnc = before.filter((i) => !converted.has(i));
  // the clear fields' values as ingest normalised them, for the recomputed hash (history keeps them as `::text`)
  const normal = fields.map((f, i) =>
    f.encrypted ? `data->${i}` : `to_jsonb(${normalisedText(f, `(data->>${i})::${SQL_TYPES[f.type]}`)})`,
  );
  return rewriteHistory(trx, resourceId, clearHash ? normal : null, (h) => {
    const vals = Array.from({ length: n }, (_, i) => h.data[i] ?? null);
    const oldIdx = h.data.slice(n);
    for (const i of converted) vals[i] = plain(keys, vals[i]);
    const indexes = afterEnc.map((i) => oldIdx[before.indexOf(i)] ?? null);
    return {
      data: [...vals, ...indexes],
      rhash:
        clearHash && h.normal
          ? recordHash(fields.map((_, i) => (converted.has(i) ? vals[i] : (h.normal?.[i] ?? null))))
          : undefined,
    };
  });
}

/**
 * Quarantined rows: the fields' values decrypted (by code, or by position in a duplicate row moved from staging, whose
 * lookup indexes are dropped as in history); the raw cells of a ragged row decrypted once no encrypted field is left.
 */
function decryptQuarantine(
  trx: Tx,
  resourceId: number,
  fields: StoredField[],
  conv: Indexed[],
  keys: Keys,
  raw: boolean,
) {
  const n = fields.length;
  const before = fields.flatMap((f, i) => (f.encrypted ? [i] : []));
  const converted = new Set(conv.map((x) => x.i));
  return rewriteQuarantine(trx, resourceId, (vals) => {
    if (Array.isArray(vals)) {
      const a = vals.slice();
      for (const i of converted) a[i] = plain(keys, a[i]);
      // the staging layout: values, then the index of each encrypted field; the decrypted fields' indexes go
      return a.length === n + before.length
        ? [...a.slice(0, n), ...before.flatMap((i, k) => (converted.has(i) ? [] : [a[n + k]]))]
        : a;
    }
    const o = { ...(vals as Record<string, unknown>) };
    for (const { f } of conv) if (isCiphertext(o[f.code])) o[f.code] = keys.decrypt(o[f.code]);
    if (raw && isCiphertext(o._cells)) o._cells = JSON.parse(String(keys.decrypt(o._cells)));
    if (raw && isCiphertext(o._raw)) o._raw = keys.decrypt(o._raw);
    return o;
  });
}

/** Decrypting: ciphertexts back to clear. */
const decryptBaseLibraries = (trx: Tx, resourceId: number, conv: Indexed[], keys: Keys) =>
  rewriteBaseLibraries(trx, resourceId, conv, (v) => (isCiphertext(v) ? keys.decrypt(v) : undefined));
