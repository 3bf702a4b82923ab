import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import type { Db } from '../db/index.js';
import { StagingChunk } from './store.js';

describe('staging COPY text', () => {
  const lite = new PGlite();
  afterAll(() => lite.close());

  it('a value with tab, line breaks, backslash, quotes, braces, commas, the word NULL or nothing comes back as it was', async () => {
    await lite.exec(
      'CREATE TABLE ingest_staging (batch_id bigint, row_no int, rkey text, rhash text, vals text[])',
    );
    const values = [
      ['plain', '临江市', null],
      ['a\tb', 'line\nbreak\r\n', 'back\\slash'],
      ['"quoted"', '{braces},comma', 'NULL'],
      ['', ' spaced ', '\\"'],
    ];
    const chunk = new StagingChunk(7, { isTransaction: false } as Db);
    for (const [i, v] of values.entries())
      chunk.push({ row: i + 1, key: `k\t${i}`, hash: `h${i}`, values: v });
    expect(chunk.length).toBe(4);
    await lite.query("COPY ingest_staging (batch_id, row_no, rkey, rhash, vals) FROM '/dev/blob'", [], {
      blob: new Blob([chunk.copyText()!]),
    });
    const { rows } = await lite.query<{ batch_id: number; rkey: string; vals: (string | null)[] }>(
      'SELECT batch_id::int, rkey, vals FROM ingest_staging ORDER BY row_no',
    );
    expect(rows.map((r) => r.vals)).toEqual(values);
    expect(rows.map((r) => r.rkey)).toEqual(['k\t0', 'k\t1', 'k\t2', 'k\t3']);
    expect(rows.every((r) => r.batch_id === 7)).toBe(true);
  });

  it('a chunk larger than its first buffer grows instead of cutting rows', () => {
    const chunk = new StagingChunk(1, { isTransaction: false } as Db);
    const big = '临'.repeat(400_000);
    for (let i = 0; i < 3; i++) chunk.push({ row: i, key: String(i), hash: 'h', values: [big] });
    const text = chunk.copyText()!.toString('utf8');
    expect(text.split('\n').filter(Boolean)).toHaveLength(3);
    expect(text.endsWith(`"${big}"}\n`)).toBe(true);
  });
});
