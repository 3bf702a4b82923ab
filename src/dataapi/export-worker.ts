import { parentPort } from 'node:worker_threads';
import { type DataKey, decryptValues } from '../security/field-cipher.js';
import { serveWorker } from '../shared/worker-pool.js';
import { ledgerDigests } from './ledger-digests.js';

/*
 * A bulk export's worker thread (export-pool.ts): opens a batch's encrypted values and computes a batch's ledger
 * digests with the functions the export's thread would call (field-cipher.ts decryptValues, decryptValue's batch form; ledger-digests.ts
 * ledgerDigests). Nothing is decided here: a value it cannot open comes back null and the export's thread decrypts it
 * itself through the keyring, which raises and audits the failure exactly as without workers.
 */

const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** Keys and secrets kept between messages (by content), so their per-key preparations (HMAC pads, SM4 cipher) last. */
const keys = new Map<string, DataKey>();
const secrets = new Map<string, Buffer>();

function dataKey(k: DataKey): DataKey {
  const id = `${k.scope}:${k.version}:${buf(k.sm4Enc).toString('hex')}:${buf(k.sm4Mac).toString('hex')}:${buf(k.aes).toString('hex')}`;
  let kept = keys.get(id);
  if (!kept) {
    kept = {
      scope: k.scope,
      version: k.version,
      sm4Enc: buf(k.sm4Enc),
      sm4Mac: buf(k.sm4Mac),
      aes: buf(k.aes),
    };
    if (keys.size > 1000) keys.clear();
    keys.set(id, kept);
  }
  return kept;
}

export interface DecryptMessage {
  op: 'decrypt';
  keys: DataKey[];
  values: string[];
}

export interface DigestMessage {
  op: 'digests';
  secret: Uint8Array;
  codes: string[];
  /** JSON of the batch's record keys (string[]) and cell texts (string[][]): one string each crosses the threads */
  keys: string;
  texts: string;
}

function decrypt(m: DecryptMessage): (string | null)[] {
  const byId = new Map<string, DataKey>();
  for (const k of m.keys) {
    const kept = dataKey(k);
    byId.set(`${kept.scope}:${kept.version}`, kept);
  }
  return decryptValues((d) => byId.get(`${d.scope}:${d.version}`), m.values);
}

function digests(m: DigestMessage) {
  const hex = buf(m.secret).toString('hex');
  let secret = secrets.get(hex);
  if (!secret) {
    secret = Buffer.from(hex, 'hex');
    if (secrets.size > 100) secrets.clear();
    secrets.set(hex, secret);
  }
  return ledgerDigests(secret, m.codes, JSON.parse(m.keys), JSON.parse(m.texts));
}

if (parentPort)
  serveWorker(parentPort, (m) => ({
    value:
      m.op === 'decrypt' ? decrypt(m as unknown as DecryptMessage) : digests(m as unknown as DigestMessage),
  }));
