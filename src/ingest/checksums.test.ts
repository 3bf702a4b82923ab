import { describe, expect, it } from 'vitest';
import {
  CREDIT_CODE_CHARSET,
  creditCodeCheckChar,
  idNumberCheckChar,
  isValidCreditCode,
  isValidIdNumber,
  isValidMobilePhone,
  orgCodeCheckChar,
  parseIdNumber,
} from './checksums.js';

// Public sample from GB 11643-1999 explanations, checked by hand:
//   digits   1 1  0 1 0 5 1 9 4 9 1 2  3 1 0 0 2
//   weights  7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
//   products 7 9  0 5 0 20 2 9 24 27 7 18 30 5 0 0 4  → sum 167, 167 mod 11 = 2 → "10X98765432"[2] = 'X'
const SAMPLE_ID = '11010519491231002X';

// Commonly cited credit code, checked by hand (M = 21, Y = 30 in the GB 32100 charset):
//   products 9 3 27 135 0 26 0 0 420 0 0 0 8 0 0 900 112 → sum 1640, 1640 mod 31 = 28,
//   (31 − 28) mod 31 = 3 → '3'.
// Its organisation code part M000100Y4 also checks under GB 11714: 3·22 + 5·1 + 2·34 = 139,
// 11 − 139 mod 11 = 4.
const SAMPLE_CREDIT_CODE = '91350100M000100Y43';

function corruptions(s: string, alphabet: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i++) {
    for (const c of alphabet) {
      if (c !== s[i]) out.push(s.slice(0, i) + c + s.slice(i + 1));
    }
  }
  return out;
}

describe('citizen ID number', () => {
  it('GB 11643: computes the check character of the public sample', () => {
    expect(idNumberCheckChar(SAMPLE_ID.slice(0, 17))).toBe('X');
    expect(isValidIdNumber(SAMPLE_ID)).toBe(true);
  });

  it('GB 11643: rejects a wrong check digit', () => {
    for (const c of '0123456789') expect(isValidIdNumber(SAMPLE_ID.slice(0, 17) + c)).toBe(false);
  });

  it('GB 11643: MOD 11-2 detects every single-digit corruption', () => {
    // A corrupted birth date may also fail the date check; either way it must be rejected.
    for (const bad of corruptions(SAMPLE_ID, '0123456789X')) expect(isValidIdNumber(bad)).toBe(false);
  });

  it('GB 11643: rejects wrong length and non-digit characters', () => {
    expect(isValidIdNumber(SAMPLE_ID.slice(0, 17))).toBe(false);
    expect(isValidIdNumber(SAMPLE_ID + '0')).toBe(false);
    expect(isValidIdNumber('')).toBe(false);
    expect(isValidIdNumber('1101051949123100AX')).toBe(false);
    // First-generation 15-digit numbers are out of scope of the 18-character standard.
    expect(isValidIdNumber('110105491231002')).toBe(false);
  });

  it('GB 11643: accepts only an upper-case X', () => {
    expect(isValidIdNumber('11010519491231002x')).toBe(false);
  });

  it('GB 11643: birth date must be a real calendar date', () => {
    const withDate = (yyyymmdd: string) => {
      const body = `440308${yyyymmdd}001`;
      return body + idNumberCheckChar(body);
    };
    expect(isValidIdNumber(withDate('20000229'))).toBe(true);
    expect(isValidIdNumber(withDate('19000228'))).toBe(true);
    expect(isValidIdNumber(withDate('19000229'))).toBe(false);
    expect(isValidIdNumber(withDate('20230229'))).toBe(false);
    expect(isValidIdNumber(withDate('19901301'))).toBe(false);
    expect(isValidIdNumber(withDate('19900431'))).toBe(false);
    expect(isValidIdNumber(withDate('19900100'))).toBe(false);
    expect(isValidIdNumber(withDate('18991231'))).toBe(false);
    expect(isValidIdNumber(withDate('21010101'))).toBe(false);
  });

  it('GB 11643: a birth date after asOf is rejected only when asOf is given', () => {
    const body = '44030820260102001';
    const id = body + idNumberCheckChar(body);
    expect(isValidIdNumber(id)).toBe(true);
    expect(isValidIdNumber(id, { asOf: '2026-01-01' })).toBe(false);
    expect(isValidIdNumber(id, { asOf: '2026-01-02' })).toBe(true);
  });

  it('GB 11643: odd sequence code means male, even means female', () => {
    expect(parseIdNumber(SAMPLE_ID)).toEqual({
      regionCode: '110105',
      birthDate: '1949-12-31',
      gender: 'female',
    });
    const body = '44030819900101001';
    expect(parseIdNumber(body + idNumberCheckChar(body))?.gender).toBe('male');
    expect(parseIdNumber(`${body}0`)).toBeNull();
  });

  it('GB 11643: check character input must be 17 digits', () => {
    expect(() => idNumberCheckChar('1101051949123100')).toThrow(RangeError);
    expect(() => idNumberCheckChar('1101051949123100A')).toThrow(RangeError);
  });
});

