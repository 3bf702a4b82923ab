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

/** Masks the personal fields of one record in place; non-personal fields pass through. */
export function maskRecord(
  record: Record<string, unknown>,
  fields: ReadonlyArray<{ code: string; personal: boolean; masking: Masking }>,
): Record<string, unknown> {
  for (const f of fields) {
    if (f.code in record && (f.personal || f.masking !== 'none')) {
      record[f.code] = maskValue(f.personal && f.masking === 'none' ? 'partial' : f.masking, record[f.code]);
    }
  }
  return record;
}
