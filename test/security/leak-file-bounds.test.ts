import { describe, expect, it } from 'vitest';
import { readLeakFile } from '../../src/audit/leak-file.js';
import { zip } from '../fixtures/zip.js';

/*
 * Issue 10 point 2 (leak tracing by file) with the catalog import's XLSX bound (issue 6): the auditor's leaked-file
 * upload is an .xlsx from outside, so the sizes its zip declares are not trusted either.
 */
describe('leak file: an .xlsx is bounded by what it really inflates to', () => {
  it('a zip bomb (an 80 MiB sheet declaring 1 kB) is refused before ExcelJS reads it', async () => {
    const bomb = zip([
      { name: '[Content_Types].xml', data: Buffer.from('<Types/>') },
      { name: 'xl/worksheets/sheet1.xml', data: Buffer.alloc(80 * 1024 * 1024, 0x20), declared: 1024 },
    ]);
    const err = await readLeakFile(bomb).then(
      () => null,
      (e: unknown) => e as { code?: string; details?: { field?: string; reason?: string }[] },
    );
    expect(err?.code).toBe('VALIDATION_FAILED');
    expect(err?.details?.[0]?.field).toBe('file');
    expect(err?.details?.[0]?.reason).toMatch(/inflates to more than 64 MiB/);
  });
});
