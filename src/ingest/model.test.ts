import { describe, expect, it } from 'vitest';
import type { FieldDef } from '../catalog/model.js';
import { idNumberCheckChar } from './checksums.js';
import { decodeCsv, mapHeader, normaliseValue, validateRows } from './model.js';

const f = (over: Partial<FieldDef>): FieldDef => ({
  code: 'x',
  name: '字段',
  type: 'string',
  required: false,
  isKey: false,
  personal: false,
  sensitive: false,
  masking: 'none',
  ...over,
});

describe('CSV decoding', () => {
  it('reads UTF-8 with or without BOM, and GBK exports from Excel as GB18030', () => {
    expect(decodeCsv(new TextEncoder().encode('\uFEFF姓名,身份证号'))).toEqual({
      text: '姓名,身份证号',
      encoding: 'utf-8',
    });
    // 临江 in GBK
    expect(decodeCsv(Uint8Array.from([0xc1, 0xd9, 0xbd, 0xad, 0x2c, 0x31]))).toEqual({
      text: '临江,1',
      encoding: 'gb18030',
    });
  });
});

describe('ingest validation', () => {
  it('GB 11643: a citizen ID with a wrong check digit is refused; a lower-case x is normalised', () => {
    const body = '11010519491231002';
    expect(normaliseValue(f({ validator: 'idNumber' }), `${body}x`)).toEqual({ value: `${body}X` });
    expect(normaliseValue(f({ validator: 'idNumber' }), `${body}1`)).toHaveProperty('reason');
  });
  it('GB 32100: a credit code with a wrong check character is refused', () => {
    expect(normaliseValue(f({ validator: 'creditCode' }), '91350100M000100Y43')).toEqual({
      value: '91350100M000100Y43',
    });
    expect(normaliseValue(f({ validator: 'creditCode' }), '91350100M000100Y44')).toHaveProperty('reason');
  });
  it('types: integers, decimals, real calendar dates, booleans in Chinese', () => {
    expect(normaliseValue(f({ type: 'integer' }), '0042')).toEqual({ value: '42' });
    expect(normaliseValue(f({ type: 'integer' }), '4.2')).toHaveProperty('reason');
    expect(normaliseValue(f({ type: 'decimal' }), '-12.50')).toEqual({ value: '-12.50' });
    expect(normaliseValue(f({ type: 'date' }), '2026/2/3')).toEqual({ value: '2026-02-03' });
    expect(normaliseValue(f({ type: 'date' }), '2026-02-29')).toHaveProperty('reason');
    expect(normaliseValue(f({ type: 'boolean' }), '是')).toEqual({ value: 'true' });
    expect(normaliseValue(f({ type: 'string', length: 2 }), '临江市')).toHaveProperty('reason');
  });
  it('empty cells are null unless required or key', () => {
    expect(normaliseValue(f({}), '  ')).toEqual({ value: null });
    expect(normaliseValue(f({ required: true }), '')).toHaveProperty('reason');
  });
  it('headers match by code or Chinese name; unknown and missing key columns are reported on row 0', () => {
    const fields = [
      f({ code: 'idNumber', name: '身份证号', isKey: true }),
      f({ code: 'name', name: '姓名' }),
    ];
    expect(mapHeader(['姓名', 'idNumber'], fields)).toEqual({ map: [1, 0], errors: [] });
    const bad = mapHeader(['姓名', '颜色'], fields);
    expect(bad.errors).toContainEqual(expect.objectContaining({ row: 0, field: '颜色' }));
    expect(bad.errors).toContainEqual(expect.objectContaining({ row: 0, field: 'idNumber' }));
  });
  it('XT Art 15: every record has a key; duplicates within a batch name the first row', () => {
    const body = '44600219850312123';
    const id = body + idNumberCheckChar(body);
    const fields = [
      f({ code: 'idNumber', isKey: true, validator: 'idNumber' }),
      f({ code: 'n', type: 'integer' }),
    ];
    const out = validateRows(
      [
        [id, '1'],
        [id, '2'],
        ['', '3'],
      ],
      [0, 1],
      fields,
    );
    expect(out.rows).toHaveLength(1);
    expect(out.errorCount).toBe(2);
    expect(out.errors).toContainEqual(
      expect.objectContaining({ row: 2, field: 'idNumber', reason: 'duplicate key, same as row 1' }),
    );
    // XT Art 15: a record without its key identifier is refused with its own code
    expect(out.errors).toContainEqual({
      row: 3,
      field: 'idNumber',
      code: 'KEY_MISSING',
      reason: 'the record key is empty (XT Art 15)',
      reasonZh: '记录主键为空（邢台办法第十五条）',
    });
  });
});

describe('ingest validation fast paths agree with the general rules', () => {
  it('dates: YYYY-MM-DD checked without Date (leap years, month lengths), other spellings normalised', () => {
    const d = f({ type: 'date' });
    expect(normaliseValue(d, '2024-02-29')).toEqual({ value: '2024-02-29' });
    expect(normaliseValue(d, '2000-02-29')).toEqual({ value: '2000-02-29' });
    for (const bad of [
      '2023-02-29',
      '1900-02-29',
      '2024-04-31',
      '2024-13-01',
      '2024-00-10',
      '2024-01-00',
      '0050-01-01',
    ])
      expect(normaliseValue(d, bad), bad).toHaveProperty('code', 'BAD_DATE');
    expect(normaliseValue(d, '2024/1/5')).toEqual({ value: '2024-01-05' });
    expect(normaliseValue(d, '0999-12-31')).toEqual({ value: '0999-12-31' });
  });
  it('a declared length counts characters, not UTF-16 units (an astral 𠀀 is one)', () => {
    const s = f({ length: 2 });
    expect(normaliseValue(s, '𠀀𠀀')).toEqual({ value: '𠀀𠀀' });
    expect(normaliseValue(s, '𠀀𠀀a')).toHaveProperty('code', 'TOO_LONG');
    expect(normaliseValue(s, '张三丰')).toHaveProperty('code', 'TOO_LONG');
  });
});
