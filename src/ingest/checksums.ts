// Check characters for the two key identifiers every shared record carries (XT Art 15):
// the citizen ID number (GB 11643-1999) and the unified social credit code (GB 32100-2015).
// Pure and allocation-light: ingest runs these on every row of a bulk upload.

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
// ISO 7064 MOD 11-2: remainder r maps to this string's r-th character.
const ID_CHECK_CHARS = '10X98765432';
const ID_FIRST17_RE = /^\d{17}$/;
const ID_RE = /^\d{17}[\dX]$/;

// The standard sets no range for birth years; 1900–2100 rejects obvious typos without excluding anyone alive.
const MIN_BIRTH_YEAR = 1900;
const MAX_BIRTH_YEAR = 2100;

/** GB 11643-1999 check character for the first 17 digits. Throws on anything but 17 digits. */
export function idNumberCheckChar(first17: string): string {
  if (!ID_FIRST17_RE.test(first17)) {
    throw new RangeError(`ID number body must be 17 digits, got "${first17}"`);
  }
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (first17.charCodeAt(i) - 48) * ID_WEIGHTS[i];
  return ID_CHECK_CHARS[sum % 11];
}

function isRealDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days =
    month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  return day <= days;
}

export interface IdNumberOptions {
  /**
   * 'YYYY-MM-DD'. When given, a birth date after this day is rejected. Not defaulted to today,
   * so validating the same file gives the same answer on any day and in any test.
   */
  asOf?: string;
}

/**
 * GB 11643-1999: 6-digit address code + birth date YYYYMMDD + 3-digit sequence + check character.
 * Only an upper-case 'X' is accepted; normalise case before calling if the source is lenient.
 */
export function isValidIdNumber(s: string, opts: IdNumberOptions = {}): boolean {
  if (typeof s !== 'string' || !ID_RE.test(s)) return false;
  const year = Number(s.slice(6, 10));
  const month = Number(s.slice(10, 12));
  const day = Number(s.slice(12, 14));
  if (year < MIN_BIRTH_YEAR || year > MAX_BIRTH_YEAR || !isRealDate(year, month, day)) return false;
  if (opts.asOf !== undefined && `${s.slice(6, 10)}-${s.slice(10, 12)}-${s.slice(12, 14)}` > opts.asOf) {
    return false;
  }
  return idNumberCheckChar(s.slice(0, 17)) === s[17];
}

export interface IdNumberParts {
  regionCode: string;
  /** 'YYYY-MM-DD' */
  birthDate: string;
  /** GB 11643-1999: an odd sequence code is assigned to men, an even one to women. */
  gender: 'male' | 'female';
}

/** The facts encoded in a valid ID number, or null when it is not valid. */
export function parseIdNumber(s: string): IdNumberParts | null {
  if (!isValidIdNumber(s)) return null;
  return {
    regionCode: s.slice(0, 6),
    birthDate: `${s.slice(6, 10)}-${s.slice(10, 12)}-${s.slice(12, 14)}`,
    gender: (s.charCodeAt(16) - 48) % 2 === 1 ? 'male' : 'female',
  };
}

/** GB 32100-2015 code characters: digits and capitals without I, O, S, V, Z. Index = character value. */
export const CREDIT_CODE_CHARSET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const CREDIT_VALUES: Record<string, number> = Object.fromEntries(
  Array.from(CREDIT_CODE_CHARSET, (c, i) => [c, i] as const),
);

/** GB 32100-2015 check character for the first 17 characters. Throws on a character outside the charset. */
export function creditCodeCheckChar(first17: string): string {
  if (first17.length !== 17) {
    throw new RangeError(`Credit code body must be 17 characters, got ${first17.length}`);
  }
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const v = CREDIT_VALUES[first17[i]];
    if (v === undefined) throw new RangeError(`"${first17[i]}" is not a GB 32100-2015 code character`);
    sum += v * CREDIT_WEIGHTS[i];
  }
  return CREDIT_CODE_CHARSET[(31 - (sum % 31)) % 31];
}

/** GB 32100-2015: 18 characters from the code charset whose last one is the check character. */
export function isValidCreditCode(s: string): boolean {
  if (typeof s !== 'string' || s.length !== 18) return false;
  for (let i = 0; i < 18; i++) if (CREDIT_VALUES[s[i]] === undefined) return false;
  return creditCodeCheckChar(s.slice(0, 17)) === s[17];
}

const ORG_CODE_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2];
const ORG_CODE_BODY_RE = /^[0-9A-Z]{8}$/;

/**
 * GB 11714-1997 check character of the 8-character organisation code body, which GB 32100-2015
 * keeps as positions 9–17 of the credit code. Letters count A=10 … Z=35 here, unlike the credit
 * code's own alphabet.
 */
export function orgCodeCheckChar(first8: string): string {
  if (!ORG_CODE_BODY_RE.test(first8)) {
    throw new RangeError(`Organisation code body must be 8 digits or capitals, got "${first8}"`);
  }
  let sum = 0;
  for (let i = 0; i < 8; i++) {
    const c = first8.charCodeAt(i);
    sum += (c <= 57 ? c - 48 : c - 55) * ORG_CODE_WEIGHTS[i];
  }
  const r = 11 - (sum % 11);
  return r === 10 ? 'X' : r === 11 ? '0' : String(r);
}

const MOBILE_RE = /^1[3-9]\d{9}$/;

/** Mainland China mobile number without country code or separators (number segments 13x–19x). */
export function isValidMobilePhone(s: string): boolean {
  return typeof s === 'string' && MOBILE_RE.test(s);
}
