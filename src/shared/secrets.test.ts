import { createHash, createHmac, getHashes, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hmac, keyedHash, keyedHashBytes, prefixedHash } from './secrets.js';

const algs = (['sha256', 'sm3'] as const).filter((a) => getHashes().includes(a));

describe('hmac (one-shot, pads prepared per key)', () => {
  const reference = (alg: string, key: Buffer, parts: (string | Buffer)[]) => {
    const h = createHmac(alg, key);
    for (const p of parts) h.update(p);
    return h.digest();
  };
  const messages: (string | Buffer)[][] = [
    [''],
    ['row\n["440***********1234","张*","临江市江城区****"]'],
    ['emoji 😀 and a lone surrogate \uD800 end'],
    ['x'.repeat(70_000)], // longer than the shared scratch buffer may grow
    ['中'.repeat(30_000)],
    ['ENC1.s.7.1.', randomBytes(16), randomBytes(18)],
    [randomBytes(0), 'a', randomBytes(200), 'b'],
  ];

  it.each(algs)('%s: equals createHmac for keys of every length class and any message', (alg) => {
    for (const len of [0, 1, 16, 32, 63, 64, 65, 200]) {
      const key = randomBytes(len);
      for (const parts of messages)
        expect(hmac(alg, key, ...parts).equals(reference(alg, key, parts)), `key ${len}`).toBe(true);
    }
  });

  it('keeps each key apart when keys and hashes interleave', () => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    for (let i = 0; i < 5; i++)
      for (const alg of algs) {
        expect(hmac(alg, k1, `m${i}`).equals(reference(alg, k1, [`m${i}`]))).toBe(true);
        expect(hmac(alg, k2, `m${i}`).equals(reference(alg, k2, [`m${i}`]))).toBe(true);
      }
    expect(hmac('sha256', k1, 'm').equals(hmac('sha256', k2, 'm'))).toBe(false);
  });

  it('keyedHash is HMAC-SHA256 as hex, keyedHashBytes its bytes', () => {
    const secret = randomBytes(32);
    expect(keyedHash(secret, 'key\n440103199003071234')).toBe(
      createHmac('sha256', secret).update('key\n440103199003071234').digest('hex'),
    );
    expect(keyedHashBytes(secret, 'abc').toString('hex')).toBe(keyedHash(secret, 'abc'));
  });

  it('prefixedHash is the hash of prefix and parts, also beyond the shared buffer', () => {
    for (const alg of algs)
      for (const parts of messages) {
        const prefix = randomBytes(45);
        const h = createHash(alg).update(prefix);
        for (const p of parts) h.update(p);
        expect(prefixedHash(alg, prefix, ...parts).equals(h.digest())).toBe(true);
      }
  });
});
