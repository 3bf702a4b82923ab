/*
 * `npm run bench:encryption`: what encrypting sensitive-personal fields at rest costs (issue 10 point 3,
 * docs/ENCRYPTION.md), against a baseline measured in the same run on the same database.
 *
 * For each database (PGlite in memory; PostgreSQL when BENCH_DATABASES includes postgres: a fresh gs_bench_<rand>
 * database, created and dropped by bench/scratch-db.ts) two resources with the same six fields are registered; in
 * one the key (ID number) and the address are flagged sensitive-personal, in the other nothing is. Both get the same
 * CSV of N rows through the real import (runImport: parse → validate → [encrypt + keyed hash] → stage → merge), then
 * L lookups by key each: the statement the data API runs for a record (`_key` = the key, or its keyed hash) and the
 * one masking function (which decrypts first). Ratios: encrypted / clear (ingest rows/s, lookups/s).
 *
 * Then the pause of converting stored data (docs/ENCRYPTION.md "The pause"): the clear resource's address is flagged
 * sensitive-personal with its column still clear (as a table from before encryption, or a flag turned on while the
 * table held rows), and `convertResource` (the job keys.encrypt) rewrites it in its one transaction; then the flag is
 * turned off again and `decryptResource` (keys.decrypt) rewrites it back. Baseline in the same run: one bare
 * `UPDATE` of the same column over every row (the database's own cost of rewriting the table). While each runs, two
 * probes look records up by key in a loop — one on the resource being converted (it waits: the pause), one on the
 * other resource (it must not) — and report their longest wait; on PostgreSQL only: PGlite is one connection whose
 * statements run synchronously on Node's thread, so everything waits by construction and a probe's clock cannot see it.
 *
 * Then the same for the record key (the clear resource's ID number flagged, converted with its records rekeyed, then
 * turned back): the total pause and the rekeying's part of it, timed inside rekeyResource (keyConversionPause).
 *
 * Then the pause of the group conversion (groupKeyConversionPause): a base library joins that resource and a third one
 * of the same rows on the ID number, both clear; flagging the first one's key converts it, gives the other a join index
 * and re-keys the library in one transaction; against the first one's key converted alone just before. Then the flag
 * turned off again: the group's reverse (the library re-keyed to clear, the join index dropped) against keys.decrypt of
 * the key alone.
 *
 * Then the pause of a library definition's save that re-keys the library (librarySavePause): that library gains the
 * encrypted resource as a source (A and S join-indexed, the records re-keyed to the keyed hash) and loses it again
 * (records mapped back to clear, join indexes dropped), through the console's save; against a bare UPDATE of A's and
 * S's key columns.
 *
 * Then the pause of rotating the lookup-index key for one group (rotationPause): the encrypted resource gets
 * BENCH_ENC_VERSIONS more imports changing every record (that many versions of each in record_history), then
 * `convertGroup` moves it to a new index-key version under the probes; baseline: a bare UPDATE of the same rows. The
 * shares of record_history and of the record key (clearKeys + rekeyResource) are printed.
 *
 * Knobs: BENCH_ENC_ROWS (50000), BENCH_ENC_LOOKUPS (5000), BENCH_DATABASES (pglite[,postgres]), BENCH_ENC_CIPHER
 * (sm4 | aes-256-gcm, default: the platform's default), BENCH_ENC_VERSIONS (3), BENCH_ENC_ONLY=rotation (skips the
 * lookups and the conversions: ingest, then the rotation's pause).
 */
import fs from 'node:fs';
import os from 'node:os';
import { sql } from 'kysely';
import { runAssembly } from '../src/baselib/assemble.js';
import type { LibraryInput } from '../src/baselib/model.js';
import { updateLibrary } from '../src/baselib/service.js';
import { closeContext, openContext } from '../src/boot.js';
import { indexColumn } from '../src/catalog/model.js';
import { getFields } from '../src/catalog/store.js';
import { loadConfig } from '../src/config.js';
import type { Actor, AppContext } from '../src/context.js';
import { maskRecord } from '../src/dataapi/masking.js';
import { maskingPolicy } from '../src/dataapi/masking-policy.js';
import { idNumberCheckChar } from '../src/ingest/checksums.js';
import { runImport } from '../src/ingest/pipeline.js';
import { convertGroup, groupOf, type RotationPart, rotateIndexKey } from '../src/security/index-rotation.js';
import { convertResource, decryptResource } from '../src/security/key-convert.js';
import type { RekeyPart } from '../src/security/rekey.js';
import { benchOrg, benchResource, spoolBatch } from './resource.js';
import { dropScratchDatabase, scratchDatabase } from './scratch-db.js';

