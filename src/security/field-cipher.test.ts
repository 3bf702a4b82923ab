import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  dataKeyOf,
  decryptValue,
  decryptValues,
  encryptValue,
  INDEX_HASH,
  indexValue,
  SM4_SUPPORTED,
  sm4Ctr,
} from './field-cipher.js';

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

  it('decryptValues opens a batch exactly as decryptValue opens each value: keys mixed, AES, tampered, unknown keys', () => {
    const k1 = dataKeyOf(7, 1, randomBytes(64));
    const k2 = dataKeyOf(7, 2, randomBytes(64));
    const k3 = dataKeyOf(9, 1, randomBytes(64));
    const texts = [
      '',
      '4',
      '440103199003071234',
      '临江市江城区滨江路88号3栋',
      'x'.repeat(300),
      'y'.repeat(16),
    ];
    const values: string[] = [];
    for (const t of texts)
      for (const k of [k1, k2, k3]) values.push(encryptValue('s', k, t), encryptValue('a', k, t));
    // tampered: one ciphertext byte flipped, a tag cut short, another key's header on a value
    const flip = (v: string) => {
      const at = v.lastIndexOf('.') + 1;
      const b = Buffer.from(v.slice(at), 'base64url');
      b[20] ^= 1;
      return v.slice(0, at) + b.toString('base64url');
    };
    values.push(flip(values[4]), values[6].slice(0, -4), values[2].replace('ENC1.s.7.2.', 'ENC1.s.7.1.'));
    values.push('not a ciphertext', encryptValue('s', dataKeyOf(11, 1, randomBytes(64)), 'no key here'));
    const keys = new Map([k1, k2, k3].map((k) => [`${k.scope}:${k.version}`, k]));
    const single = values.map((v) => {
      const m = /^ENC1\.[sa]\.(\d+)\.(\d+)\./.exec(v);
      const k = m ? keys.get(`${m[1]}:${m[2]}`) : undefined;
      return k ? decryptValue(k, v) : null;
    });
    const batch = decryptValues((d) => keys.get(`${d.scope}:${d.version}`), values);
    expect(batch).toEqual(single);
    expect(batch.filter((t) => t === null)).toHaveLength(5);
    expect(batch.slice(0, texts.length * 6)).toEqual(texts.flatMap((t) => Array(6).fill(t)));
  });

  it('indexValue stays the HMAC every stored lookup hash was made with (node:crypto form), any version', () => {
    const key = randomBytes(32);
    for (const v of ['', '440103199003071234', '91440300MA5EXAMPLE', '张三', 'x'.repeat(2000)])
      for (const version of [1, 7])
        expect(indexValue(key, v, version)).toBe(
          `H${version}.${createHmac(INDEX_HASH, key).update(v, 'utf8').digest('base64url')}`,
        );
  });
});
