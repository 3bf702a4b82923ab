import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fieldClass } from '../src/dataapi/masking.js';
import {
  clearRows,
  codeOf,
  createTestEnv,
  dataPath,
  grantedApp,
  login,
  passRiskAssessment,
  type TestEnv,
} from './helpers.js';

/*
 * Issue 9 security test, the exhaustive matrix (DG Art 19, 26, 33; GB/T 39477): caller × share type × request state ×
 * grant state × right × fields asked × call → the answer (status and code) and, for a record, exactly the fields that
 * leave and which of them are masked. The fixture is built once through the API (one grant per share type, plus an app
 * whose request is pending and one whose request was refused); each combination then sets the grant's state and right
 * on its row (the governed statement reads grants uncached, so the next call sees it) and calls the real data API.
 * The expected answer comes from `expected()`, a plain statement of the rule written apart from the server's SQL.
 */
type Share = 'unconditional' | 'conditional' | 'none';
type RequestState = 'approved' | 'pending' | 'rejected';
type GrantState = 'active' | 'revoked' | 'expired' | 'appSuspended';
type Right = 'read' | 'readClear' | 'verifyOnly' | 'aggregateOnly';
type Asked = 'all' | 'plainSubset' | 'outside';
type Call = 'get' | 'verify';
type Caller = 'grantee' | 'otherDepartment';

interface Fixture {
  code: string;
  keyField: string;
  /** the granted fields; `outside` is a field of the resource not granted */
  granted: string[];
  outside: string;
  /** granted fields masked without the clear-value right (by field class), and those kept in clear anyway */
  protectedFields: string[];
  clearable: string;
  row: Record<string, string | null>;
  grantId: number;
  apiKey: string;
  appId: number;
  purposeId: string;
  /** null where the share type has no approval step (unconditional) */
  pendingKey: string | null;
  rejectedKey: string | null;
}

function expected(
  f: Fixture,
  c: { caller: Caller; request: RequestState; grant: GrantState; right: Right; asked: Asked; call: Call },
): { status: number; code?: string; fields?: string[]; masked?: string[] } {
  if (c.caller === 'otherDepartment') return { status: 403, code: 'GRANT_REQUIRED' };
  if (c.request !== 'approved') return { status: 403, code: 'GRANT_REQUIRED' };
  if (c.grant === 'appSuspended') return { status: 403, code: 'APP_SUSPENDED' };
  if (c.grant !== 'active') return { status: 403, code: 'GRANT_REQUIRED' };
  if (c.right === 'aggregateOnly') return { status: 403, code: 'AGGREGATE_ONLY' };
  if (c.call === 'get' && c.right === 'verifyOnly') return { status: 403, code: 'READ_NOT_GRANTED' };
  if (c.call === 'verify' && c.right !== 'verifyOnly') return { status: 403, code: 'VERIFY_NOT_GRANTED' };
  if (c.asked === 'outside') return { status: 403, code: 'FIELD_NOT_GRANTED' };
  if (c.call === 'verify') return { status: 200 };
  const fields = c.asked === 'all' ? f.granted : plainSubset(f);
  const clear = c.right === 'readClear' ? [f.clearable] : [];
  return {
    status: 200,
    fields: [...fields].sort(),
    masked: fields.filter((x) => f.protectedFields.includes(x) && !clear.includes(x)).sort(),
  };
}

/** The key and one more granted field, the other unprotected when there is one. */
function plainSubset(f: Fixture): string[] {
  const plain = f.granted.find((x) => x !== f.keyField && !f.protectedFields.includes(x));
  return [f.keyField, plain ?? f.granted.find((x) => x !== f.keyField)!];
}