const env = process.env;
const ROWS = Number(env.BENCH_ENC_ROWS ?? 50_000);
const VERSIONS = Number(env.BENCH_ENC_VERSIONS ?? 3);
const ONLY_ROTATION = env.BENCH_ENC_ONLY === 'rotation';
const LOOKUPS = Number(env.BENCH_ENC_LOOKUPS ?? 5_000);
const DATABASES = (env.BENCH_DATABASES ?? 'pglite').split(',').map((s) => s.trim());
const SERVER_URL =
  env.BENCH_DATABASE_URL || env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

// 17 digits unique per i: region 446002 + 8 digits of i + 3 digits
const uniqueId = (i: number) => {
  const body = `446002${String(10_000_000 + i).slice(-8)}${String(i % 1000).padStart(3, '0')}`;
  return body + idNumberCheckChar(body);
};

function fields(encrypted: boolean) {
  return [
    {
      code: 'idNumber',
      name: '公民身份号码',
      type: 'string' as const,
      isKey: true,
      personal: true,
      sensitivePersonal: encrypted,
    },
    {
      code: 'name',
      name: '姓名',
      type: 'string' as const,
      length: 50,
      required: true,
      personal: true,
      masking: 'name' as const,
    },
    { code: 'gender', name: '性别', type: 'string' as const, length: 2 },
    { code: 'birthDate', name: '出生日期', type: 'date' as const },
    { code: 'phone', name: '联系电话', type: 'string' as const },
    {
      code: 'address',
      name: '住址',
      type: 'string' as const,
      length: 200,
      personal: true,
      sensitivePersonal: encrypted,
      masking: 'address' as const,
    },
  ];
}

/** The CSV of `rows` records; `v` > 0 changes every record's phone (an update: one more version in record_history). */
function csv(rows: number, v = 0): string {
  const out: string[] = ['idNumber,name,gender,birthDate,phone,address'];
  for (let i = 0; i < rows; i++)
    out.push(
      `${uniqueId(i)},张${i % 97},${i % 2 ? '男' : '女'},1980-01-${String(1 + (i % 28)).padStart(2, '0')},${1390000 + v}${String(i % 10000).padStart(4, '0')},滨江路${i}号`,
    );
  return `${out.join('\n')}\n`;
}

const resource = (ctx: AppContext, orgId: number, encrypted: boolean) =>
  benchResource(ctx, orgId, encrypted ? '人口（加密基准）' : '人口（明文基准）', fields(encrypted));

async function ingest(ctx: AppContext, resourceId: number, text: string, updated = false): Promise<number> {
  const id = await spoolBatch(ctx, resourceId, `bench-enc-${resourceId}.csv`, 'bench.csv', (spool) =>
    fs.writeFileSync(spool, text),
  );
  const t0 = performance.now();
  const out = await runImport(ctx, id);
  const ms = performance.now() - t0;
  if (out.status !== 'committed' || (updated ? out.updated : out.inserted) !== ROWS)
    throw new Error(`import ${out.status} ${JSON.stringify(out)}`);
  return ms;
}

/** L lookups by key: the record statement (hashed key when encrypted) and the one masking function. */
async function lookups(ctx: AppContext, resourceId: number): Promise<number> {
  const f = await getFields(ctx.db, resourceId);
  const hashed = f.some((x) => x.isKey && x.encrypted);
  const policy = await maskingPolicy(ctx);
  const cols = f.map((x) => `${x.columnName} AS "${x.code}"`).join(', ');
  const text = `SELECT ${cols} FROM ds.r_${resourceId} WHERE _key = $1`;
  const t0 = performance.now();
  for (let i = 0; i < LOOKUPS; i++) {
    const key = uniqueId((i * 7919) % ROWS);
    const { rows } = await ctx.database.query<Record<string, unknown>>(text, [
      hashed ? ctx.fieldKeys.index(key) : key,
    ]);
    if (rows.length !== 1) throw new Error(`lookup ${key}: ${rows.length} rows`);
    const rec = maskRecord(rows[0], f, policy);
    if (String(rec.idNumber).includes('ENC1.')) throw new Error('not decrypted');
  }
  return performance.now() - t0;
}

