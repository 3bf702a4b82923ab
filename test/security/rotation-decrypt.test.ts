import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptResource } from '../../src/security/key-convert.js';
import { reencryptJob, reencryptStep } from '../../src/security/key-service.js';
import { importCsv, POPULATION_META, publishResource, publishVersion } from '../fixtures/catalog.js';
import { createTestEnv, login, type TestEnv } from '../helpers.js';

/*
 * A data-key rotation whose re-encryption job (`keys.reencrypt`) is still running when `keys.decrypt` turns the
 * resource's last encrypted field back to clear (docs/ENCRYPTION.md "Rotation without downtime"): nothing is left to
 * re-encrypt, so the job retires the older versions (audited `key.reencrypted` with `decrypted`) instead of leaving
 * them `retiring` for ever, and never encrypts the decrypted values again. The jobs are driven directly, in a fixed
 * order: a batch, then the decryption, then the job's next step; and (PostgreSQL: a second connection) a step that
 * read the fields before the decryption committed and takes the table after it.
 */

const FIELDS = [
  { code: 'caseNo', name: '登记编号', type: 'string', isKey: true, length: 20 },
  { code: 'name', name: '姓名', type: 'string', length: 20, personal: true, masking: 'name' },
  {
    code: 'diagnosis',
    name: '病情',
    type: 'string',
    personal: true,
    sensitivePersonal: true,
    masking: 'partial',
  },
];
const META = {
  ...POPULATION_META,
  summary: '含敏感个人信息的登记数据，用于验证数据密钥轮换与取消敏感个人信息标记同时进行。',
};

