import { CompiledQuery, sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import { indexColumn, SQL_TYPES } from '../catalog/model.js';
import { getFields, type StoredField } from '../catalog/store.js';
import type { Actor, AppContext } from '../context.js';
import { forgetResourceMeta } from '../dataapi/service.js';
import { type Db, inTx, type Tx } from '../db/index.js';
import { recordHash } from '../ingest/model.js';
import { AppError } from '../shared/errors.js';
import { INDEX_HASH } from './field-cipher.js';
import { rewriteHistory, rewriteQuarantine, tableChunks, updateChunk } from './history-walk.js';
import { indexText, normalisedText } from './index-text.js';
import { assertNoImport, clearKeys } from './key-convert.js';
import { canRotate } from './key-service.js';
import { type RekeyPart, rekeyResource } from './rekey.js';

/*
 * Rotating the platform's lookup-index key without downtime (docs/ENCRYPTION.md "Rotating the lookup-index key").
 *
 * The index key (scope 0 in field_key) makes every `c<n>_h`, every hashed `_key` (record_history / record_change rkeys,
 * the feed's pseudonym table), the keyed `_hash` / `rhash` and the keys of base libraries joined on an encrypted field.
 * Its versions: `active` (what a resource created from now on is put on), `retiring` (resources still on it), `retired`
 * (no resource left on it; kept, loaded, for leak tracing by key of exports delivered under it — the ledger is evidence
 * and is not rewritten). A stored hash names its version (`H<n>.`); `resource.index_key` says which version a resource's
 * hashes are under, and every by-key lookup of the resource hashes under that one.
 *
 *   start  — `rotateIndexKey` (platform admin, `POST /api/security/keys/index/rotate`, `govshare keys rotate-index`):
 *            a new version, wrapped by the KEK like the others, becomes active; the one before becomes retiring; audited
 *            `key.rotateIndex` (a refusal too); queues the job `keys.rotateIndex`.
 *   walk   — the job converts the resources still on an older version, a GROUP per transaction: a resource together
 *            with every resource base libraries join it with (transitively), since a library's keys are its sources'
 *            hashes and must move together. The transaction holds the resource rows (`FOR UPDATE`, in id order) and
 *            their tables (`ACCESS EXCLUSIVE`, id order) — the same pause as `keys.encrypt`, per group — and rewrites:
 *            every `c<n>_h` (table, record_history's tail, duplicate rows in ingest_quarantine), `_hash` / `rhash`
 *            (recomputed from the values, as `keys.decrypt` does), a hashed `_key` with rekey.ts (old hash → new hash of
 *            the clear key, found as keys.decrypt finds it: the key columns for live records, record_history for
 *            deleted ones), the keys of the libraries (records and conflicts, old hash → new hash), and switches
 *            `resource.index_key` — audited `key.indexConverted` per resource. A failure leaves the whole group as it
 *            was; the job retries and resumes with what is left (the versions say).
 *   end    — no resource left on an older version: the retiring versions become retired, audited `key.indexRotated`.
 */

export const ROTATE_INDEX_JOB = 'keys.rotateIndex';
const INDEX_SCOPE = 0;

type Keys = AppContext['fieldKeys'];

function auditStart(
  db: Db | Tx,
  actor: Actor | null,
  decision: 'allow' | 'deny',
  targetId: string,
  detail: Record<string, unknown>,
) {
  return appendAudit(db, {
    action: 'key.rotateIndex',
    decision,
    actorUserId: actor?.id ?? null,
    actorOrgId: actor?.orgId ?? null,
    clientIp: actor?.clientIp ?? null,
    targetType: 'field_key',
    targetId,
    detail: { ...detail, via: actor ? 'console' : 'cli' },
  });
}

/** Resources whose hashes are under an older index-key version than `version` (left for the walk). */
async function leftCount(db: Db | Tx, version: number): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM resource WHERE index_key < ${version}`.execute(db);
  return rows[0].n;
}

/**
 * The administrator starts a rotation: a new index-key version, active for new resources at once; every existing
 * resource keeps looking up under its own until the job converts it. Refused (audited) for anyone but the platform
 * administrator, and while an earlier rotation is still walking (INDEX_KEY_ROTATION_RUNNING).
 */
export async function rotateIndexKey(ctx: AppContext, actor: Actor | null) {
  if (actor && !canRotate(actor)) {
    await auditStart(ctx.db, actor, 'deny', String(INDEX_SCOPE), { code: 'FORBIDDEN' });
    throw new AppError('FORBIDDEN').alreadyAudited();
  }
  await ctx.fieldKeys.refresh(true, ctx.db);
  const out = await inTx(ctx.db, async (trx) => {
    // one rotation at a time: the active version's row orders concurrent starts
    await sql`SELECT version FROM field_key WHERE scope_id = ${INDEX_SCOPE} AND purpose = 'index' AND state = 'active'
      FOR UPDATE`.execute(trx);
    const running = await trx
      .selectFrom('field_key')
      .select('version')
      .where('scope_id', '=', INDEX_SCOPE)
      .where('purpose', '=', 'index')
      .where('state', '=', 'retiring')
      .executeTakeFirst();
    if (running) return { refused: running.version };
    const version = await ctx.fieldKeys.newIndexVersion(trx);
    const resources = await leftCount(trx, version);
    await auditStart(trx, actor, 'allow', `${INDEX_SCOPE}:${version}`, {
      version,
      previous: version - 1,
      alg: INDEX_HASH,
      resources,
    });
    await ctx.jobs.schedule(trx, {
      kind: ROTATE_INDEX_JOB,
      key: 'index',
      runAt: ctx.clock.now(),
      payload: { version },
    });
    return { version, resources };
  });
  if ('refused' in out) {
    await auditStart(ctx.db, actor, 'deny', String(INDEX_SCOPE), {
      code: 'INDEX_KEY_ROTATION_RUNNING',
      retiring: out.refused,
    });
    throw new AppError('INDEX_KEY_ROTATION_RUNNING', [
      {
        field: 'indexKey',
        reason: `index-key version ${out.refused} is still being rotated out`,
        reasonZh: `检索索引密钥版本 ${out.refused} 的轮换尚未完成`,
      },
    ]).alreadyAudited();
  }
  ctx.fieldKeys.invalidate();
  await ctx.fieldKeys.refresh(true, ctx.db);
  return { version: out.version, resourcesLeft: out.resources, job: ROTATE_INDEX_JOB };
}

/** The job: converts every resource left, one group per transaction, then retires the older versions. */
export async function rotateIndexJob(ctx: AppContext) {
  await ctx.fieldKeys.refresh(true, ctx.db);
  for (;;) {
    const to = await activeVersion(ctx.db);
    const next = await ctx.db
      .selectFrom('resource')
      .select('id')
      .where('index_key', '<', to)
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
    if (!next) break;
    await convertGroup(ctx, await groupOf(ctx.db, next.id), to);
  }
  await finishRotation(ctx);
}

async function activeVersion(db: Db | Tx): Promise<number> {
  const r = await db
    .selectFrom('field_key')
    .select('version')
    .where('scope_id', '=', INDEX_SCOPE)
    .where('purpose', '=', 'index')
    .where('state', '=', 'active')
    .executeTakeFirst();
  return r?.version ?? 1;
}

/**
 * The resource and every resource base libraries join it with, transitively: a library's keys are the hashes of its
 * sources' key columns, and its assembly compares their hashes, so they change version together.
 */
export async function groupOf(db: Db | Tx, resourceId: number): Promise<number[]> {
  const links = await db.selectFrom('base_library_source').select(['library_id', 'resource_id']).execute();
  const group = new Set([resourceId]);
  for (let grew = true; grew; ) {
    grew = false;
    const libs = new Set(
      links.filter((l) => group.has(Number(l.resource_id))).map((l) => Number(l.library_id)),
    );
    for (const l of links)
      if (libs.has(Number(l.library_id)) && !group.has(Number(l.resource_id))) {
        group.add(Number(l.resource_id));
        grew = true;
      }
  }
  return [...group].sort((a, b) => a - b);
}

/** A test's hook: called inside a group's transaction after its resources were rewritten, before the switch. */
export const rotationHooks: { beforeSwitch?: (resourceIds: number[]) => void | Promise<void> } = {};

/** The parts of a group's pause a bench times (bench/encryption.ts): see `convertGroup`'s `timing`. */
export type RotationPart =
  | 'other'
  | 'clearKeys'
  | 'table'
  | 'history'
  | 'quarantine'
  | 'libraries'
  | `rekey.${RekeyPart}`;

/**
 * Converts a group of resources to index-key version `to` in ONE transaction (see the head of this file). Returns the
 * ids converted (empty: nothing was left, so a re-run after a commit is a no-op). `timing` (a bench's; nothing is timed
 * without it) receives the ms of each part: `clearKeys` (every stored key hash traced to its clear key), `table`,
 * `history`, `quarantine`, `rekey.<part>` (rekeyResource's own parts), `libraries` and `other` (locks, reading the fields, the switch).
 */
export async function convertGroup(
  ctx: AppContext,
  ids: number[],
  to: number,
  opts: { timing?: (part: RotationPart, ms: number) => void } = {},
): Promise<number[]> {
  const keys = ctx.fieldKeys;
  let t = performance.now();
  const lap = (part: RotationPart) => {
    if (!opts.timing) return;
    const now = performance.now();
    opts.timing(part, now - t);
    t = now;
  };
  await keys.ensureIndex(to, ctx.db);
  const done = await inTx(ctx.db, async (trx) => {
    const rows = (
      await sql<{ id: number; index_key: number; data_table: string | null }>`
        SELECT id, index_key, data_table FROM resource WHERE id = ANY (${ids}::bigint[]) ORDER BY id FOR UPDATE`.execute(
        trx,
      )
    ).rows.map((r) => ({ ...r, id: Number(r.id) }));
    const members = rows.filter((r) => r.index_key < to);
    if (!members.length) return [];
    const tables = members.flatMap((m) =>
      m.data_table && /^ds\.r_[0-9]+$/.test(m.data_table) ? [m.data_table] : [],
    );
    if (tables.length) await sql.raw(`LOCK TABLE ${tables.join(', ')} IN ACCESS EXCLUSIVE MODE`).execute(trx);
    // old lookup hash → new, over the whole group: the libraries' keys are some of them
    const moved = new Map<string, string>();
    for (const m of members) {
      const fields = m.data_table ? await getFields(trx, m.id) : [];
      if (!m.data_table || !fields.some((f) => f.encrypted)) {
        // a clear source of a hash-keyed library: its join index only (`_hash` stays unkeyed, history keeps no index)
        const joined = m.data_table && fields.some((f) => f.joinIndexed);
        const n = joined
          ? await rehashTable(
              trx,
              m.data_table as string,
              fields,
              keys,
              (v) => keys.index(v, to),
              moved,
              false,
            )
          : 0;
        await switchVersion(trx, m.id, m.index_key, to, { rows: n, hashes: !!joined });
        continue;
      }
      // an import staged under the old version would merge old hashes (the merge refuses that too, pipeline.ts)
      await assertNoImport(trx, m.id);
      await keys.ensureIndex(m.index_key, trx);
      const from = m.index_key;
      const oldIdx = (v: string) => keys.index(v, from);
      const newIdx = (v: string) => keys.index(v, to);
      const table = m.data_table;
      // the record key's clear form for every stored hash, read before anything is rewritten (keys.decrypt's routine)
      lap('other');
      const clear = fields.some((f) => f.isKey && f.encrypted)
        ? await clearKeys(trx, m.id, table, fields, keys, oldIdx)
        : null;
      lap('clearKeys');
      const n = await rehashTable(trx, table, fields, keys, newIdx, moved);
      lap('table');
      await rehashHistory(trx, m.id, fields, keys, newIdx, moved);
      lap('history');
      await rehashQuarantine(trx, m.id, fields, keys, newIdx);
      lap('quarantine');
      let rekeyed: number | null = null;
      if (clear) {
        const map = new Map([...clear].map(([h, k]) => [h, newIdx(k)]));
        for (const [o, nw] of map) moved.set(o, nw);
        rekeyed = await rekeyResource(trx, {
          resourceId: m.id,
          table,
          map: (k) => map.get(k) as string,
          secret: ctx.secret,
          timing: opts.timing && ((part, ms) => opts.timing?.(`rekey.${part}`, ms)),
        });
        t = performance.now();
      }
      await switchVersion(trx, m.id, from, to, {
        rows: n,
        hashes: true,
        ...(rekeyed === null ? {} : { rekeyed }),
      });
    }
    lap('other');
    const libraries = await rekeyLibraries(trx, ids, moved, to);
    lap('libraries');
    if (libraries.length)
      await appendAudit(trx, {
        action: 'key.indexConverted',
        decision: 'allow',
        targetType: 'base_library',
        targetId: libraries.map((l) => l.id).join(','),
        detail: { to, libraries },
      });
    await rotationHooks.beforeSwitch?.(members.map((m) => m.id));
    return members.map((m) => m.id);
  });
  if (done.length) forgetResourceMeta(ctx);
  return done;
}

async function switchVersion(
  trx: Tx,
  resourceId: number,
  from: number,
  to: number,
  detail: Record<string, unknown>,
) {
  await trx.updateTable('resource').set({ index_key: to }).where('id', '=', resourceId).execute();
  await appendAudit(trx, {
    action: 'key.indexConverted',
    decision: 'allow',
    resourceId,
    targetType: 'resource',
    targetId: resourceId,
    detail: { from, to, ...detail },
  });
}

const plainOf = (keys: Keys, v: unknown) =>
  v === null || v === undefined ? null : String(keys.decrypt(v) as string);

/**
 * The table: every encrypted column's lookup index, every join index (a clear column of a hash-keyed library's source,
 * join-index.ts: the hash of `c<n>::text`) and, when `keyedHash`, the keyed `_hash` under the new version. The values
 * are decrypted (the clear fields printed as ingest normalised them) and `_hash` is ingest's hash of them, keyed.
 */
async function rehashTable(
  trx: Tx,
  table: string,
  fields: StoredField[],
  keys: Keys,
  newIdx: (v: string) => string,
  moved: Map<string, string>,
  keyedHash = true,
): Promise<number> {
  const enc = fields.flatMap((f, i) => (f.encrypted ? [i] : []));
  const joined = fields.flatMap((f, i) => (f.joinIndexed && !f.encrypted ? [i] : []));
  const read = fields.map((f, i) =>
    f.encrypted
      ? `${f.columnName} AS v${i}, ${indexColumn(f.columnName)} AS h${i}`
      : `${normalisedText(f, f.columnName)} AS v${i}${
          joined.includes(i)
            ? `, ${normalisedText(f, f.columnName)} AS j${i}, ${indexColumn(f.columnName)} AS h${i}`
            : ''
        }`,
  );
  let total = 0;
  for await (const rows of tableChunks(trx, table, read)) {
    const clear = rows.map((r) =>
      fields.map((f, i) =>
        f.encrypted ? plainOf(keys, r[`v${i}`]) : ((r[`v${i}`] as string | null) ?? null),
      ),
    );
    const set: [string, (string | null)[]][] = keyedHash
      ? [['_hash', clear.map((c) => newIdx(recordHash(c)))]]
      : [];
    const rehash = (i: number, value: (k: number) => string | null) =>
      set.push([
        indexColumn(fields[i].columnName),
        rows.map((r, k) => {
          const v = value(k);
          // the hash of the value's canonical text (index-text.ts), as ingest and the join index compute it
          const nw = v === null ? null : newIdx(indexText(fields[i], v));
          const old = r[`h${i}`] as string | null;
          if (old && nw) moved.set(old, nw);
          return nw;
        }),
      ]);
    for (const i of enc) rehash(i, (k) => clear[k][i]);
    for (const i of joined) rehash(i, (k) => (rows[k][`j${i}`] as string | null) ?? null);
    if (set.length) await updateChunk(trx, table, rows, set);
    total += rows.length;
  }
  return total;
}

/**
 * record_history: each version's lookup indexes (the tail of `data`, one per encrypted field in field order) and its
 * keyed `rhash`, recomputed from its values as for the table (the shared batched walk, history-walk.ts).
 */
function rehashHistory(
  trx: Tx,
  resourceId: number,
  fields: StoredField[],
  keys: Keys,
  newIdx: (v: string) => string,
  moved: Map<string, string>,
) {
  const n = fields.length;
  const enc = fields.flatMap((f, i) => (f.encrypted ? [i] : []));
  const normal = fields.map((f, i) =>
    f.encrypted ? `data->${i}` : `to_jsonb(${normalisedText(f, `(data->>${i})::${SQL_TYPES[f.type]}`)})`,
  );
  return rewriteHistory(trx, resourceId, normal, (h) => {
    const vals = Array.from({ length: n }, (_, i) => h.data[i] ?? null);
    const clear = fields.map((f, i) => (f.encrypted ? plainOf(keys, vals[i]) : (h.normal?.[i] ?? null)));
    const indexes = enc.map((i, k) => {
      const v = clear[i];
      const nw = v === null ? null : newIdx(indexText(fields[i], v));
      const old = h.data[n + k];
      if (old && nw) moved.set(old, nw);
      return nw;
    });
    return { data: [...vals, ...indexes], rhash: newIdx(recordHash(clear)) };
  });
}

/**
 * Quarantined rows that hold lookup hashes: the duplicate rows moved from staging (an array: the values, then one index
 * per encrypted field). Rows kept by field code hold ciphertext only.
 */
function rehashQuarantine(
  trx: Tx,
  resourceId: number,
  fields: StoredField[],
  keys: Keys,
  newIdx: (v: string) => string,
) {
  const n = fields.length;
  const enc = fields.flatMap((f, i) => (f.encrypted ? [i] : []));
  return rewriteQuarantine(trx, resourceId, (vals) => {
    if (!Array.isArray(vals) || vals.length !== n + enc.length) return undefined;
    const a = vals.slice() as (string | null)[];
    enc.forEach((i, k) => {
      const v = plainOf(keys, a[i]);
      a[n + k] = v === null || v === '' ? a[n + k] : newIdx(indexText(fields[i], v));
    });
    return a;
  });
}

/**
 * The keys of the base libraries the group feeds (records and conflicts) that are lookup hashes: old → new, with the
 * mapping of every hash the group's resources hold. A library key no source holds any more (its rows deleted since
 * the last assembly) cannot be mapped: left as it is and counted (`unmapped`); the next assembly drops it.
 */
async function rekeyLibraries(trx: Tx, ids: number[], moved: Map<string, string>, to: number) {
  const libs = (
    await trx
      .selectFrom('base_library_source')
      .select('library_id')
      .distinct()
      .where('resource_id', 'in', ids)
      .execute()
  ).map((l) => Number(l.library_id));
  if (!libs.length || !moved.size) return [];
  await sql`CREATE TEMP TABLE index_map (old text PRIMARY KEY, new text NOT NULL) ON COMMIT DROP`.execute(
    trx,
  );
  const pairs = [...moved];
  for (let i = 0; i < pairs.length; i += 5000) {
    const part = pairs.slice(i, i + 5000);
    await trx.executeQuery(
      CompiledQuery.raw('INSERT INTO index_map (old, new) SELECT * FROM unnest($1::text[], $2::text[])', [
        part.map((p) => p[0]),
        part.map((p) => p[1]),
      ]),
    );
  }
  const out = [];
  for (const id of libs) {
    const recs = await sql`UPDATE base_library_record b SET key = m.new FROM index_map m
      WHERE b.library_id = ${id} AND b.key = m.old`.execute(trx);
    await sql`UPDATE base_library_conflict c SET key = m.new FROM index_map m
      WHERE c.library_id = ${id} AND c.key = m.old`.execute(trx);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM base_library_record
      WHERE library_id = ${id} AND key ~ '^H[0-9]+\\.' AND key NOT LIKE ${`H${to}.%`}`.execute(trx);
    out.push({ id, rekeyed: Number(recs.numAffectedRows ?? 0), unmapped: rows[0].n });
  }
  await sql`DROP TABLE index_map`.execute(trx);
  return out;
}

