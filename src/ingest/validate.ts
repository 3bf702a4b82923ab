import type { StoredField } from '../catalog/store.js';
import { maskValue } from '../dataapi/masking.js';
import { isCiphertext } from '../security/field-cipher.js';
import type { ErrorDetail } from '../shared/errors.js';
import { normaliseValue, type Problem, problem, recordHash } from './model.js';

/**
 * The value a report shows for a finding: masked with the field's own rule when the field is personal or sensitive
 * (src/dataapi/masking.ts, the one masking implementation), and cut to 100 characters (a 10 MB cell is not echoed).
 */
export function shownValue(f: Pick<StoredField, 'personal' | 'sensitive' | 'masking'>, raw: string): string {
  const cut = raw.length > 100 ? `${raw.slice(0, 100)}…` : raw;
  if (!(f.personal || f.sensitive)) return cut;
  return String(maskValue(f.masking === 'none' ? 'partial' : f.masking, cut));
}

export type RowOutcome =
  | { ok: true; values: (string | null)[]; key: string; hash: string }
  | { ok: false; errors: ErrorDetail[] };

/**
 * Validates one record given as cells already placed in field order (null = column absent). In delete mode only the
 * key fields are read (XT Art 15: every record carries its key identifier).
 */
export function validateRecord(
  cells: (string | null)[],
  fields: StoredField[],
  row: number,
  keysOnly = false,
): RowOutcome {
  const values: (string | null)[] = new Array(fields.length).fill(null);
  let errors: ErrorDetail[] | null = null;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    if (keysOnly && !f.isKey) continue;
    const raw = cells[i] ?? '';
    const res = normaliseValue(f, raw);
    if ('reason' in res) {
      errors ??= [];
      errors.push({ row, field: f.code, ...res, value: shownValue(f, raw) });
    } else if (isCiphertext(res.value)) {
      // the stored form of an encrypted value is reserved: a clear value of that shape would be read as one
      errors ??= [];
      errors.push({
        row,
        field: f.code,
        ...problem(
          'VALUE_RESERVED',
          'the value has the form of a stored ciphertext',
          '取值与加密存储格式冲突',
        ),
        value: shownValue(f, raw),
      });
    } else values[i] = res.value;
  }
  if (errors) return { ok: false, errors };
  const keys = keyPositions(fields);
  let key = '';
  for (let k = 0; k < keys.length; k++) key += (k ? '|' : '') + (values[keys[k]] ?? '');
  return { ok: true, values, key, hash: recordHash(values) };
}

/** Positions of the key fields, worked out once per field list (an import reads its fields once). */
const keyPositionsOf = new WeakMap<readonly StoredField[], number[]>();
function keyPositions(fields: readonly StoredField[]): number[] {
  let k = keyPositionsOf.get(fields);
  if (!k) {
    k = fields.flatMap((f, i) => (f.isKey ? [i] : []));
    keyPositionsOf.set(fields, k);
  }
  return k;
}

/** Places an NDJSON/JSON object's properties (by field code or name) in field order. */
export function objectCells(
  obj: unknown,
  fields: StoredField[],
  row: number,
): { cells: (string | null)[] } | { errors: ErrorDetail[] } {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj))
    return {
      errors: [
        {
          row,
          ...problem(
            'BAD_RECORD',
            'not a JSON object with field codes as keys',
            '不是以信息项代码为键的 JSON 对象',
          ),
        },
      ],
    };
  const cells: (string | null)[] = new Array(fields.length).fill(null);
  const errors: ErrorDetail[] = [];
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    const i = fields.findIndex((f) => f.code === k || f.name === k);
    if (i < 0) {
      errors.push({
        row,
        field: k.slice(0, 100),
        ...problem(
          'UNKNOWN_COLUMN',
          'property matches no field of this resource',
          '属性与本资源的信息项不匹配',
        ),
      });
      continue;
    }
    if (v === null || v === undefined) continue;
    if (typeof v === 'object') {
      errors.push({
        row,
        field: fields[i].code,
        ...problem(
          'BAD_RECORD',
          'a value must be a string, number or boolean',
          '取值须为字符串、数值或布尔值',
        ),
      });
      continue;
    }
    cells[i] = String(v);
  }
  return errors.length ? { errors } : { cells };
}

export type { Problem };