describe('a data-key rotation running while keys.decrypt commits (issue 10)', () => {
  let env: TestEnv;
  let officer: string;
  let reviewer: string;
  let admin: string;

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 20, entityRows: 10 } });
    officer = await login(env.app, 'gaj_officer');
    reviewer = await login(env.app, 'reviewer');
    admin = await login(env.app, 'admin');
  });
  afterAll(async () => env?.close());

  /** A resource with 30 rows (one of them updated, so record_history holds a version), its data key rotated. */
  async function rotated(name: string) {
    const r = await publishResource(env, { officer, reviewer }, { ...META, name, fields: FIELDS });
    const lines = Array.from({ length: 30 }, (_, i) => `N${i},李${i},病情${i}`);
    const b = await importCsv(env, officer, r.id, `caseNo,name,diagnosis\n${lines.join('\n')}\n`);
    expect(b.status, JSON.stringify(b)).toBe('committed');
    const b2 = await importCsv(env, officer, r.id, 'caseNo,name,diagnosis\nN0,李0,病情0（复诊）\n');
    expect(b2.rows_updated).toBe(1);
    const rot = await env.app.inject({
      method: 'POST',
      url: `/api/security/keys/resources/${r.id}/rotate`,
      headers: { cookie: admin },
    });
    expect(rot.statusCode, rot.body).toBe(200);
    expect(rot.json().version).toBe(2);
    // one batch of the re-encryption: the table holds values under both versions
    expect(await reencryptStep(env.ctx, r.id, 10)).toBe(10);
    const split = (
      await sql
        .raw<{ v: string; n: number }>(
          `SELECT split_part(c3, '.', 4) AS v, count(*)::int AS n FROM ${r.table} GROUP BY 1 ORDER BY 1`,
        )
        .execute(env.ctx.db)
    ).rows;
    expect(split).toEqual([
      { v: '1', n: 20 },
      { v: '2', n: 10 },
    ]);
    // the flag turned off: published pending, keys.decrypt queued (driven below, not by the job runner)
    await publishVersion(env, { officer, reviewer }, r.id, (f) =>
      f.code === 'diagnosis' ? { ...f, sensitivePersonal: false } : f,
    );
    return r;
  }

  const states = async (rid: number) =>
    (
      await env.ctx.db
        .selectFrom('field_key')
        .select(['version', 'state', 'retired_at'])
        .where('scope_id', '=', rid)
        .orderBy('version')
        .execute()
    ).map((k) => `${k.version}:${k.state}:${k.retired_at ? 'at' : '-'}`);

  /** Every value clear again (no ciphertext in the table or history), the right ones. */
  async function allClear(r: { id: number; table: string }) {
    const rows = (
      await sql
        .raw<{ _key: string; c3: string }>(`SELECT _key, c3 FROM ${r.table} ORDER BY _seq`)
        .execute(env.ctx.db)
    ).rows;
    expect(rows).toHaveLength(30);
    for (const x of rows) expect(x.c3).toBe(`病情${x._key.slice(1)}${x._key === 'N0' ? '（复诊）' : ''}`);
    const hist = await sql`SELECT data FROM record_history WHERE resource_id = ${r.id}`.execute(env.ctx.db);
    expect(hist.rows).toHaveLength(1);
    expect(JSON.stringify(hist.rows)).not.toContain('ENC1.');
    expect(JSON.stringify(hist.rows)).toContain('病情0');
  }

  async function retiredAudit(rid: number) {
    const a = await env.ctx.db
      .selectFrom('audit_log')
      .select(['decision', 'detail'])
      .where('action', '=', 'key.reencrypted')
      .where('resource_id', '=', rid)
      .execute();
    expect(a).toEqual([{ decision: 'allow', detail: { version: 2, retired: [1], decrypted: true } }]);
  }

  it('keys.decrypt commits between two batches: the next step finds no encrypted field, retires the older version (audited) and encrypts nothing again', async () => {
    const r = await rotated('轮换中转回明文（批次之间）');
    expect(await states(r.id)).toEqual(['1:retiring:-', '2:active:-']);
    expect(await decryptResource(env.ctx, r.id)).toEqual(['diagnosis']);
    expect(await states(r.id)).toEqual(['1:retiring:-', '2:active:-']); // the decryption itself retires nothing
    // the re-encryption job goes on: nothing left to re-encrypt, the older version retired
    await reencryptJob(env.ctx, { resourceId: r.id });
    expect(await states(r.id)).toEqual(['1:retired:at', '2:active:-']);
    await allClear(r);
    await retiredAudit(r.id);
    // the queued jobs (the rotation's and the decryption's) then run as no-ops
    await env.ctx.jobs.runDue();
    const jobs = await env.ctx.db
      .selectFrom('job')
      .select(['kind', 'status'])
      .where('key', '=', `r${r.id}`)
      .where('kind', 'in', ['keys.reencrypt', 'keys.decrypt'])
      .orderBy('kind')
      .execute();
    expect(jobs).toEqual([
      { kind: 'keys.decrypt', status: 'done' },
      { kind: 'keys.reencrypt', status: 'done' },
    ]);
    expect(await states(r.id)).toEqual(['1:retired:at', '2:active:-']);
    await allClear(r);
    await retiredAudit(r.id);
    const status = await env.app.inject({ url: '/api/security/keys', headers: { cookie: admin } });
    expect(status.statusCode, status.body).toBe(200);
    const mine = status.json().resources.find((x: { id: number }) => x.id === r.id);
    expect(mine?.versions.map((v: { state: string }) => v.state) ?? []).not.toContain('retiring');
  });

  it.runIf(process.env.DATABASE_URL)(
    'a step that read the fields before keys.decrypt committed takes the table after it: it re-reads them, retires the older version and encrypts nothing (PostgreSQL, two connections)',
    async () => {
      const r = await rotated('轮换中转回明文（并发提交）');
      const LOCK = 741_001;
      // keys.decrypt is held just before it records the fields as clear, holding the table exclusively
      await sql`CREATE FUNCTION rotation_decrypt_hold() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_advisory_xact_lock(741001); RETURN NEW; END $$`.execute(env.ctx.db);
      await sql`CREATE TRIGGER rotation_decrypt_hold BEFORE UPDATE ON resource_field
        FOR EACH ROW WHEN (OLD.encrypted AND NOT NEW.encrypted) EXECUTE FUNCTION rotation_decrypt_hold()`.execute(
        env.ctx.db,
      );
      let release = () => {};
      const released = new Promise<void>((ok) => {
        release = ok;
      });
      let held = () => {};
      const holding = new Promise<void>((ok) => {
        held = ok;
      });
      const holder = env.ctx.db.connection().execute(async (c) => {
        await sql`SELECT pg_advisory_lock(${LOCK})`.execute(c);
        held();
        await released;
        await sql`SELECT pg_advisory_unlock(${LOCK})`.execute(c);
      });
      /** Waits (bounded) until a statement waits for the lock `where` names in pg_locks. */
      const waitingOn = async (where: string) => {
        for (let i = 0; i < 1000; i++) {
          const w = await sql
            .raw<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND ${where}`)
            .execute(env.ctx.db);
          if (w.rows[0].n > 0) return;
          await new Promise((ok) => setTimeout(ok, 10));
        }
        throw new Error(`nothing waits on ${where}`);
      };
      try {
        await holding;
        const decrypt = decryptResource(env.ctx, r.id);
        await waitingOn(`locktype = 'advisory' AND objid = ${LOCK}`);
        // the step reads the fields now (still encrypted: the decryption has not committed), then waits for the table
        const step = reencryptStep(env.ctx, r.id, 10);
        await waitingOn(`relation = '${r.table}'::regclass AND mode = 'RowShareLock'`);
        release();
        expect(await decrypt).toEqual(['diagnosis']);
        expect(await step).toBe(0);
      } finally {
        release();
        await holder;
        await sql`DROP TRIGGER rotation_decrypt_hold ON resource_field`.execute(env.ctx.db);
        await sql`DROP FUNCTION rotation_decrypt_hold()`.execute(env.ctx.db);
      }
      expect(await states(r.id)).toEqual(['1:retired:at', '2:active:-']);
      await allClear(r);
      await retiredAudit(r.id);
    },
  );
});