/**
 * Looks records of `resourceId` up by key in a loop until `stop()`; the longest single wait and how many were made.
 * Each lookup names the key in both stored forms (clear and keyed hash), so it finds the record before and after a
 * conversion of the record key.
 */
function probe(ctx: AppContext, resourceId: number, forms: (key: string) => string[]) {
  let running = true;
  let longest = 0;
  let n = 0;
  const done = (async () => {
    for (let i = 0; running; i++) {
      const key = uniqueId((i * 104_729) % ROWS);
      const t0 = performance.now();
      const { rows } = await ctx.database.query(
        `SELECT _key FROM ds.r_${resourceId} WHERE _key = ANY ($1::text[])`,
        [forms(key)],
      );
      longest = Math.max(longest, performance.now() - t0);
      if (rows.length !== 1) throw new Error(`probe ${key}: ${rows.length} rows`);
      n++;
      // let the conversion's statements in between (PGlite runs one statement at a time)
      await new Promise((r) => setImmediate(r));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      return { longestMs: +longest.toFixed(1), lookups: n };
    },
  };
}

/** Times `work` while one probe reads the resource it locks and one reads another resource. */
async function paused(
  ctx: AppContext,
  work: () => Promise<unknown>,
  locked: number,
  other: number,
  forms = (key: string) => [key, ctx.fieldKeys.index(key)],
) {
  const probes = ctx.database.kind === 'postgres';
  const onLocked = probes ? probe(ctx, locked, forms) : null;
  const onOther = probes ? probe(ctx, other, forms) : null;
  await new Promise((r) => setTimeout(r, 50));
  const t0 = performance.now();
  await work();
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 50));
  return {
    ms: Math.round(ms),
    sameResource: (await onLocked?.stop()) ?? null,
    otherResource: (await onOther?.stop()) ?? null,
  };
}

/** The pause of converting `clear`'s address column to encrypted storage and back (see the head of this file). */
async function conversionPause(ctx: AppContext, clear: number, enc: number) {
  const addr = (await getFields(ctx.db, clear)).find((x) => x.code === 'address');
  if (!addr) throw new Error('no address field');
  const bare = await paused(
    ctx,
    () => ctx.database.query(`UPDATE ds.r_${clear} SET ${addr.columnName} = ${addr.columnName}`, []),
    clear,
    enc,
  );
  await sql`UPDATE resource_field SET sensitive_personal = true WHERE resource_id = ${clear} AND code = 'address'`.execute(
    ctx.db,
  );
  const encrypt = await paused(
    ctx,
    async () => {
      const done = await convertResource(ctx, clear);
      if (done.join() !== 'address') throw new Error(`converted ${done.join()}`);
    },
    clear,
    enc,
  );
  const stored = await ctx.database.query<{ v: string }>(
    `SELECT ${addr.columnName} AS v FROM ds.r_${clear} LIMIT 1`,
    [],
  );
  if (!String(stored.rows[0]?.v).startsWith('ENC1.'))
    throw new Error('address not encrypted after keys.encrypt');
  await sql`UPDATE resource_field SET sensitive_personal = false WHERE resource_id = ${clear} AND code = 'address'`.execute(
    ctx.db,
  );
  const decrypt = await paused(
    ctx,
    async () => {
      const done = await decryptResource(ctx, clear);
      if (done.join() !== 'address') throw new Error(`decrypted ${done.join()}`);
    },
    clear,
    enc,
  );
  const key = await keyConversionPause(ctx, clear, enc);
  return {
    rows: ROWS,
    bareUpdate: bare,
    encrypt: { ...encrypt, ratioToBare: +(encrypt.ms / bare.ms).toFixed(1) },
    decrypt: { ...decrypt, ratioToBare: +(decrypt.ms / bare.ms).toFixed(1) },
    key,
  };
}

/**
 * The pause of converting the clear resource's RECORD KEY (the ID number) to encrypted storage and back, and the
 * rekeying's part of it (rekeyResource's timing callback, src/security/rekey.ts): `unhash` (keys.decrypt: every stored
 * hash traced back to its clear key), `collect` (every stored key read), `hash` (new keys and feed pseudonyms computed
 * in Node), `load` (the mapping table filled), `update` (the `UPDATE … FROM`s). Same run, same table as above.
 */
