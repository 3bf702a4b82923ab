import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from './index.js';

/*
 * PGlite's copyFrom hands every COPY the same reused buffer (src/db/index.ts, copySource): each COPY must read exactly
 * its own bytes, whatever the size of the one before it.
 */
describe('PGlite copyFrom through the reused buffer', async () => {
  const database = await openDatabase({ databaseUrl: null, dataDir: 'memory://' });
  afterAll(() => database.close());

  it('a short COPY after a long one reads only its own rows, and a string payload works too', async () => {
    await database.query('CREATE TABLE copy_probe (n int, v text)', []);
    const long = Buffer.from(Array.from({ length: 3 }, (_, i) => `${i}\t${'临'.repeat(200_000)}\n`).join(''));
    await database.copyFrom('COPY copy_probe (n, v) FROM STDIN', long);
    await database.copyFrom('COPY copy_probe (n, v) FROM STDIN', Buffer.from('10\tshort\n'));
    await database.copyFrom('COPY copy_probe (n, v) FROM STDIN', '11\t短\n');
    const { rows } = await database.query<{ n: number; len: number }>(
      'SELECT n, length(v) AS len FROM copy_probe ORDER BY n',
      [],
    );
    expect(rows).toEqual([
      { n: 0, len: 200_000 },
      { n: 1, len: 200_000 },
      { n: 2, len: 200_000 },
      { n: 10, len: 5 },
      { n: 11, len: 1 },
    ]);
  });
});
