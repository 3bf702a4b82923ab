import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import type { Config } from '../config.js';
import type { Db, Tx } from '../db/index.js';
import { AppError } from '../shared/errors.js';
import {
  CIPHER_NAMES,
  type CipherAlg,
  cipherFromConfig,
  type DataKey,
  dataKeyOf,
  decryptValue,
  decryptValues,
  describe,
  encryptValue,
  INDEX_HASH,
  indexValue,
  openBytes,
  sealBytes,
} from './field-cipher.js';

/*
 * The keyring of field encryption (docs/ENCRYPTION.md), one per AppContext.
 *   KEK  — from configuration (GOVSHARE_KEK, GOVSHARE_KEK_FILE or <data dir>/field-kek.key); never in the database.
 *   DEK  — one per resource and version (field_key, scope = resource id), 64 random bytes wrapped by the KEK.
 *   index key — one for the platform (scope 0): the keyed hash that makes encrypted columns and hashed record keys
 *          usable for equality lookups and joins across resources (base libraries, consistency checks) without
 *          decrypting. A per-resource index key would make the same ID number hash differently in every resource and
 *          break those joins; the data keys stay per resource.
 * Keys are loaded into memory (unwrapped) and refreshed every 30 s, so decryption is synchronous where the one masking
 * function runs (src/dataapi/masking.ts). A value under a version this node has not loaded yet (rotated on another node
 * within the last 30 s) fails with FIELD_KEY_UNAVAILABLE (503, retry) and forces a reload.
 */

const REFRESH_MS = 30_000;
const INDEX_SCOPE = 0;

interface Kek {
  id: string;
  key: DataKey;
}

const kekIdOf = (raw: Buffer) => createHash('sha256').update(raw).digest('hex').slice(0, 16);

function kekOf(raw: Buffer): Kek {
  if (raw.length !== 32) throw new Error('a key-encryption key is 32 bytes (base64 of 32 random bytes)');
  return { id: kekIdOf(raw), key: dataKeyOf(-1, 0, raw) };
}

/** One random KEK per process when nothing is configured and the database is in memory (tests). */
let processKek: Buffer | null = null;

