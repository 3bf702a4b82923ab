import { CompiledQuery, sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import { getFields, type StoredField } from '../catalog/store.js';
import { type Actor, type AppContext, hasRole } from '../context.js';
import { inTx, type Tx } from '../db/index.js';
import { AppError } from '../shared/errors.js';
import { CIPHER_NAMES, isCiphertext } from './field-cipher.js';

/*
 * Key rotation and status (docs/ENCRYPTION.md). Separated duties (GB/T 39477): the platform administrator rotates, the
 * auditor and the administrator read the status; every rotation is audited.
 *   data key (DEK) rotation — a new version of the resource's data key is active at once (new writes use it); the job
 *     `keys.reencrypt` rewrites the older values of the resource table, record_history and ingest_quarantine in batches of one
 *     transaction each, while reads keep working (every version stays loadable); when none is left the older versions
 *     are retired (audited `key.reencrypted`). Re-encryption is not a data change: no version, hash or change-feed row.
 *   KEK rotation — the operator configures the new key first (current) with the old one still listed; `rotateKek`
 *     re-wraps every data key under the current KEK; no value is rewritten. Then the old KEK can be removed.
 */

export const REENCRYPT_JOB = 'keys.reencrypt';
const BATCH = 500;

export function canRotate(actor: Actor) {
  return actor.orgKind === 'authority' && hasRole(actor, 'platform_admin');
}

function canReadStatus(actor: Actor) {
  return canRotate(actor) || hasRole(actor, 'auditor');
}

async function encryptedFieldsOf(db: Tx | AppContext['db'], resourceId: number) {
  return (await getFields(db, resourceId)).filter((f) => f.encrypted);
}

/** Values of a column not under the resource's active version and the configured cipher (SQL LIKE pattern). */
const currentPrefix = (alg: string, resourceId: number, version: number) =>
  `ENC1.${alg}.${resourceId}.${version}.%`;

export async function tableOf(db: Tx | AppContext['db'], resourceId: number) {
  const r = await db
    .selectFrom('resource')
    .select(['data_table'])
    .where('id', '=', resourceId)
    .executeTakeFirst();
  if (!r?.data_table || !/^ds\.r_[0-9]+$/.test(r.data_table)) throw new AppError('NOT_FOUND');
  return r.data_table;
}

/** A stored ciphertext of this resource (POSIX regex, the SQL form of field-cipher's CIPHERTEXT). */
const ciphertextOf = (resourceId: number) =>
  `^ENC1\\.[sa]\\.${resourceId}\\.[0-9]{1,6}\\.[A-Za-z0-9_-]{20,}$`;

/** Where a quarantined row keeps encrypted values: the encrypted fields (by code, or by position), the raw cells. */
const quarantineSlots = (enc: { f: StoredField; i: number }[], array: boolean): (string | number)[] =>
  array ? enc.map((e) => e.i) : [...enc.map((e) => e.f.code), '_cells', '_raw'];

/** SQL: a quarantined row `q` holding a ciphertext of the resource ($3) not under the active version ($1). */
const quarantineStale = (enc: { f: StoredField; i: number }[]) =>
  [
    ...quarantineSlots(enc, false).map((k) => `(q.vals->>'${k.toString().replace(/'/g, "''")}')`),
    ...quarantineSlots(enc, true).map((k) => `(q.vals->>${Number(k)})`),
  ]
    .map((x) => `(${x} ~ $3 AND ${x} NOT LIKE $1)`)
    .join(' OR ');

/** A new data key version for a resource; its older values are re-encrypted by the job. */
export async function rotateDataKey(ctx: AppContext, actor: Actor | null, resourceId: number) {
  if (actor && !canRotate(actor)) throw new AppError('FORBIDDEN');
  const enc = await encryptedFieldsOf(ctx.db, resourceId);
  if (!enc.length)
    throw new AppError('VALIDATION_FAILED', [
      {
        field: 'resourceId',
        reason: 'the resource has no encrypted field',
        reasonZh: '该资源没有加密存储的信息项',
      },
    ]);
  await tableOf(ctx.db, resourceId);
  // the first key is created by the resource's first write; make sure there is one to rotate from
  await ctx.fieldKeys.writer(resourceId);
  const version = await inTx(ctx.db, async (trx) => {
    await sql`SELECT id FROM resource WHERE id = ${resourceId} FOR UPDATE`.execute(trx);
    const v = await ctx.fieldKeys.newVersion(trx, resourceId);
    await appendAudit(trx, {
      action: 'key.rotate',
      decision: 'allow',
      actorUserId: actor?.id ?? null,
      actorOrgId: actor?.orgId ?? null,
      clientIp: actor?.clientIp ?? null,
      resourceId,
      targetType: 'field_key',
      targetId: `${resourceId}:${v}`,
      detail: { version: v, cipher: CIPHER_NAMES[ctx.fieldKeys.alg], via: actor ? 'console' : 'cli' },
    });
    await ctx.jobs.schedule(trx, {
      kind: REENCRYPT_JOB,
      key: `r${resourceId}`,
      runAt: ctx.clock.now(),
      payload: { resourceId },
    });
    return v;
  });
  ctx.fieldKeys.invalidate();
  await ctx.fieldKeys.refresh(true, ctx.db);
  return { resourceId, version };
}

/**
 * One batch of re-encryption (one transaction): rows of the resource table, then of record_history, then of
 * ingest_quarantine, whose encrypted values are not under the active version. Returns how many rows it rewrote (0: done, older versions retired).
 */
export async function reencryptStep(ctx: AppContext, resourceId: number, batch = BATCH): Promise<number> {
  await ctx.fieldKeys.refresh(true, ctx.db);
  const w = await ctx.fieldKeys.writer(resourceId);
  const all = await getFields(ctx.db, resourceId);
  let enc = all.map((f, i) => ({ f, i })).filter((x) => x.f.encrypted);
  // no encrypted field left (keys.decrypt turned the last one back to clear): nothing to re-encrypt, retire
  if (!enc.length) return inTx(ctx.db, (trx) => retireOlder(trx, resourceId, w.version, true));
  const table = await tableOf(ctx.db, resourceId);
  const pattern = currentPrefix(w.alg, resourceId, w.version);
  const stale = (alias: string, expr: (c: StoredField, i: number) => string) =>
    enc.map(({ f, i }) => `(${expr(f, i)} IS NOT NULL AND ${expr(f, i)} NOT LIKE $1)`).join(' OR ') +
    (alias ? '' : '');
  const again = (v: unknown) =>
    v === null || v === undefined ? null : w.encrypt(String(ctx.fieldKeys.decrypt(v)));
  return inTx(ctx.db, async (trx) => {
    // the fields again once the table can be read: a decryption back to clear storage (key-convert.ts, holding the
    // table exclusively) that committed meanwhile leaves clear values this step must not encrypt
    await sql.raw(`LOCK TABLE ${table} IN ROW SHARE MODE`).execute(trx);
    const still = new Set((await getFields(trx, resourceId)).filter((f) => f.encrypted).map((f) => f.code));
    enc = enc.filter((x) => still.has(x.f.code));
    if (!enc.length) return retireOlder(trx, resourceId, w.version, true);
    const rows = (
      await trx.executeQuery<Record<string, unknown>>(
        CompiledQuery.raw(
          `SELECT _seq, ${enc.map(({ f }) => f.columnName).join(', ')} FROM ${table} t
           WHERE ${stale('t', (f) => `t.${f.columnName}`)} ORDER BY _seq LIMIT ${Number(batch)} FOR UPDATE`,
          [pattern],
        ),
      )
    ).rows;
    if (rows.length) {
      const cols = enc.map(({ f }) => rows.map((r) => again(r[f.columnName])));
      await trx.executeQuery(
        CompiledQuery.raw(
          `UPDATE ${table} t SET ${enc.map(({ f }, k) => `${f.columnName} = u.v${k}`).join(', ')}
           FROM unnest($1::bigint[], ${enc.map((_, k) => `$${k + 2}::text[]`).join(', ')}) AS u(seq, ${enc
             .map((_, k) => `v${k}`)
             .join(', ')}) WHERE t._seq = u.seq`,
          [rows.map((r) => String(r._seq)), ...cols],
        ),
      );
      return rows.length;
    }
    const hist = (
      await trx.executeQuery<{
        rkey: string;
        version: number;
        replaced_by_batch: string;
        data: (string | null)[];
      }>(
        CompiledQuery.raw(
          `SELECT rkey, version, replaced_by_batch, data FROM record_history h WHERE h.resource_id = $2
           AND (${stale('h', (_f, i) => `(h.data->>${i})`)}) LIMIT ${Number(batch)} FOR UPDATE`,
          [pattern, resourceId],
        ),
      )
    ).rows;
    if (hist.length) {
      for (const h of hist) {
        const data = h.data.slice();
        for (const { i } of enc) data[i] = again(data[i]) as string | null;
        await trx
          .updateTable('record_history')
          .set({ data: JSON.stringify(data) })
          .where('resource_id', '=', resourceId)
          .where('rkey', '=', h.rkey)
          .where('version', '=', h.version)
          .where('replaced_by_batch', '=', Number(h.replaced_by_batch))
          .execute();
      }
      return hist.length;
    }
    // quarantined rows (any status: a resolved row still holds its values) — values by field code, the duplicate rows
    // moved from staging as an array by position, and the whole-row encrypted raw cells of a ragged row
    const qRows = (
      await trx.executeQuery<{ id: string; vals: unknown }>(
        CompiledQuery.raw(
          `SELECT id, vals FROM ingest_quarantine q WHERE q.resource_id = $2 AND (${quarantineStale(enc)})
           ORDER BY id LIMIT ${Number(batch)} FOR UPDATE`,
          [pattern, resourceId, ciphertextOf(resourceId)],
        ),
      )
    ).rows;
    if (qRows.length) {
      for (const q of qRows) {
        const vals = Array.isArray(q.vals) ? q.vals.slice() : { ...(q.vals as Record<string, unknown>) };
        for (const k of quarantineSlots(enc, Array.isArray(vals))) {
          const v = (vals as Record<string | number, unknown>)[k];
          if (isCiphertext(v) && !v.startsWith(pattern.slice(0, -1)))
            (vals as Record<string | number, unknown>)[k] = again(v);
        }
        await trx
          .updateTable('ingest_quarantine')
          .set({ vals: JSON.stringify(vals) })
          .where('id', '=', Number(q.id))
          .execute();
      }
      return qRows.length;
    }
    return retireOlder(trx, resourceId, w.version, false);
  });
}

/**
 * Nothing is left under an older version: the retiring versions are retired (audited `key.reencrypted`; `decrypted`
 * when it is because no field of the resource is encrypted any more). They stay loadable. Returns 0 (the step's "done").
 */
async function retireOlder(trx: Tx, resourceId: number, version: number, decrypted: boolean) {
  const retired = await trx
    .updateTable('field_key')
    .set({ state: 'retired', retired_at: new Date() })
    .where('scope_id', '=', resourceId)
    .where('state', '=', 'retiring')
    .returning('version')
    .execute();
  if (retired.length)
    await appendAudit(trx, {
      action: 'key.reencrypted',
      decision: 'allow',
      resourceId,
      targetType: 'field_key',
      targetId: `${resourceId}:${version}`,
      detail: { version, retired: retired.map((r) => r.version), ...(decrypted ? { decrypted: true } : {}) },
    });
  return 0;
}

/** The job: batches until every value is on the active version (a crash resumes where the values say). */
export async function reencryptJob(ctx: AppContext, payload: { resourceId: number }) {
  while ((await reencryptStep(ctx, payload.resourceId)) > 0) {}
}

/** Re-wraps every data key under the current KEK (after the operator configured a new one). */
export async function rotateKek(ctx: AppContext, actor: Actor | null) {
  if (actor && !canRotate(actor)) throw new AppError('FORBIDDEN');
  const out = await inTx(ctx.db, async (trx) => {
    const r = await ctx.fieldKeys.rewrapAll(trx);
    await appendAudit(trx, {
      action: 'key.rotateKek',
      decision: r.unreadable ? 'deny' : 'allow',
      actorUserId: actor?.id ?? null,
      actorOrgId: actor?.orgId ?? null,
      clientIp: actor?.clientIp ?? null,
      targetType: 'kek',
      targetId: ctx.fieldKeys.kekId,
      detail: { ...r, via: actor ? 'console' : 'cli' },
    });
    return r;
  });
  ctx.fieldKeys.invalidate();
  await ctx.fieldKeys.refresh(true, ctx.db);
  return { kek: ctx.fieldKeys.kekId, ...out };
}

/** What is encrypted under which key, and what is left to re-encrypt or re-wrap (administrator and auditor). */
export async function keyStatus(ctx: AppContext, actor: Actor | null) {
  if (actor && !canReadStatus(actor)) throw new AppError('FORBIDDEN');
  await ctx.fieldKeys.refresh(false, ctx.db);
  const keys = await ctx.db
    .selectFrom('field_key')
    .selectAll()
    .orderBy('scope_id')
    .orderBy('version')
    .execute();
  const resources = await ctx.db
    .selectFrom('resource_field as f')
    .innerJoin('resource as r', 'r.id', 'f.resource_id')
    .select([
      'r.id',
      'r.code',
      'r.name',
      'r.data_table',
      'f.code as field',
      'f.name as field_name',
      'f.encrypted',
    ])
    // a field unflagged but still stored encrypted (its decryption job has not run) is listed as encrypted
    .where((eb) => eb.or([eb('f.sensitive_personal', '=', true), eb('f.encrypted', '=', true)]))
    .orderBy('r.id')
    .orderBy('f.ordinal')
    .execute();
  const byResource = new Map<
    number,
    { id: number; code: string; name: string; fields: { code: string; name: string; encrypted: boolean }[] }
  >();
  for (const r of resources) {
    const e = byResource.get(r.id) ?? { id: r.id, code: r.code, name: r.name, fields: [] };
    e.fields.push({ code: r.field, name: r.field_name, encrypted: r.encrypted });
    byResource.set(r.id, e);
  }
  const out = [];
  for (const e of byResource.values()) {
    const versions = keys.filter((k) => Number(k.scope_id) === e.id);
    const active = versions.find((k) => k.state === 'active')?.version ?? null;
    let pending = 0;
    const enc = (await encryptedFieldsOf(ctx.db, e.id)).filter(Boolean);
    if (active !== null && enc.length) {
      const table = await tableOf(ctx.db, e.id);
      const { rows } = await ctx.db.executeQuery<{ n: number }>(
        CompiledQuery.raw(
          `SELECT count(*)::int AS n FROM ${table} t WHERE ${enc
            .map((f) => `(t.${f.columnName} IS NOT NULL AND t.${f.columnName} NOT LIKE $1)`)
            .join(' OR ')}`,
          [currentPrefix(ctx.fieldKeys.alg, e.id, active)],
        ),
      );
      pending = rows[0].n;
      const all = (await getFields(ctx.db, e.id)).map((f, i) => ({ f, i })).filter((x) => x.f.encrypted);
      const q = await ctx.db.executeQuery<{ n: number }>(
        CompiledQuery.raw(
          `SELECT count(*)::int AS n FROM ingest_quarantine q WHERE q.resource_id = $2 AND (${quarantineStale(all)})`,
          [currentPrefix(ctx.fieldKeys.alg, e.id, active), e.id, ciphertextOf(e.id)],
        ),
      );
      pending += q.rows[0].n;
    }
    out.push({
      ...e,
      version: active,
      versions: versions.map((k) => ({
        version: k.version,
        state: k.state,
        alg: k.alg,
        kek: k.kek_id,
        createdAt: k.created_at,
        // the version was rotated out when the next one was created; retired when none of its values was left
        rotatedAt: versions.find((n) => n.version === k.version + 1)?.created_at ?? null,
        retiredAt: k.retired_at,
      })),
      pending,
    });
  }
  // the lookup-index key's versions, how many resources each holds, and how many are left to convert (rotation)
  const onVersion = await ctx.db
    .selectFrom('resource')
    .select(['index_key', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('index_key')
    .execute();
  const indexKeys = keys.filter((k) => Number(k.scope_id) === 0 && k.purpose === 'index');
  const indexActive = indexKeys.find((k) => k.state === 'active')?.version ?? 1;
  const index = {
    version: indexActive,
    alg: indexKeys.find((k) => k.state === 'active')?.alg ?? null,
    versions: indexKeys.map((k) => ({
      version: k.version,
      state: k.state,
      alg: k.alg,
      kek: k.kek_id,
      createdAt: k.created_at,
      retiredAt: k.retired_at,
      resources: Number(onVersion.find((o) => o.index_key === k.version)?.n ?? 0),
    })),
    resourcesLeft: onVersion.filter((o) => o.index_key < indexActive).reduce((a, o) => a + Number(o.n), 0),
  };
  const byKek: Record<string, number> = {};
  for (const k of keys) byKek[k.kek_id] = (byKek[k.kek_id] ?? 0) + 1;
  return {
    cipher: CIPHER_NAMES[ctx.fieldKeys.alg],
    kek: {
      current: ctx.fieldKeys.kekId,
      configured: ctx.fieldKeys.kekIds,
      keysByKek: byKek,
      toRewrap: keys.filter((k) => k.kek_id !== ctx.fieldKeys.kekId).length,
    },
    index,
    resources: out,
  };
}
