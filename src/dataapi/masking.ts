import type { Masking } from '../catalog/model.js';

/*
 * DG Art 33 / XT Art 35: personal data is masked (脱敏) when it leaves the platform or is shown.
 * GB/T 37964 suppression: keep just enough to recognise a record (region prefix, last digits), hide the rest.
 */
function keepEnds(s: string, head: number, tail: number): string {
  const chars = Array.from(s);
  if (chars.length <= head + tail) return '*'.repeat(chars.length);
  return (
    chars.slice(0, head).join('') +
    '*'.repeat(chars.length - head - tail) +
    chars.slice(chars.length - tail).join('')
  );
}

export function maskValue(rule: Masking, value: unknown): unknown {
  if (value === null || value === undefined || rule === 'none') return value;
  const s = value instanceof Date ? value.toISOString() : String(value);
  switch (rule) {
    case 'idNumber':
      return keepEnds(s, 3, 4); // 440***********1234
    case 'name': {
      const chars = Array.from(s);
      return chars.length <= 1 ? '*' : chars[0] + '*'.repeat(chars.length - 1); // 张*
    }
    case 'phone':
      return keepEnds(s, 3, 4); // 138****5678
    case 'address': {
      const chars = Array.from(s);
      return chars.slice(0, Math.min(6, Math.ceil(chars.length / 2))).join('') + '****';
    }
    case 'creditCode':
      return keepEnds(s, 8, 2);
    case 'partial': {
      const n = Array.from(s).length;
      const keep = Math.floor(n / 4);
      return keepEnds(s, keep, keep);
    }
    default:
      return '****';
  }
}

/**
 * A personal date (birth date…) is a quasi-identifier: it keeps its year at most, and nothing at all when the
 * same record carries a masked ID number, whose hidden middle digits *are* the birth date (GB 11643). Handing
 * out `19******06` next to `446***********4088` left ~400 candidates, found by enumerating key lookups.
 */
function maskDate(value: unknown, keepYear: boolean): unknown {
  if (value === null || value === undefined) return value;
  const s = value instanceof Date ? value.toISOString().slice(0, 10) : String(value);
  return keepYear && /^\d{4}/.test(s) ? `${s.slice(0, 4)}-**-**` : '****-**-**';
}

export interface MaskedField {
  code: string;
  personal: boolean;
  sensitive?: boolean;
  masking: Masking;
  type?: string;
}

/**
 * Masks one record in place (the one masking implementation: data API, previews, exports). Personal and
 * sensitive fields are always masked, by their rule or `partial` when none is set; other fields pass through
 * unless they carry a rule.
 */
export function maskRecord(
  record: Record<string, unknown>,
  fields: ReadonlyArray<MaskedField>,
): Record<string, unknown> {
  const idMasked = fields.some((f) => f.masking === 'idNumber' && record[f.code] != null);
  for (const f of fields) {
    if (!(f.code in record)) continue;
    const protectedField = f.personal || f.sensitive === true;
    if (protectedField && (f.type === 'date' || f.type === 'datetime')) {
      record[f.code] = maskDate(record[f.code], !idMasked);
    } else if (protectedField || f.masking !== 'none') {
      record[f.code] = maskValue(
        protectedField && f.masking === 'none' ? 'partial' : f.masking,
        record[f.code],
      );
    }
  }
  return record;
}
