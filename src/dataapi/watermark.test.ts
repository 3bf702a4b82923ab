import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { memberSpacing } from '../audit/leak-file.js';
import {
  binomialTail,
  carriesMark,
  quoteBit,
  quoteMarker,
  quotingUniform,
  watermarkEvidence,
} from './watermark.js';

/* The export watermark's keyed decision (issue 10 point 2): deterministic, keyed, balanced, and scored honestly. */
describe('export watermark (keyed CSV quoting)', () => {
  const secret = Buffer.from('0123456789abcdef0123456789abcdef');
  const other = Buffer.from('fedcba9876543210fedcba9876543210');
  const values = Array.from({ length: 2000 }, (_, i) => `张${i}*`);

  it('the quoting decision is a deterministic function of (secret, export, field, text)', () => {
    const a = values.map((v) => quoteBit(secret, 7, 'name', v));
    // the same inputs give the same bits, in any order and through the memoised writer
    expect(values.map((v) => quoteBit(secret, 7, 'name', v))).toEqual(a);
    const mark = quoteMarker(secret, 7);
    expect([...values].reverse().map((v) => mark('name', v))).toEqual([...a].reverse());
    expect(values.map((v) => mark('name', v))).toEqual(a);
    // a fixed vector: changes to the scheme must be deliberate (they would orphan every issued file's mark)
    expect(
      a
        .slice(0, 16)
        .map((b) => (b ? 1 : 0))
        .join(''),
    ).toMatchInlineSnapshot(`"0010110001101000"`);
  });

  it('the bit is the documented formula: the first byte of SHA-256(k ‖ export ‖ "\\n" ‖ field ‖ "\\n" ‖ text), for every length', () => {
    const k = createHmac('sha256', secret).update('govshare csv watermark/1').digest();
    const texts = [
      '',
      'a',
      ...Array.from({ length: 120 }, (_, n) => '王'.repeat(n)),
      ...Array.from({ length: 200 }, (_, n) => 'x'.repeat(n)),
      'y'.repeat(1500),
      '😀 emoji 和 ascii',
    ];
    for (const exportId of [1, 7, 123456789])
      for (const field of ['idNumber', '统一社会信用代码'])
        for (const text of texts) {
          const byte = createHash('sha256')
            .update(k)
            .update(`${exportId}\n`)
            .update(`${field}\n`)
            .update(text)
            .digest()[0];
          expect(quoteBit(secret, exportId, field, text)).toBe((byte & 1) === 1);
        }
  });

  it('each input matters: export, field, text and secret each change about half the bits', () => {
    const a = values.map((v) => quoteBit(secret, 7, 'name', v));
    const differ = (b: boolean[]) => b.filter((x, i) => x !== a[i]).length / a.length;
    for (const b of [
      values.map((v) => quoteBit(secret, 8, 'name', v)),
      values.map((v) => quoteBit(secret, 7, 'phone', v)),
      values.map((v) => quoteBit(other, 7, 'name', v)),
      values.map((v) => quoteBit(secret, 7, 'name', `${v} `)),
    ]) {
      expect(differ(b)).toBeGreaterThan(0.4);
      expect(differ(b)).toBeLessThan(0.6);
    }
    const ones = a.filter(Boolean).length / a.length;
    expect(ones).toBeGreaterThan(0.45);
    expect(ones).toBeLessThan(0.55);
  });

  it('empty cells and cells that must be quoted carry no mark', () => {
    const mark = quoteMarker(secret, 7);
    for (const v of ['', 'a,b', 'say "hi"', 'two\nlines', 'cr\r']) {
      expect(carriesMark(v)).toBe(false);
      expect(mark('name', v)).toBe(false);
    }
    expect(carriesMark('=1+1')).toBe(true);
  });

  it('scoring: the right export matches all, another about half; uniform quoting is no evidence', () => {
    const cells = values
      .slice(0, 200)
      .map((text) => ({ field: 'name', text, quoted: quoteBit(secret, 7, 'name', text) }));
    const right = watermarkEvidence(secret, 7, cells, quotingUniform(cells));
    expect(right).toMatchObject({ verdict: 'match', distinctChecked: 200, matches: 200, matchRate: 1 });
    expect(right.pValue).toBeLessThan(1e-50);
    const wrong = watermarkEvidence(secret, 8, cells, false);
    expect(wrong.verdict).toBe('noMatch');
    expect(wrong.matchRate).toBeGreaterThan(0.35);
    expect(wrong.matchRate).toBeLessThan(0.65);
    const bare = cells.map((c) => ({ ...c, quoted: false }));
    expect(quotingUniform(bare)).toBe(true);
    expect(watermarkEvidence(secret, 7, bare, quotingUniform(bare)).verdict).toBe('normalised');
    // repeated values are one bit, not many
    const repeated = Array.from({ length: 100 }, () => cells[0]);
    expect(watermarkEvidence(secret, 7, [...repeated, cells[1]], false)).toMatchObject({
      verdict: 'tooFewCells',
      cellsChecked: 101,
      distinctChecked: 2,
    });
  });

  it('binomial tail: exact small cases and tiny tails without underflow to nonsense', () => {
    expect(binomialTail(1, 1)).toBeCloseTo(0.5, 12);
    expect(binomialTail(2, 1)).toBeCloseTo(0.75, 12);
    expect(binomialTail(10, 10)).toBeCloseTo(1 / 1024, 12);
    expect(binomialTail(10, 0)).toBe(1);
    expect(binomialTail(20, 20)).toBeCloseTo(2 ** -20, 15);
    expect(binomialTail(1000, 500)).toBeGreaterThan(0.5);
    expect(binomialTail(1000, 1000)).toBeLessThan(1e-300);
  });

  it("NDJSON: each top-level member's spacing after its colon is read exactly, nested values and strings skipped", () => {
    const m = memberSpacing('{"a":1, "b": "x,\\"}:", "c":\t{"d": [1, "]"]},"e":null,"f": true}');
    expect(m && Object.fromEntries(m)).toEqual({ a: false, b: true, c: true, e: false, f: true });
    expect(memberSpacing('{}')?.size).toBe(0);
    for (const bad of ['[1,2]', '{"a":1', '{"a" 1}', '{"a":1,}x']) expect(memberSpacing(bad)).toBeNull();
  });
});