describe('data API matrix: caller × share type × request state × grant state × right × fields × call', () => {
  let env: TestEnv;
  const fx = new Map<Share, Fixture>();
  let otherKey = '';

  async function fixture(
    share: Share,
    name: string,
    provider: string,
    opts: { verifyOnly?: boolean } = {},
  ): Promise<Fixture> {
    const code = await codeOf(env, name);
    const r = await env.ctx.db
      .selectFrom('resource')
      .select(['id', 'data_table', 'share_type'])
      .where('code', '=', code)
      .executeTakeFirstOrThrow();
    expect(r.share_type).toBe(share);
    const fields = await env.ctx.db
      .selectFrom('resource_field')
      .select(['code', 'ordinal', 'personal', 'sensitive', 'masking', 'type', 'name', 'is_key'])
      .where('resource_id', '=', r.id)
      .orderBy('ordinal')
      .execute();
    const keyField = fields.find((x) => x.is_key)!.code;
    // the last non-key field stays outside the grant
    const outside = [...fields].reverse().find((x) => !x.is_key)!.code;
    const granted = fields.map((x) => x.code).filter((x) => x !== outside);
    const cls = (x: (typeof fields)[number]) => fieldClass({ ...x, masking: x.masking as never });
    // gender's class rule keeps it (a statistic needs it), so it is not counted as masked
    const protectedFields = fields
      .filter((x) => granted.includes(x.code) && cls(x) !== null && cls(x) !== 'gender')
      .map((x) => x.code);
    // sensitive-personal columns are stored encrypted (docs/ENCRYPTION.md): the row as the provider loaded it
    const rows = await clearRows(env, r.data_table!, { limit: 1 });
    let g: { grantId: number; apiKey: string; appId: number; purposeId: string };
    if (opts.verifyOnly) {
      const officer = await login(env.app, provider);
      await env.app.inject({
        method: 'PUT',
        url: `/api/catalog/resources/${r.id}/verification`,
        headers: { cookie: officer },
        payload: { enabled: true },
      });
      g = await request(code, r.id, granted, provider, 'verify', 'matrix-none');
    } else {
      g = await grantedApp(env.app, {
        consumer: 'rsj_officer',
        provider,
        resourceCode: code,
        fields: granted,
        appName: `matrix-${share}`,
      });
    }
    // an unconditional request is granted when filed (no step to be pending in or refused at)
    const steps = share !== 'unconditional';
    const pending = steps
      ? await request(code, r.id, granted, null, opts.verifyOnly ? 'verify' : null, `p-${share}`)
      : null;
    const rejected = steps
      ? await request(code, r.id, granted, provider, opts.verifyOnly ? 'verify' : null, `r-${share}`, true)
      : null;
    return {
      code,
      keyField,
      granted,
      outside,
      protectedFields,
      clearable: protectedFields.find((x) => x !== keyField) ?? protectedFields[0] ?? granted[1],
      row: rows[0],
      ...g,
      pendingKey: pending?.apiKey ?? null,
      rejectedKey: rejected?.apiKey ?? null,
    };
  }

  /** A request through the API, left pending (decider null), refused, or approved by every step's decider. */
  async function request(
    code: string,
    resourceId: number,
    fields: string[],
    provider: string | null,
    access: 'verify' | null,
    appName: string,
    refuse = false,
  ) {
    const consumer = await login(env.app, 'rsj_officer');
    const created = await env.app.inject({
      method: 'POST',
      url: '/api/apps',
      headers: { cookie: consumer },
      payload: { name: appName },
    });
    const { app, apiKey } = created.json();
    const res = await env.app.inject({
      method: 'POST',
      url: '/api/sharing/requests',
      headers: { cookie: consumer },
      payload: {
        resourceId,
        appId: app.id,
        fields,
        purpose: '办理业务时核验当事人身份',
        scope: '本部门行政审批业务办理',
        validUntil: '2099-12-31',
        ...(access ? { access } : {}),
      },
    });
    expect(res.statusCode, `${code} ${res.body}`).toBe(201);
    let q = res.json();
    if (provider) {
      const deciders = [await login(env.app, provider), await login(env.app, 'reviewer')];
      for (let guard = 0; q.status === 'pending' && guard < 6; guard++)
        for (const cookie of deciders) {
          const r = await env.app.inject({
            method: 'POST',
            url: `/api/sharing/requests/${q.id}/${refuse ? 'reject' : 'approve'}`,
            headers: { cookie },
            payload: refuse ? { reason: '不符合共享条件', legalBasis: '《统计法》第九条' } : {},
          });
          if (r.statusCode === 200) {
            q = r.json();
            break;
          }
        }
      expect(q.status).toBe(refuse ? 'rejected' : 'approved');
      if (!refuse) await passRiskAssessment(env.app, q.id, deciders[0]);
    }
    const grant = q.grantId
      ? await env.ctx.db
          .selectFrom('share_grant')
          .select('purpose_id')
          .where('id', '=', q.grantId)
          .executeTakeFirstOrThrow()
      : null;
    return {
      grantId: q.grantId as number,
      apiKey,
      appId: app.id as number,
      purposeId: grant?.purpose_id ?? '',
    };
  }

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 60, entityRows: 60 } });
    fx.set('conditional', await fixture('conditional', '人口基础信息', 'gaj_officer'));
    fx.set('unconditional', await fixture('unconditional', '法人单位基础信息', 'scj_officer'));
    fx.set('none', await fixture('none', '第五次全国经济普查单位资料', 'tjj_officer', { verifyOnly: true }));
    const other = await login(env.app, 'wjj_officer');
    otherKey = (
      await env.app.inject({
        method: 'POST',
        url: '/api/apps',
        headers: { cookie: other },
        payload: { name: 'm-o' },
      })
    ).json().apiKey;
  }, 900_000);
  afterAll(async () => env?.close());

  async function setState(f: Fixture, grant: GrantState, right: Right) {
    await env.ctx.db
      .updateTable('share_grant')
      .set({
        status: grant === 'revoked' ? 'revoked' : 'active',
        valid_until: grant === 'expired' ? new Date(Date.now() - 60_000) : new Date('2099-12-31T15:59:59Z'),
        can_read: right === 'read' || right === 'readClear',
        can_verify: right === 'verifyOnly',
        access_mode: right === 'aggregateOnly' ? 'aggregate' : 'rows',
        clear_fields: right === 'readClear' ? [f.clearable] : [],
      })
      .where('id', '=', f.grantId)
      .execute();
    await env.ctx.db
      .updateTable('app')
      .set({ status: grant === 'appSuspended' ? 'suspended' : 'active' })
      .where('id', '=', f.appId)
      .execute();
  }

  it('every combination answers as the rule says: refusals coded, allowed fields exactly those asked and granted, protected fields masked unless the clear-value right names them', async () => {
    const shares: Share[] = ['unconditional', 'conditional', 'none'];
    const requests: RequestState[] = ['approved', 'pending', 'rejected'];
    const grants: GrantState[] = ['active', 'revoked', 'expired', 'appSuspended'];
    const rights: Right[] = ['read', 'readClear', 'verifyOnly', 'aggregateOnly'];
    const askeds: Asked[] = ['all', 'plainSubset', 'outside'];
    const calls: Call[] = ['get', 'verify'];
    const callers: Caller[] = ['grantee', 'otherDepartment'];
    let checked = 0;
    const seen = new Set<string>();
    for (const share of shares) {
      const f = fx.get(share)!;
      // a not-shared resource's grant is locked to verification (DG Art 19): only that right exists for it
      for (const right of share === 'none' ? (['verifyOnly'] as Right[]) : rights)
        for (const grant of grants) {
          await setState(f, grant, right);
          for (const request of requests.filter((q) => q === 'approved' || f.pendingKey))
            for (const caller of callers)
              for (const asked of askeds)
                for (const call of calls) {
                  const c = { caller, request, grant, right, asked, call };
                  const want = expected(f, c);
                  const key =
                    caller === 'otherDepartment'
                      ? otherKey
                      : request === 'approved'
                        ? f.apiKey
                        : request === 'pending'
                          ? f.pendingKey!
                          : f.rejectedKey!;
                  const fields =
                    asked === 'all'
                      ? null
                      : asked === 'plainSubset'
                        ? plainSubset(f)
                        : [f.keyField, f.outside];
                  const headers = { 'x-api-key': key, 'x-purpose': f.purposeId };
                  const q = fields ? `?fields=${fields.join(',')}` : '';
                  const res =
                    call === 'get'
                      ? await env.app.inject({
                          url: `${dataPath(f.code)}/records/${encodeURIComponent(f.row[f.keyField]!)}${q}`,
                          headers,
                        })
                      : await env.app.inject({
                          method: 'POST',
                          url: `${dataPath(f.code)}/verify`,
                          headers,
                          payload: {
                            key: f.row[f.keyField],
                            ...(fields
                              ? { match: Object.fromEntries(fields.slice(1).map((x) => [x, f.row[x] ?? ''])) }
                              : {}),
                          },
                        });
                  const label = `${share} ${JSON.stringify(c)}`;
                  expect(res.statusCode, `${label} ${res.body}`).toBe(want.status);
                  if (want.code) expect(res.json().code, label).toBe(want.code);
                  if (want.fields) {
                    const rec = res.json().record as Record<string, unknown>;
                    expect(Object.keys(rec).sort(), label).toEqual(want.fields);
                    for (const x of want.fields) {
                      const raw = f.row[x];
                      if (raw == null) continue;
                      // a decimal leaves as a JSON number (30 for the column's 30.0000): compare numbers as numbers
                      const out =
                        rec[x] == null
                          ? null
                          : typeof rec[x] === 'number' && Number(raw) === rec[x]
                            ? raw
                            : String(rec[x]);
                      if (want.masked!.includes(x)) expect(out, `${label} ${x} masked`).not.toBe(raw);
                      else expect(out, `${label} ${x} clear`).toBe(raw);
                    }
                  }
                  if (call === 'verify' && want.status === 200)
                    expect(typeof res.json().match).toBe('boolean');
                  seen.add(`${want.status}:${want.code ?? 'ok'}`);
                  checked++;
                }
        }
    }
    // the matrix reached every outcome, so none of its branches is dead
    expect([...seen].sort()).toEqual(
      [
        '200:ok',
        '403:AGGREGATE_ONLY',
        '403:APP_SUSPENDED',
        '403:FIELD_NOT_GRANTED',
        '403:GRANT_REQUIRED',
        '403:READ_NOT_GRANTED',
        '403:VERIFY_NOT_GRANTED',
      ].sort(),
    );
    // unconditional: 4 rights × 4 grant states × 1 request state; conditional: 4 × 4 × 3; not shared: 1 × 4 × 3
    expect(checked).toBe((4 * 4 * 1 + 4 * 4 * 3 + 1 * 4 * 3) * 2 * 3 * 2);
  }, 1_200_000);
});
