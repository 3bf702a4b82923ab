import { createHash, createHmac, getHashes, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BLOCK_BYTES, type DigestAlg, digestInto, midstate } from './digest.js';
import { hmac, prefixedHash } from './secrets.js';

const algs = (['sha256', 'sm3'] as const).filter((a) => getHashes().includes(a));

const jsHash = (alg: DigestAlg, m: Buffer) => {
  const out = Buffer.alloc(32);
  digestInto(alg, null, 0, m, m.length, out, 0);
  return out;
};

describe('SHA-256 and SM3 in JavaScript (src/shared/digest.ts)', () => {
  it.each(algs)(
    '%s: equals node:crypto at every length around the padding boundaries, 0–300 bytes',
    (alg) => {
      for (let n = 0; n <= 300; n++) {
        const m = randomBytes(n);
        expect(jsHash(alg, m).equals(createHash(alg).update(m).digest()), `length ${n}`).toBe(true);
      }
    },
  );

  it('the published test vectors: SHA-256 and SM3 of "abc", SM3 of 64 bytes "abcd…" (GB/T 32905-2016 A.1, A.2)', () => {
    expect(jsHash('sha256', Buffer.from('abc')).toString('hex')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(jsHash('sm3', Buffer.from('abc')).toString('hex')).toBe(
      '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0',
    );
    expect(jsHash('sm3', Buffer.from('abcd'.repeat(16))).toString('hex')).toBe(
      'debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732',
    );
  });

  it('a midstate continues a hash: digest of block ‖ message from the block’s state', () => {
    for (const alg of algs) {
      const block = randomBytes(BLOCK_BYTES);
      const m = randomBytes(77);
      const out = Buffer.alloc(40);
      digestInto(alg, midstate(alg, block), BLOCK_BYTES, m, m.length, out, 8);
      expect(out.subarray(8).equals(createHash(alg).update(block).update(m).digest())).toBe(true);
    }
  });

  it('hmac and prefixedHash equal node:crypto for any key and message (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...algs),
        fc.uint8Array({ maxLength: 150 }),
        fc.array(fc.oneof(fc.string({ maxLength: 80 }), fc.uint8Array({ maxLength: 140 })), {
          maxLength: 4,
        }),
        (alg, key, rawParts) => {
          const k = Buffer.from(key);
          const parts = rawParts.map((p) => (typeof p === 'string' ? p : Buffer.from(p)));
          const ref = createHmac(alg, k);
          const refPrefixed = createHash(alg).update(k);
          for (const p of parts) {
            ref.update(p);
            refPrefixed.update(p);
          }
          expect(hmac(alg, k, ...parts).equals(ref.digest())).toBe(true);
          expect(prefixedHash(alg, k, ...parts).equals(refPrefixed.digest())).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
