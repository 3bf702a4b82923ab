import type { FieldType, Validator } from '../catalog/model.js';
import { codeForm, normaliseDate } from '../ingest/model.js';

/*
 * The ONE canonical text of a field's value for the keyed lookup hash (docs/ENCRYPTION.md "Join keys and lookups of
 * other types"). Every hash of a field value goes through `indexText` first: ingest's lookup index of an encrypted
 * field (ingest/pipeline.ts `stagedSealer`), a clear source's join index (join-index.ts `writeJoinIndex`, merges,
 * rollbacks, the group conversion, a library save), the conversion of a clear column (key-convert.ts), the index-key
 * rotation (index-rotation.ts), the clear forms a library's hashes are mapped back to (join-reverse.ts), the clear-keyed
 * libraries re-keyed by a conversion or a save, and the data API's equality filters and verification
 * (dataapi/filter.ts). The clear-keyed assembly keys its records by the same text computed in SQL (`indexTextSql`), so a
 * library keyed in clear and the same library keyed by hashes group the same values together.
 *
 * Why: the same value reaches the hash in several spellings — ingest keeps a decimal as written (`+1.50`, `.5`), the
 * clear column prints it as PostgreSQL does (`1.50`, `0.5`), a consumer verifies `1.5`; an integer `007` is stored `7`
 * and may be asked as `007`; a date-time is written with an offset. Hashing any spelling gave different hashes for one
 * value, so the same person in an encrypted and a clear source did not join.
 *
 * The canonical text, by type (equal values ⇔ equal text):
 *   - integer: the number in decimal, no sign for zero or positives, no leading zeros (`007`, `+7` → `7`; `-0` → `0`);
 *   - decimal: the number with no `+`, no leading zeros, at least one digit before the point, no trailing zeros after
 *     it and no point left alone (`+1.50`, `1.5`, `01.500` → `1.5`; `.5`, `0.50` → `0.5`; `10.0`, `010` → `10`;
 *     `-0.0` → `0`): equal numbers, whatever their scale, are one key — as PostgreSQL's `numeric` equality has it;
 *   - date: `YYYY-MM-DD` (`2020-1-5`, `2020/01/05` → `2020-01-05`);
 *   - date-time: ISO 8601 in UTC with milliseconds (as ingest stores it);
 *   - a string validated as an ID number or credit code: trimmed, upper case (as ingest and every by-key lookup
 *     normalise it); any other string, and booleans: as given.
 * A value that does not parse as its type is hashed as given (it cannot equal a stored value anyway).
 */

export interface IndexTextField {
  type: FieldType | string;
  validator?: Validator | string | null;
}

const INTEGER = /^([+-]?)0*([0-9]+)$/;
const DECIMAL = /^([+-]?)([0-9]*)(?:\.([0-9]*))?$/;

export function indexText(f: IndexTextField, value: string): string {
  switch (f.type) {
    case 'integer': {
      const m = INTEGER.exec(value.trim());
      if (!m) return value;
      const digits = m[2].replace(/^0+(?=[0-9])/, '');
      return m[1] === '-' && digits !== '0' ? `-${digits}` : digits;
    }
    case 'decimal': {
      const m = DECIMAL.exec(value.trim());
      if (!m || (!m[2] && !m[3])) return value;
      const int = m[2].replace(/^0+/, '') || '0';
      const frac = (m[3] ?? '').replace(/0+$/, '');
      const abs = frac ? `${int}.${frac}` : int;
      return m[1] === '-' && abs !== '0' ? `-${abs}` : abs;
    }
    case 'date':
      return normaliseDate(value.trim()) ?? value;
    case 'datetime': {
      const t = Date.parse(value.trim());
      return Number.isNaN(t) ? value : new Date(t).toISOString();
    }
    case 'string':
      return codeForm(f.validator, value);
    default:
      return value;
  }
}

/**
 * A clear column's value as ingest normalised it (src/ingest/model.ts normaliseValue), so `recordHash` over the row
 * gives what an import computes: dates as YYYY-MM-DD, date-times as ISO 8601 in UTC with milliseconds, integers and
 * booleans as PostgreSQL prints them. A decimal is kept as written on import, so one written in a non-canonical form
 * (`+1`, `.5`, `01.5`) is printed differently here (docs/ENCRYPTION.md "Not done"). Independent of the session's
 * DateStyle and TimeZone.
 */
export function normalisedText(f: Pick<IndexTextField, 'type'>, expr: string): string {
  if (f.type === 'datetime') return `to_char((${expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  if (f.type === 'date') return `to_char(${expr}, 'YYYY-MM-DD')`;
  return `(${expr})::text`;
}

/**
 * `indexText` in SQL, for a clear column `expr` of the field's own type: what a clear-keyed library keys its records by
 * (baselib/assemble.ts), so that `indexText(key)` of a clear-keyed library's key is the key itself and re-keying it
 * clear → index(clear) never merges two records. Agrees with `indexText` on every value PostgreSQL prints for the type
 * (test/security/join-key-types.test.ts).
 */
export function indexTextSql(f: IndexTextField, expr: string): string {
  if (f.type === 'decimal')
    return `regexp_replace(regexp_replace((${expr})::text, '(\\.[0-9]*?)0+$', '\\1'), '\\.$', '')`;
  if (f.type === 'string' && (f.validator === 'idNumber' || f.validator === 'creditCode'))
    return `upper(btrim((${expr})::text))`;
  return normalisedText(f, expr);
}