describe('unified social credit code', () => {
  it('GB 32100: computes the check character of the cited sample', () => {
    expect(creditCodeCheckChar(SAMPLE_CREDIT_CODE.slice(0, 17))).toBe('3');
    expect(isValidCreditCode(SAMPLE_CREDIT_CODE)).toBe(true);
  });

  it('GB 32100: rejects a wrong check character', () => {
    for (const c of CREDIT_CODE_CHARSET) {
      if (c !== '3') expect(isValidCreditCode(SAMPLE_CREDIT_CODE.slice(0, 17) + c)).toBe(false);
    }
  });

  it('GB 32100: MOD 31 detects every single-character corruption', () => {
    for (const bad of corruptions(SAMPLE_CREDIT_CODE, CREDIT_CODE_CHARSET)) {
      expect(isValidCreditCode(bad)).toBe(false);
    }
  });

  it('GB 32100: rejects characters outside the charset (I, O, S, V, Z, lower case)', () => {
    for (const c of ['I', 'O', 'S', 'V', 'Z', 'm']) {
      expect(isValidCreditCode(`91350100${c}000100Y43`)).toBe(false);
    }
    expect(() => creditCodeCheckChar('91350100O000100Y4')).toThrow(RangeError);
  });

  it('GB 32100: rejects wrong length', () => {
    expect(isValidCreditCode(SAMPLE_CREDIT_CODE.slice(0, 17))).toBe(false);
    expect(isValidCreditCode(SAMPLE_CREDIT_CODE + '0')).toBe(false);
    expect(isValidCreditCode('')).toBe(false);
    expect(() => creditCodeCheckChar('91350100M000100Y')).toThrow(RangeError);
  });

  it('GB 32100: every check value 0–30 is reachable and round-trips', () => {
    const seen = new Set<string>();
    for (let n = 0; n < 2000 && seen.size < 31; n++) {
      const body = `11446000${String(n).padStart(9, '0')}`;
      const check = creditCodeCheckChar(body);
      seen.add(check);
      expect(isValidCreditCode(body + check)).toBe(true);
    }
    expect(seen.size).toBe(31);
  });

  it('GB 11714: organisation code check character', () => {
    expect(orgCodeCheckChar('M000100Y')).toBe('4');
    // 0·3 + 0·7 + … + 1·2 = 2 → 11 − 2 = 9
    expect(orgCodeCheckChar('00000001')).toBe('9');
    // 11 − 0 = 11 → '0'
    expect(orgCodeCheckChar('00000000')).toBe('0');
    // 6·2 = 12, 12 mod 11 = 1 → 11 − 1 = 10 → 'X'
    expect(orgCodeCheckChar('00000006')).toBe('X');
  });
});

describe('mobile phone', () => {
  it('accepts 11-digit mainland mobile numbers 13x–19x', () => {
    for (const p of ['13800138000', '15012345678', '19912345678', '16612345678']) {
      expect(isValidMobilePhone(p)).toBe(true);
    }
  });

  it('rejects landlines, wrong prefixes, separators and wrong length', () => {
    for (const p of [
      '12012345678',
      '10012345678',
      '1380013800',
      '138001380000',
      '138-0013-8000',
      '+8613800138000',
      '0755-12345678',
      '',
    ]) {
      expect(isValidMobilePhone(p)).toBe(false);
    }
  });
});
