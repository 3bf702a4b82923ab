import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, login, type TestEnv } from '../helpers.js';

/** Finding 7: the synchronous CSV upload is capped in size, and so is every cell. */
describe('CSV upload limits', () => {
  let env: TestEnv;
  let officer: string;
  let resourceId: number;
  const MAX = 64 * 1024;
  beforeAll(async () => {
    env = await createTestEnv({
      demo: { populationRows: 500, entityRows: 200 },
      config: { uploadMaxBytes: MAX },
    });
    officer = await login(env.app, 'scj_officer');
    const res = await env.app.inject({
      method: 'POST',
      url: '/api/catalog/resources',
      headers: { cookie: officer },
      payload: {
        name: '投诉举报登记',
        summary: '投诉举报登记信息',
        classification: 'department',
        catalogLevel: 'city',
        shareType: 'unconditional',
        updateCycle: 'daily',
        fields: [
          { code: 'no', name: '编号', type: 'string', length: 20, isKey: true },
          { code: 'content', name: '内容', type: 'string' },
          { code: 'amount', name: '金额', type: 'decimal' },
        ],
      },
    });
    expect(res.statusCode).toBe(201);
    resourceId = res.json().id;
  });
  afterAll(async () => env?.close());

  const upload = (body: string) =>
    env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/csv`,
      headers: { cookie: officer, 'content-type': 'text/csv' },
      payload: body,
    });
  const batches = async () =>
    (await env.ctx.db.selectFrom('ingest_batch').select('id').where('resource_id', '=', resourceId).execute())
      .length;

  it('availability (GB/T 22239): a CSV over UPLOAD_MAX_BYTES is refused with 413 UPLOAD_TOO_LARGE before parsing', async () => {
    const rows = Array.from({ length: 4000 }, (_, i) => `N${i},投诉内容${'x'.repeat(20)},1.5`);
    const body = `no,content,amount\n${rows.join('\n')}\n`;
    expect(Buffer.byteLength(body)).toBeGreaterThan(MAX);
    const before = await batches();
    const res = await upload(body);
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe('UPLOAD_TOO_LARGE');
    expect(res.json().details[0].reason).toMatch(/split/);
    expect(await batches()).toBe(before);
  });

  it('availability: the service enforces the cap itself (not only the route body limit)', async () => {
    const { ingestCsvUpload } = await import('../../src/ingest/service.js');
    const actor = {
      id: 1,
      username: 'x',
      displayName: 'x',
      orgId: 1,
      orgKind: 'department' as const,
      sectionId: null,
      roles: ['data_officer' as const],
      clientIp: null,
    };
    await expect(
      ingestCsvUpload(env.ctx, actor, resourceId, Buffer.alloc(MAX + 1, 0x61)),
    ).rejects.toMatchObject({ code: 'UPLOAD_TOO_LARGE' });
  });

  it('a cell over 10 000 characters (no declared length) or over the field length is a row error; nothing is written', async () => {
    const long = 'y'.repeat(10_001);
    const res = await upload(
      `no,content,amount\nA1,${long},1\n${'Z'.repeat(21)},ok,1\nA3,ok,${'9'.repeat(10_001)}\n`,
    );
    expect(res.statusCode).toBe(422);
    expect(res.json().code).toBe('CSV_INVALID');
    const d = res.json().details as { row: number; field: string; reason: string }[];
    expect(d).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ row: 1, field: 'content', reason: 'longer than 10000 characters' }),
        expect.objectContaining({ row: 2, field: 'no', reason: 'longer than 20 characters' }),
        expect.objectContaining({ row: 3, field: 'amount', reason: 'longer than 10000 characters' }),
      ]),
    );
    const r = await env.ctx.db
      .selectFrom('resource')
      .select('row_count')
      .where('id', '=', resourceId)
      .executeTakeFirstOrThrow();
    expect(r.row_count).toBe(0);
  });
});