/**
 * No resource left on an older version: the retiring versions become retired (kept: leak tracing by key of exports
 * delivered under them), audited `key.indexRotated`. New resources are held off (`SHARE` on resource) while it counts,
 * so none created under the old version slips past.
 */
export async function finishRotation(ctx: AppContext): Promise<number[]> {
  return inTx(ctx.db, async (trx) => {
    await sql`LOCK TABLE resource IN SHARE MODE`.execute(trx);
    const to = await activeVersion(trx);
    if ((await leftCount(trx, to)) > 0) return [];
    const retired = await trx
      .updateTable('field_key')
      .set({ state: 'retired', retired_at: new Date() })
      .where('scope_id', '=', INDEX_SCOPE)
      .where('purpose', '=', 'index')
      .where('state', '=', 'retiring')
      .returning('version')
      .execute();
    if (retired.length) {
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM base_library_record
        WHERE key ~ '^H[0-9]+\\.' AND key NOT LIKE ${`H${to}.%`}`.execute(trx);
      await appendAudit(trx, {
        action: 'key.indexRotated',
        decision: 'allow',
        targetType: 'field_key',
        targetId: `${INDEX_SCOPE}:${to}`,
        detail: { version: to, retired: retired.map((r) => r.version), libraryKeysUnmapped: rows[0].n },
      });
    }
    return retired.map((r) => r.version);
  });
}