async function keyConversionPause(ctx: AppContext, clear: number, enc: number) {
  const one = async (on: boolean) => {
    await sql`UPDATE resource_field SET sensitive_personal = ${on} WHERE resource_id = ${clear} AND code = 'idNumber'`.execute(
      ctx.db,
    );
    const parts: Partial<Record<RekeyPart, number>> = {};
    const rekeyTiming = (part: RekeyPart, ms: number) => {
      parts[part] = (parts[part] ?? 0) + ms;
    };
    const pause = await paused(
      ctx,
      async () => {
        const done = on
          ? await convertResource(ctx, clear, { rekeyTiming })
          : await decryptResource(ctx, clear, { rekeyTiming });
        if (done.join() !== 'idNumber') throw new Error(`${on ? 'converted' : 'decrypted'} ${done.join()}`);
      },
      clear,
      enc,
    );
    const rekeyMs = Object.values(parts).reduce((a, b) => a + (b ?? 0), 0);
    return {
      ...pause,
      rekeyMs: Math.round(rekeyMs),
      rekeyShare: +(rekeyMs / pause.ms).toFixed(2),
      rekeyParts: Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, Math.round(v ?? 0)])),
    };
  };
  const encrypt = await one(true);
  const { rows } = await ctx.database.query<{ k: string }>(`SELECT _key AS k FROM ds.r_${clear} LIMIT 1`, []);
  if (!rows[0]?.k.startsWith('H1.')) throw new Error('record key not hashed after keys.encrypt');
  const decrypt = await one(false);
  const back = await ctx.database.query<{ k: string }>(`SELECT _key AS k FROM ds.r_${clear} LIMIT 1`, []);
  if (back.rows[0]?.k.startsWith('H1.')) throw new Error('record key still hashed after keys.decrypt');
  return { encrypt, decrypt };
}

/**
 * The pause of the GROUP conversion (docs/ENCRYPTION.md "A base-library join key shared with other resources"): a base
 * library joins `clear` (A, its record key back to clear after keyConversionPause) and a third resource S holding the
 * same ROWS records, both clear, on the ID number; A's key is flagged and `convertResource` converts A, gives S its join
 * index and re-keys the library's records in one transaction, pausing A and S. Baseline in the same run: A's record
 * key converted alone (keyConversionPause's keys.encrypt). Probes: one on A, one on S (both wait).
 */
async function groupKeyConversionPause(ctx: AppContext, orgId: number, clear: number, text: string) {
  const s = await benchResource(ctx, orgId, '人口（关联基准）', fields(false));
  await ingest(ctx, s, text);
  const lib = Number(
    (
      await sql<{
        id: number;
      }>`INSERT INTO base_library (name, kind, key_kind, created_by, created_at, updated_by, updated_at)
        SELECT '人口关联基准库', 'theme', 'idNumber', u, now(), u, now() FROM (SELECT coalesce(min(id), 0) AS u FROM app_user) x
        RETURNING id`.execute(ctx.db)
    ).rows[0].id,
  );
  await sql`INSERT INTO base_library_field (library_id, ordinal, code, name)
    VALUES (${lib}, 1, 'holderName', '姓名'), (${lib}, 2, 'addr', '住址')`.execute(ctx.db);
  await sql`INSERT INTO base_library_source (library_id, field_code, priority, resource_id, source_field, key_field)
    VALUES (${lib}, 'holderName', 0, ${clear}, 'name', 'idNumber'), (${lib}, 'holderName', 1, ${s}, 'name', 'idNumber'),
      (${lib}, 'addr', 0, ${s}, 'address', 'idNumber')`.execute(ctx.db);
  const run = await sql<{
    id: number;
  }>`INSERT INTO base_library_run (library_id, library_version, requested_at)
    VALUES (${lib}, 1, now()) RETURNING id`.execute(ctx.db);
  const t0 = performance.now();
  await runAssembly(ctx, Number(run.rows[0].id));
  const assemblyMs = Math.round(performance.now() - t0);
  const records = async () =>
    (
      await ctx.database.query<{ n: number; hashed: number }>(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE key LIKE 'H%')::int AS hashed FROM base_library_record WHERE library_id = $1`,
        [lib],
      )
    ).rows[0];
  const before = await records();
  if (before.n !== ROWS || before.hashed !== 0)
    throw new Error(`library assembled ${JSON.stringify(before)}`);
  // A's key flagged (on) or not: the group's conversion or its reverse, timed under the probes on A and S
  const flip = async (on: boolean) => {
    await sql`UPDATE resource_field SET sensitive_personal = ${on} WHERE resource_id = ${clear} AND code = 'idNumber'`.execute(
      ctx.db,
    );
    return paused(
      ctx,
      async () => {
        const done = on ? await convertResource(ctx, clear) : await decryptResource(ctx, clear);
        if (done.join() !== 'idNumber') throw new Error(`${on ? 'converted' : 'decrypted'} ${done.join()}`);
      },
      clear,
      s,
    );
  };
  const pause = await flip(true);
  const after = await records();
  if (after.n !== ROWS || after.hashed !== ROWS)
    throw new Error(`library after the group ${JSON.stringify(after)}`);
  const joinIndexed = await ctx.database.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM resource_field WHERE resource_id = $1 AND code = 'idNumber' AND join_indexed`,
    [s],
  );
  if (joinIndexed.rows[0]?.n !== 1) throw new Error('S has no join index after the group conversion');
  // and back (docs/ENCRYPTION.md "Turning it back"): A decrypted and rekeyed, the library re-keyed to clear, S's join
  // index dropped, in one group transaction
  const back = await flip(false);
  const cleared = await records();
  if (cleared.n !== ROWS || cleared.hashed !== 0)
    throw new Error(`library after the group's reverse ${JSON.stringify(cleared)}`);
  return { rows: ROWS, sources: 2, libraryRecords: after.n, assemblyMs, ...pause, reverse: back, s, lib };
}

