import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { dataKeyOf, decryptValue, encryptValue, SM4_SUPPORTED, sm4Ctr } from './field-cipher.js';

describe.skipIf(!SM4_SUPPORTED)('SM4-CTR keystream (one ECB cipher per key)', () => {
  const openssl = (key: Buffer, iv: Buffer, data: Buffer) => {
    const c = createCipheriv('sm4-ctr', key, iv);
    return Buffer.concat([c.update(data), c.final()]);
  };

  it("gives exactly OpenSSL's sm4-ctr bytes for every length and for counters that carry", () => {
    const key = randomBytes(16);
    const ivs = [
      randomBytes(16),
      Buffer.alloc(16, 0xff), // wraps to zero after the first block
      Buffer.concat([randomBytes(8), Buffer.alloc(8, 0xff)]), // carries into the upper half
      Buffer.concat([randomBytes(14), Buffer.from([0xff, 0xfe])]),
    ];
    for (const iv of ivs)
      for (let len = 0; len <= 70; len++) {
        const data = randomBytes(len);
        expect(sm4Ctr(key, iv, data).equals(openssl(key, iv, data)), `len ${len}`).toBe(true);
      }
  });

  it('keeps one keystream per key: two keys, interleaved, stay apart', () => {
    const k1 = randomBytes(16);
    const k2 = randomBytes(16);
    const iv = randomBytes(16);
    const data = randomBytes(40);
    for (let i = 0; i < 3; i++) {
      expect(sm4Ctr(k1, iv, data).equals(openssl(k1, iv, data))).toBe(true);
      expect(sm4Ctr(k2, iv, data).equals(openssl(k2, iv, data))).toBe(true);
    }
    expect(sm4Ctr(k1, iv, data).equals(sm4Ctr(k2, iv, data))).toBe(false);
  });

  it('round-trips values, and a value sealed by the OpenSSL form opens', () => {
    const key = dataKeyOf(7, 1, randomBytes(64));
    for (const v of ['', '440103199003071234', '临江市江城区滨江路88号3栋', 'x'.repeat(300)])
      expect(decryptValue(key, encryptValue('s', key, v))).toBe(v);
    // a value sealed the previous way (a cipher context per value, createCipheriv('sm4-ctr')): every deployment's data
    const iv = randomBytes(16);
    const ct = openssl(key.sm4Enc, iv, Buffer.from('440103199003071234'));
    const header = 'ENC1.s.7.1.';
    const tag = createHmac('sm3', key.sm4Mac).update(header).update(iv).update(ct).digest().subarray(0, 16);
    expect(decryptValue(key, header + Buffer.concat([iv, ct, tag]).toString('base64url'))).toBe(
      '440103199003071234',
    );
  });
});
