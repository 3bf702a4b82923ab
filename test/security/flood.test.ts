import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../helpers.js';

// Hardening, "anonymous callers fill the permanent audit table": unauthenticated calls are rate-limited, and what
// they cost the database is bounded too.
describe('a flood of refused calls without a session', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({ demo: false, config: { anonRefusalsPerMinute: 50 } });
  });
  afterAll(async () => env?.close());

  it('past ANON_REFUSAL_LIMIT an address gets 429 at once; the tally counts in hundreds and audit rows stay a handful', async () => {
    const maxId = async () =>
      Number(
        (
          await env.ctx.db
            .selectFrom('audit_log')
            .select((e) => e.fn.max('id').as('id'))
            .executeTakeFirstOrThrow()
        ).id ?? 0,
      );
    const before = await maxId();
    const codes: number[] = [];
    for (let i = 0; i < 250; i++) {
      const r = await env.app.inject({ url: '/api/auth/me', remoteAddress: '198.51.100.23' });
      codes.push(r.statusCode);
      if (r.statusCode === 429) expect(r.json().code).toBe('RATE_LIMITED');
    }
    const n401 = codes.filter((c) => c === 401).length;
    const n429 = codes.filter((c) => c === 429).length;
    expect(n401 + n429).toBe(250);
    // one minute window, or two if the loop crossed a minute
    expect(n401).toBeGreaterThanOrEqual(50);
    expect(n401).toBeLessThanOrEqual(100);
    const tally = await env.ctx.db
      .selectFrom('audit_refusal_tally')
      .select(['code', 'count'])
      .where('client_ip', '=', '198.51.100.23')
      .execute();
    const sum = (code: string) => tally.filter((t) => t.code === code).reduce((n, t) => n + t.count, 0);
    expect(sum('UNAUTHENTICATED')).toBe(n401);
    expect(sum('RATE_LIMITED')).toBeLessThanOrEqual(n429);
    expect(sum('RATE_LIMITED')).toBeGreaterThanOrEqual(n429 - 2 * 99);
    const rows = await env.ctx.db
      .selectFrom('audit_log')
      .select(['action', 'client_ip', 'detail'])
      .where('id', '>', before)
      .execute();
    expect(rows.length).toBeLessThanOrEqual(4);
    expect(rows.every((r) => r.action === 'http.refused' && r.client_ip === '198.51.100.23')).toBe(true);
    // another address is not affected
    const other = await env.app.inject({ url: '/api/auth/me', remoteAddress: '198.51.100.24' });
    expect(other.statusCode).toBe(401);
  });
});