/**
 * The pause of a library definition's SAVE that changes how the library is keyed (docs/ENCRYPTION.md "The join index
 * added by a library definition's save"): the group's library (A and S clear, clear-keyed, ROWS records assembled)
 * gains the encrypted resource as a secondary source of its address through `updateLibrary`, the console's save: A and
 * S get their join index (ROWS rows each) and the library's records are re-keyed to the keyed hash, in the save's one
 * transaction; then the save removing that source again (records mapped back to clear, the join indexes dropped).
 * Baseline in the same run: one bare `UPDATE` of A's and S's key columns (the two tables the save rewrites). Probes:
 * one on A (its table is taken: it waits), one on the encrypted resource (a source, not rewritten: it must not).
 */
async function librarySavePause(ctx: AppContext, a: number, s: number, enc: number, lib: number) {
  // what the save checks of a source (published, an ID-number field to assemble by), set for the saves only: the
  // bench's ID numbers carry a check digit but no real birth date, which the validator would refuse on a later import
  await sql`UPDATE resource SET status = 'published' WHERE id IN (${a}, ${s}, ${enc})`.execute(ctx.db);
  const validator = (v: string | null) =>
    sql`UPDATE resource_field SET validator = ${v} WHERE resource_id IN (${a}, ${s}, ${enc}) AND code = 'idNumber'`.execute(
      ctx.db,
    );
  await validator('idNumber');
  try {
    return await librarySaves(ctx, a, s, enc, lib);
  } finally {
    await validator(null);
  }
}

