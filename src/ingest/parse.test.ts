import { describe, expect, it } from 'vitest';
import { CsvParser, MAX_RECORD_CHARS, SourceError } from './parse.js';

/** Feeds `text` to a parser cut into pieces of `size` characters (every chunk boundary a parse must survive). */
function parse(text: string, size: number) {
  const p = new CsvParser();
  const out: string[][] = [];
  for (let i = 0; i < text.length; i += size)
    for (const r of p.push(text.slice(i, i + size))) out.push((r as { cells: string[] }).cells);
  for (const r of p.end()) out.push((r as { cells: string[] }).cells);
  return out;
}

describe('CSV parser (RFC 4180, streaming)', () => {
  const text = 'a,b,c\r\n"x ""quoted"" y","line1\nline2",\r\n\n"",plain,"a,b"\nlast,"",end';
  const want = [
    ['a', 'b', 'c'],
    ['x "quoted" y', 'line1\nline2', ''],
    ['', 'plain', 'a,b'],
    ['last', '', 'end'],
  ];
  for (const size of [1, 2, 3, 5, 7, 1000])
    it(`quotes, doubled quotes, line breaks in cells, CRLF and empty lines, in chunks of ${size}`, () => {
      expect(parse(text, size)).toEqual(want);
    });

  it('numbers rows from the header (row 0) and skips empty lines', () => {
    const p = new CsvParser();
    const rows = [...p.push('h1,h2\n\n1,2\n3,4'), ...p.end()].map((r) => r.row);
    expect(rows).toEqual([0, 1, 2]);
  });

  const bad: [string, string, string][] = [
    ['an unterminated quote', 'h\n1\n"open', 'SYNTAX'],
    ['a quote inside an unquoted cell', 'h\nab"c', 'SYNTAX'],
    ['text after a closing quote', 'h\n"ab"c', 'SYNTAX'],
  ];
  for (const [name, input, code] of bad)
    it(`${name} is a coded, located error`, () => {
      try {
        parse(input, 2);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(SourceError);
        expect((e as SourceError).detail.code).toBe(code);
        expect((e as SourceError).detail.row).toBeGreaterThan(0);
      }
    });

  it('a record longer than the cap is ROW_TOO_LARGE without buffering the rest', () => {
    const p = new CsvParser();
    p.push('h\n');
    const piece = 'x'.repeat(1024 * 1024);
    let err: unknown = null;
    try {
      for (let i = 0; i <= MAX_RECORD_CHARS / piece.length; i++) p.push(piece);
    } catch (e) {
      err = e;
    }
    expect((err as SourceError).detail).toMatchObject({ code: 'ROW_TOO_LARGE', row: 1 });
  });
});