/** The configured KEKs, current first. */
export function loadKeks(config: Config): Kek[] {
  // Several nodes share a PostgreSQL server, and each must unwrap the same data keys: a key file made by one node in
  // its own data directory would leave the others unable to read (or worse, wrapping new keys under their own KEK).
  if (
    config.databaseUrl &&
    !config.dataDir.startsWith('memory://') &&
    !config.fieldKek &&
    !config.fieldKekFile
  )
    throw new Error(
      'GOVSHARE_KEK or GOVSHARE_KEK_FILE must be set when the database is a PostgreSQL server: every node must use the same key-encryption key (docs/ENCRYPTION.md)',
    );
  const raw: Buffer[] = [];
  if (config.fieldKek) raw.push(Buffer.from(config.fieldKek, 'base64'));
  const file =
    config.fieldKekFile ??
    (config.dataDir.startsWith('memory://') ? null : path.join(config.dataDir, 'field-kek.key'));
  if (!raw.length && file) {
    if (!fs.existsSync(file)) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      try {
        fs.writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
  }
  if (file && fs.existsSync(file))
    for (const line of fs.readFileSync(file, 'utf8').split('\n'))
      if (line.trim()) raw.push(Buffer.from(line.trim(), 'base64'));
  for (const p of config.fieldKekPrevious ?? []) raw.push(Buffer.from(p, 'base64'));
  if (!raw.length) {
    processKek ??= randomBytes(32);
    raw.push(processKek);
  }
  return raw.map(kekOf);
}

/** Writes a new current KEK at the head of the key file, keeping the earlier ones (CLI `keys new-kek`). */
export function addKekToFile(file: string): string {
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const fresh = randomBytes(32);
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, `${fresh.toString('base64')}\n${old}`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  return kekIdOf(fresh);
}

export interface FieldWriter {
  alg: CipherAlg;
  version: number;
  encrypt(v: string): string;
  /** the lookup index under the resource's own index-key version (`resource.index_key`) */
  index(v: string): string;
  indexVersion: number;
}

export interface TamperEvent {
  scope: number;
  version: number;
  reason: 'tag' | 'unknownKey';
}

export class FieldKeys {
  readonly alg: CipherAlg;
  private keks: Kek[];
  private keys = new Map<string, DataKey>();
  private active = new Map<number, number>();
  /** the lookup-index key by version (docs/ENCRYPTION.md "Rotating the lookup-index key"); retired ones are kept */
  private indexKeys = new Map<number, Buffer>();
  private indexActive = 1;
  private loadedAt = 0;
  private loading: Promise<void> | null = null;
  private audits: Promise<unknown>[] = [];

  constructor(
    private db: Db,
    config: Config,
  ) {
    this.alg = cipherFromConfig(config.fieldCipher);
    this.keks = loadKeks(config);
  }

  get kekId() {
    return this.keks[0].id;
  }
  get kekIds() {
    return this.keks.map((k) => k.id);
  }

  private wrap(scope: number, version: number, purpose: string, material: Buffer) {
    const aad = `KEK|${scope}|${version}|${purpose}`;
    return `${this.alg}:${sealBytes(this.alg, this.keks[0].key, aad, material).toString('base64url')}`;
  }

  private unwrap(row: {
    scope_id: number;
    version: number;
    purpose: string;
    wrapped: string;
    kek_id: string;
  }) {
    const kek = this.keks.find((k) => k.id === row.kek_id);
    if (!kek) return null;
    const [alg, b64] = row.wrapped.split(':');
    return openBytes(
      alg as CipherAlg,
      kek.key,
      `KEK|${Number(row.scope_id)}|${row.version}|${row.purpose}`,
      Buffer.from(b64, 'base64url'),
    );
  }

  /**
   * Loads every wrapped key (at start, every 30 s, and after a miss); the index key is created on first start. `db` is
   * the caller's own handle (`ctx.db`, a transaction inside one): on PGlite the root connection waits for an open
   * transaction, so a reload through it from inside one (the demo load lasts longer than 30 s) would never return.
   */
  async refresh(force: boolean, db: Db | Tx): Promise<void> {
    if (!force && Date.now() - this.loadedAt < REFRESH_MS) return;
    if (this.loading) return this.loading;
    this.loading = (async () => {
      if (this.loadedAt === 0 && !this.indexKeys.size) await this.createKey(db, INDEX_SCOPE, 'index', 1);
      const rows = await db.selectFrom('field_key').selectAll().execute();
      for (const r of rows) {
        const scope = Number(r.scope_id);
        const id = `${scope}:${r.version}`;
        if (this.keys.has(id) && r.purpose === 'data') {
          if (r.state === 'active') this.active.set(scope, r.version);
          continue;
        }
        if (r.purpose === 'index' && this.indexKeys.has(r.version)) {
          if (r.state === 'active') this.indexActive = r.version;
          continue;
        }
        const material = this.unwrap(r);
        if (!material) {
          if (r.purpose === 'index')
            throw new Error(
              `the lookup-index key is wrapped by key-encryption key ${r.kek_id}, which this node does not have (configured: ${this.kekIds.join(', ')}): give every node the same GOVSHARE_KEK or GOVSHARE_KEK_FILE (docs/ENCRYPTION.md)`,
            );
          continue; // reported by status; values under it fail as FIELD_KEY_UNAVAILABLE
        }
        if (r.purpose === 'index') {
          this.indexKeys.set(r.version, material);
          if (r.state === 'active') this.indexActive = r.version;
        } else {
          this.keys.set(id, dataKeyOf(scope, r.version, material));
          if (r.state === 'active') this.active.set(scope, r.version);
        }
      }
      this.loadedAt = Date.now();
    })().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private async createKey(db: Db | Tx, scope: number, purpose: 'data' | 'index', version: number) {
    const material = randomBytes(purpose === 'index' ? 32 : 64);
    await sql`INSERT INTO field_key (scope_id, version, purpose, alg, wrapped, kek_id)
      VALUES (${scope}, ${version}, ${purpose}, ${purpose === 'index' ? INDEX_HASH : CIPHER_NAMES[this.alg]},
        ${this.wrap(scope, version, purpose, material)}, ${this.kekId})
      ON CONFLICT (scope_id, version) DO NOTHING`.execute(db);
  }

  /**
   * The writer of one resource: its active data key (created on first use) and the index. Reads the key row through
   * `db` (the caller's transaction, if any: on PGlite the root connection would wait for it), every time, so a key
   * created in a transaction that rolled back is never used.
   */
  async writer(resourceId: number, db: Db | Tx = this.db): Promise<FieldWriter> {
    // the resource's own index-key version: a rotation switches it in the transaction that rewrites its hashes
    const res = await db
      .selectFrom('resource')
      .select('index_key')
      .where('id', '=', resourceId)
      .executeTakeFirst();
    const iv = res?.index_key ?? this.indexActive;
    if (!this.indexKeys.has(iv)) await this.refresh(true, db);
    let row = await db
      .selectFrom('field_key')
      .selectAll()
      .where('scope_id', '=', resourceId)
      .where('state', '=', 'active')
      .executeTakeFirst();
    if (!row) {
      await this.createKey(db, resourceId, 'data', 1);
      row = await db
        .selectFrom('field_key')
        .selectAll()
        .where('scope_id', '=', resourceId)
        .where('state', '=', 'active')
        .executeTakeFirst();
    }
    const material = row ? this.unwrap(row) : null;
    if (!row || !material)
      throw new AppError('FIELD_KEY_UNAVAILABLE', [
        {
          field: 'resourceId',
          reason: `no usable data key for resource ${resourceId}`,
          reasonZh: '该资源的数据密钥不可用',
        },
      ]);
    const key = dataKeyOf(resourceId, row.version, material);
    this.keys.set(`${resourceId}:${row.version}`, key);
    this.active.set(resourceId, row.version);
    const alg = this.alg;
    return {
      alg,
      version: key.version,
      encrypt: (v) => encryptValue(alg, key, v),
      index: (v) => this.index(v, iv),
      indexVersion: iv,
    };
  }

  /**
   * The lookup index of a clear value under index-key version `version` (the same for every resource on that version):
   * `H<version>.…`. A version this node has not loaded yet (a rotation started on another node less than 30 s ago)
   * fails FIELD_KEY_UNAVAILABLE (503, retry) and forces a reload; `ensureIndex` loads it first where the caller can wait.
   * Without `version`: the active one, which only a resource created since the last rotation is sure to be on — a
   * lookup in a resource passes the resource's own version (`resource.index_key`).
   */
  index(v: string, version: number = this.indexActive): string {
    const key = this.indexKeys.get(version);
    if (!key) {
      if (!this.indexKeys.size) throw new Error('field keys not loaded (FieldKeys.refresh)');
      this.loadedAt = 0;
      throw new AppError('FIELD_KEY_UNAVAILABLE', [
        {
          field: 'indexKey',
          reason: `lookup-index key version ${version} is not loaded on this node yet`,
          reasonZh: '该检索索引密钥版本尚未在本节点加载，请稍后重试',
        },
      ]);
    }
    return indexValue(key, v, version);
  }

  /** Loads index-key version `version` if this node does not hold it yet (rotated on another node). */
  async ensureIndex(version: number, db: Db | Tx = this.db): Promise<void> {
    if (!this.indexKeys.has(version)) await this.refresh(true, db);
  }

  /** The index-key version new resources get (the active one). */
  get indexVersion(): number {
    return this.indexActive;
  }

  /** Every index-key version this node holds, retired ones included (leak tracing of exports delivered before). */
  indexVersions(): number[] {
    return [...this.indexKeys.keys()].sort((a, b) => a - b);
  }

  /** The lookup index of a value under every index-key version held: a lookup that must find any of them. */
  indexAll(v: string): string[] {
    return this.indexVersions().map((n) => this.index(v, n));
  }

  /**
   * The loaded data keys of one resource (every version), for a bulk export's worker threads to open that resource's
   * values with (src/dataapi/export-pool.ts); whatever they cannot open is decrypted here (`decrypt`) as always.
   */
  dataKeysOf(scope: number): DataKey[] {
    const out: DataKey[] = [];
    for (const k of this.keys.values()) if (k.scope === scope) out.push(k);
    return out;
  }

  activeVersion(resourceId: number): number | null {
    return this.active.get(resourceId) ?? null;
  }

  /**
   * The clear texts of many stored ciphertexts at once (field-cipher.ts decryptValues: one SM4 call per key for all of
   * them); null where `decrypt` would raise (tampered, key not loaded): leave those to `decrypt`, which reports them.
   */
  openAll(values: string[]): (string | null)[] {
    return decryptValues((d) => this.keys.get(`${d.scope}:${d.version}`), values);
  }

  /**
   * The clear text of a stored value; anything that is not a ciphertext passes unchanged. Fails closed: a value whose
   * tag does not verify raises FIELD_INTEGRITY_FAILED (audited as key.tamper), never a partial or guessed value.
   */
  decrypt(v: unknown): unknown {
    const d = typeof v === 'string' && v.startsWith('ENC1.') ? describe(v) : null;
    if (!d) return v;
    const key = this.keys.get(`${d.scope}:${d.version}`);
    if (!key) {
      this.loadedAt = 0;
      throw new AppError('FIELD_KEY_UNAVAILABLE', [
        {
          field: 'value',
          reason: `data key version ${d.version} of resource ${d.scope} is not loaded on this node yet`,
          reasonZh: '该值的数据密钥版本尚未在本节点加载，请稍后重试',
        },
      ]);
    }
    const out = decryptValue(key, v as string, d);
    if (out === null) {
      this.reportTamper({ scope: d.scope, version: d.version, reason: 'tag' });
      throw new AppError('FIELD_INTEGRITY_FAILED', [
        {
          field: 'value',
          reason: `a stored value of resource ${d.scope} failed its integrity check`,
          reasonZh: '存储的加密数据未通过完整性校验',
        },
      ]);
    }
    return out;
  }

  private reportTamper(e: TamperEvent) {
    const p = appendAudit(this.db, {
      action: 'key.tamper',
      decision: 'deny',
      resourceId: e.scope || null,
      targetType: 'field_key',
      targetId: `${e.scope}:${e.version}`,
      detail: { reason: e.reason },
    }).catch(() => {});
    this.audits.push(p);
  }

  /** Waits for the tamper records in flight (the HTTP error handler, tests). */
  async settle(): Promise<void> {
    const a = this.audits;
    this.audits = [];
    await Promise.all(a);
  }

  /** A new data key version for a resource: new writes use it at once (on this node; others within 30 s). */
  async newVersion(trx: Tx, resourceId: number): Promise<number> {
    const { rows } = await sql<{ v: number | null }>`
      SELECT max(version) AS v FROM field_key WHERE scope_id = ${resourceId} AND purpose = 'data'`.execute(
      trx,
    );
    const version = (rows[0]?.v ?? 0) + 1;
    await sql`UPDATE field_key SET state = 'retiring' WHERE scope_id = ${resourceId} AND state = 'active'`.execute(
      trx,
    );
    await this.createKey(trx, resourceId, 'data', version);
    return version;
  }

  /**
   * A new version of the lookup-index key (docs/ENCRYPTION.md "Rotating the lookup-index key"): active for resources
   * created from now on; the one it replaces becomes `retiring` until the rotation job has converted every resource.
   */
  async newIndexVersion(trx: Tx): Promise<number> {
    const { rows } = await sql<{ v: number | null }>`
      SELECT max(version) AS v FROM field_key WHERE scope_id = ${INDEX_SCOPE} AND purpose = 'index'`.execute(
      trx,
    );
    const version = (rows[0]?.v ?? 0) + 1;
    await sql`UPDATE field_key SET state = 'retiring'
      WHERE scope_id = ${INDEX_SCOPE} AND purpose = 'index' AND state = 'active'`.execute(trx);
    await this.createKey(trx, INDEX_SCOPE, 'index', version);
    return version;
  }

  /** Re-wraps every key not under the current KEK (KEK rotation: no value is rewritten). */
  async rewrapAll(trx: Tx): Promise<{ rewrapped: number; unreadable: number }> {
    const rows = await trx.selectFrom('field_key').selectAll().where('kek_id', '<>', this.kekId).execute();
    let rewrapped = 0;
    let unreadable = 0;
    for (const r of rows) {
      const material = this.unwrap(r);
      if (!material) {
        unreadable++;
        continue;
      }
      await trx
        .updateTable('field_key')
        .set({ wrapped: this.wrap(Number(r.scope_id), r.version, r.purpose, material), kek_id: this.kekId })
        .where('scope_id', '=', r.scope_id)
        .where('version', '=', r.version)
        .execute();
      rewrapped++;
    }
    return { rewrapped, unreadable };
  }

  /** Forgets loaded keys so the next refresh reads the table again (after a rotation). */
  invalidate() {
    this.loadedAt = 0;
  }
}