async function librarySaves(ctx: AppContext, a: number, s: number, enc: number, lib: number) {
  const { rows: authority } = await sql<{ id: number }>`
    INSERT INTO org (code, name, short_name, kind, jurisdiction_code)
    VALUES ('LJ-ZSJ', '临江市政务服务数据管理局', '数据局', 'authority', '446000')
    ON CONFLICT (code) DO UPDATE SET kind = 'authority' RETURNING id`.execute(ctx.db);
  const actor: Actor = {
    id: 0,
    username: 'bench',
    displayName: 'bench',
    orgId: Number(authority[0].id),
    orgKind: 'authority',
    sectionId: null,
    roles: ['authority_reviewer'],
    clientIp: null,
  };
  const source = (resourceId: number, fieldCode: string) => ({ resourceId, fieldCode });
  const definition = (withEnc: boolean): LibraryInput => ({
    name: '人口关联基准库',
    kind: 'theme',
    keyKind: 'idNumber',
    fields: [
      { code: 'holderName', name: '姓名', authoritative: source(a, 'name'), secondary: [source(s, 'name')] },
      {
        code: 'addr',
        name: '住址',
        authoritative: source(s, 'address'),
        secondary: withEnc ? [source(enc, 'address')] : [],
      },
    ],
  });
  const keyCol = async (id: number) =>
    (await getFields(ctx.db, id)).find((f) => f.code === 'idNumber')?.columnName;
  const [ka, ks] = [await keyCol(a), await keyCol(s)];
  const bare = await paused(
    ctx,
    async () => {
      await ctx.database.query(`UPDATE ds.r_${a} SET ${ka} = ${ka}`, []);
      await ctx.database.query(`UPDATE ds.r_${s} SET ${ks} = ${ks}`, []);
    },
    a,
    enc,
  );
  const hashedRecords = async () =>
    (
      await ctx.database.query<{ n: number }>(
        `SELECT count(*) FILTER (WHERE key LIKE 'H%')::int AS n FROM base_library_record WHERE library_id = $1`,
        [lib],
      )
    ).rows[0].n;
  const joinIndexed = async () =>
    (
      await ctx.database.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM resource_field WHERE resource_id IN ($1, $2) AND code = 'idNumber' AND join_indexed`,
        [a, s],
      )
    ).rows[0].n;
  const add = await paused(ctx, () => updateLibrary(ctx, actor, lib, definition(true)), a, enc);
  if ((await hashedRecords()) !== ROWS || (await joinIndexed()) !== 2)
    throw new Error('the save adding an encrypted source did not re-key the library and index A and S');
  const remove = await paused(ctx, () => updateLibrary(ctx, actor, lib, definition(false)), a, enc);
  if ((await hashedRecords()) !== 0 || (await joinIndexed()) !== 0)
    throw new Error(
      'the save removing the encrypted source did not re-key the library back and drop the join indexes',
    );
  return {
    rows: ROWS,
    bareUpdate: bare,
    addEncryptedSource: { ...add, ratioToBare: +(add.ms / bare.ms).toFixed(1) },
    removeEncryptedSource: { ...remove, ratioToBare: +(remove.ms / bare.ms).toFixed(1) },
  };
}

/**
 * The pause of rotating the lookup-index key for one group (docs/ENCRYPTION.md "Rotating the lookup-index key"): the
 * encrypted resource (hashed record key, two encrypted fields, VERSIONS versions of every record in record_history) is
 * converted by `convertGroup` (the job keys.rotateIndex's transaction for that group) from its version to the new one.
 * Baseline in the same run: a bare `UPDATE` of the same rows (the table's `_key`, `_hash` and lookup indexes, the
 * resource's record_history rows) each set to itself. The probes name a key in all three forms (clear, old hash, new
 * hash). The parts (convertGroup's timing): `table`, `history`, `quarantine`, `clearKeys` + `rekey.*` (the record key:
 * traced to its clear form, then `_key` and everything keyed by it rekeyed), `libraries`, the rest `other`.
 */
async function rotationPause(ctx: AppContext, enc: number, other: number) {
  const f = await getFields(ctx.db, enc);
  const hashCols = f.filter((x) => x.encrypted).map((x) => indexColumn(x.columnName));
  const count = async (q: string) => Number((await ctx.database.query<{ n: number }>(q, [enc])).rows[0].n);
  const historyRows = await count('SELECT count(*)::int AS n FROM record_history WHERE resource_id = $1');
  const bare = await paused(
    ctx,
    async () => {
      await ctx.database.query(
        `UPDATE ds.r_${enc} SET _key = _key, _hash = _hash, ${hashCols.map((c) => `${c} = ${c}`).join(', ')}`,
        [],
      );
      await ctx.database.query(
        'UPDATE record_history SET rkey = rkey, data = data, rhash = rhash WHERE resource_id = $1',
        [enc],
      );
    },
    enc,
    other,
  );
  const from = await count('SELECT index_key AS n FROM resource WHERE id = $1');
  const { version: to } = await rotateIndexKey(ctx, null);
  const parts: Partial<Record<RotationPart, number>> = {};
  const timing = (part: RotationPart, ms: number) => {
    parts[part] = (parts[part] ?? 0) + ms;
  };
  const group = await groupOf(ctx.db, enc);
  const pause = await paused(
    ctx,
    async () => {
      const done = await convertGroup(ctx, group, to, { timing });
      if (!done.includes(enc)) throw new Error(`rotation converted ${done.join()}`);
    },
    enc,
    other,
    (key) => [key, ctx.fieldKeys.index(key, from), ctx.fieldKeys.index(key, to)],
  );
  const stale = await count(
    `SELECT count(*)::int AS n FROM record_history WHERE resource_id = $1 AND (rkey NOT LIKE 'H${to}.%' OR data->>${f.length} NOT LIKE 'H${to}.%')`,
  );
  if (stale) throw new Error(`${stale} history rows not rehashed`);
  const share = (ms: number) => +(ms / pause.ms).toFixed(2);
  const rekeyMs = Object.entries(parts)
    .filter(([k]) => k.startsWith('rekey.') || k === 'clearKeys')
    .reduce((a, [, v]) => a + (v ?? 0), 0);
  const historyMs = parts.history ?? 0;
  return {
    rows: ROWS,
    historyRows,
    group: group.length,
    bareUpdate: bare,
    rotate: { ...pause, ratioToBare: +(pause.ms / bare.ms).toFixed(1) },
    historyMs: Math.round(historyMs),
    historyShare: share(historyMs),
    keyMs: Math.round(rekeyMs),
    keyShare: share(rekeyMs),
    parts: Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, Math.round(v ?? 0)])),
  };
}

async function run(kind: string) {
  let scratch: Awaited<ReturnType<typeof scratchDatabase>> = null;
  if (kind === 'postgres') {
    scratch = await scratchDatabase(SERVER_URL);
    if (!scratch) return console.log(`postgres: not reachable at ${SERVER_URL}, skipped`);
  }
  const ctx = await openContext({
    ...loadConfig({}),
    databaseUrl: scratch?.url ?? null,
    dataDir: 'memory://',
    dbPoolSize: 4,
    fieldCipher: env.BENCH_ENC_CIPHER || null,
  });
  try {
    const orgId = await benchOrg(ctx);
    const text = csv(ROWS);
    const clear = await resource(ctx, orgId, false);
    const enc = await resource(ctx, orgId, true);
    // alternate the order so neither side always runs on a warmer process
    const ingClear = await ingest(ctx, clear, text);
    const ingEnc = await ingest(ctx, enc, text);
    const lkEnc = ONLY_ROTATION ? 1 : await lookups(ctx, enc);
    const lkClear = ONLY_ROTATION ? 1 : await lookups(ctx, clear);
    const pause = ONLY_ROTATION ? null : await conversionPause(ctx, clear, enc);
    // after the record key went back to clear: the group conversion (A + S + the library) against A's alone above
    const group = ONLY_ROTATION ? null : await groupKeyConversionPause(ctx, orgId, clear, text);
    // the library's definition saved with the encrypted resource as a source, and without it again
    const save = group ? await librarySavePause(ctx, clear, group.s, enc, group.lib) : null;
    // VERSIONS more imports of the encrypted resource, each changing every record: record_history for the rotation
    for (let v = 1; v <= VERSIONS; v++) await ingest(ctx, enc, csv(ROWS, v), true);
    const rotation = await rotationPause(ctx, enc, clear);
    const rate = (n: number, ms: number) => Math.round((n / ms) * 1000);
    console.log(
      JSON.stringify({
        database: kind,
        cipher: ctx.fieldKeys.alg === 's' ? 'sm4-ctr+hmac-sm3' : 'aes-256-gcm',
        rows: ROWS,
        ingest: {
          clearRowsPerSec: rate(ROWS, ingClear),
          encryptedRowsPerSec: rate(ROWS, ingEnc),
          ratio: +(ingClear / ingEnc).toFixed(3),
        },
        lookup: ONLY_ROTATION
          ? null
          : {
              n: LOOKUPS,
              clearPerSec: rate(LOOKUPS, lkClear),
              encryptedPerSec: rate(LOOKUPS, lkEnc),
              ratio: +(lkClear / lkEnc).toFixed(3),
            },
        conversionPause: pause,
        groupConversionPause: group,
        librarySavePause: save,
        rotationPause: rotation,
        cpus: os.cpus().length,
        load: os.loadavg().map((x) => +x.toFixed(1)),
      }),
    );
    console.log(`  ratio = encrypted rate / clear rate (1.0 = no overhead)`);
    const r = rotation;
    console.log(
      `  index-key rotation pause, ${ROWS} rows + ${r.historyRows} history rows: convertGroup ${r.rotate.ms} ms, bare UPDATE of the same rows ${r.bareUpdate.ms} ms (×${r.rotate.ratioToBare}); record_history ${r.historyMs} ms (${Math.round(r.historyShare * 100)} %), record key (clearKeys + rekey) ${r.keyMs} ms (${Math.round(r.keyShare * 100)} %): ${JSON.stringify(r.parts)}${
        r.rotate.sameResource && r.rotate.otherResource
          ? `; longest lookup wait on the resource ${r.rotate.sameResource.longestMs} ms, on another resource ${r.rotate.otherResource.longestMs} ms`
          : ' (PGlite: one connection, every statement waits)'
      }`,
    );
    if (!pause) return;
    console.log(
      `  conversion pause, ${ROWS} rows: keys.encrypt ${pause.encrypt.ms} ms, keys.decrypt ${pause.decrypt.ms} ms, bare UPDATE of the column ${pause.bareUpdate.ms} ms (×${pause.encrypt.ratioToBare} / ×${pause.decrypt.ratioToBare})${
        pause.encrypt.sameResource &&
        pause.decrypt.sameResource &&
        pause.encrypt.otherResource &&
        pause.decrypt.otherResource
          ? `; longest lookup wait on the resource ${pause.encrypt.sameResource.longestMs} / ${pause.decrypt.sameResource.longestMs} ms, on another resource ${pause.encrypt.otherResource.longestMs} / ${pause.decrypt.otherResource.longestMs} ms`
          : ' (PGlite: one connection, every statement waits)'
      }`,
    );
    const k = pause.key;
    console.log(
      `  record-key conversion, ${ROWS} rows: keys.encrypt ${k.encrypt.ms} ms, of which rekeying ${k.encrypt.rekeyMs} ms (${Math.round(k.encrypt.rekeyShare * 100)} %: ${JSON.stringify(k.encrypt.rekeyParts)}); keys.decrypt ${k.decrypt.ms} ms, of which rekeying ${k.decrypt.rekeyMs} ms (${Math.round(k.decrypt.rekeyShare * 100)} %: ${JSON.stringify(k.decrypt.rekeyParts)})`,
    );
    if (group)
      console.log(
        `  group conversion (record key shared through a base library with a second resource of ${ROWS} rows, ${group.libraryRecords} library records re-keyed): keys.encrypt ${group.ms} ms against A's key alone ${k.encrypt.ms} ms (×${(group.ms / k.encrypt.ms).toFixed(1)}); the library's assembly ${group.assemblyMs} ms${
          group.sameResource && group.otherResource
            ? `; longest lookup wait on A ${group.sameResource.longestMs} ms, on S ${group.otherResource.longestMs} ms`
            : ' (PGlite: one connection, every statement waits)'
        }; turned back (keys.decrypt of the group) ${group.reverse.ms} ms against A's key alone ${k.decrypt.ms} ms (×${(group.reverse.ms / k.decrypt.ms).toFixed(1)})${
          group.reverse.sameResource && group.reverse.otherResource
            ? `, longest lookup wait on A ${group.reverse.sameResource.longestMs} ms, on S ${group.reverse.otherResource.longestMs} ms`
            : ''
        }`,
      );
    if (save)
      console.log(
        `  library save adding an encrypted source (A and S join-indexed, ${ROWS} library records re-keyed): ${save.addEncryptedSource.ms} ms; removing it (records mapped back to clear, join indexes dropped): ${save.removeEncryptedSource.ms} ms; bare UPDATE of A's and S's key columns ${save.bareUpdate.ms} ms (×${save.addEncryptedSource.ratioToBare} / ×${save.removeEncryptedSource.ratioToBare})${
          save.addEncryptedSource.sameResource &&
          save.addEncryptedSource.otherResource &&
          save.removeEncryptedSource.sameResource
            ? `; longest lookup wait on A ${save.addEncryptedSource.sameResource.longestMs} / ${save.removeEncryptedSource.sameResource.longestMs} ms, on the encrypted source ${save.addEncryptedSource.otherResource.longestMs} ms`
            : ' (PGlite: one connection, every statement waits)'
        }`,
      );
  } finally {
    await closeContext(ctx);
    if (scratch) await dropScratchDatabase(SERVER_URL, scratch.name);
  }
}

for (const kind of DATABASES) await run(kind);
