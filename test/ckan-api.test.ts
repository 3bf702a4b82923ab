import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filterCondition } from '../src/opening/ckan.js';
import { createTestEnv, type TestEnv } from './helpers.js';

/*
 * Issue 11 point 8: the CKAN-compatible Action API, read through a CKAN client we did not write (okfn's ckan.js,
 * which POSTs JSON to /api/3/action/<name> with `request` under Node), against the app listening on a real port.
 */
const require = createRequire(import.meta.url);
const CKAN = require('ckan') as {
  Client: new (
    endpoint: string,
  ) => {
    action(name: string, data: unknown, cb: (err: unknown, body: unknown) => void): void;
  };
};

let env: TestEnv;
let base: string;
let client: InstanceType<typeof CKAN.Client>;
let openId: number;
let closedId: number;

function action<T = any>(name: string, data: unknown = {}): Promise<{ err: unknown; body: T }> {
  return new Promise((resolve) =>
    client.action(name, data, (err, body) => resolve({ err, body: body as T })),
  );
}

beforeAll(async () => {
  env = await createTestEnv({ demo: { populationRows: 100, entityRows: 60 } });
  await env.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(env.app.server.address() as AddressInfo).port}`;
  client = new CKAN.Client(base);
  const idOf = async (name: string) =>
    (await env.ctx.db.selectFrom('resource').select('id').where('name', '=', name).executeTakeFirstOrThrow())
      .id;
  openId = await idOf('法人单位基础信息');
  closedId = await idOf('人口基础信息');
}, 300_000);
afterAll(async () => env?.close());

describe('CKAN Action API through ckan.js', () => {
  it('status_show and package_list', async () => {
    const s = await action('status_show');
    expect(s.err).toBeFalsy();
    expect(s.body.success).toBe(true);
    expect(s.body.result.ckan_version).toMatch(/^2\./);
    const l = await action('package_list');
    expect(l.body.success).toBe(true);
    expect(Array.isArray(l.body.result)).toBe(true);
    for (const n of l.body.result) expect(n).toMatch(/^[a-z0-9_-]+$/);
  });

  it('package_search with q, fq, rows/start, sort and facets; never a closed dataset', async () => {
    const all = await action('package_search', { rows: 100 });
    expect(all.body.success).toBe(true);
    const ids = all.body.result.results.map((p: { id: string }) => p.id);
    expect(ids).toContain(String(openId));
    expect(ids).not.toContain(String(closedId));
    expect(all.body.result.count).toBe(ids.length);

    const q = await action('package_search', {
      q: '企业',
      'facet.field': '["organization","groups","res_format"]',
    });
    const pkg = q.body.result.results.find((p: { id: string }) => p.id === String(openId));
    expect(pkg.title).toBe('法人单位基础信息');
    expect(pkg.organization.name).toMatch(/^[a-z0-9_-]+$/);
    expect(q.body.result.search_facets.organization.items.length).toBeGreaterThan(0);
    expect(q.body.result.facets.organization[pkg.organization.name]).toBeGreaterThan(0);

    const byOrg = await action('package_search', { fq: `organization:${pkg.organization.name}`, rows: 100 });
    expect(
      byOrg.body.result.results.every(
        (p: { organization: { name: string } }) => p.organization.name === pkg.organization.name,
      ),
    ).toBe(true);

    const first = await action('package_search', { rows: 2, start: 0, sort: 'name asc' });
    const second = await action('package_search', { rows: 2, start: 2, sort: 'name asc' });
    const shifted = await action('package_search', { rows: 2, start: 1, sort: 'name asc' });
    const names = (r: any) => r.body.result.results.map((p: { name: string }) => p.name);
    expect(names(shifted)).toEqual([...names(first).slice(1), names(second)[0]]);

    const bad = await action('package_search', { fq: 'nonsense:1' });
    expect(bad.err).toBeTruthy();
    expect(bad.body.success).toBe(false);
    expect(bad.body.error.__type).toBe('Validation Error');
  });

  it('package_show by id and by name, organization_show, group_list, tag_list, resource_show', async () => {
    const p = await action('package_show', { id: String(openId) });
    expect(p.body.success).toBe(true);
    const pkg = p.body.result;
    expect(pkg.resources.map((r: { format: string }) => r.format)).toEqual(['CSV', 'CSV', 'XLSX', 'JSON']);
    const byName = await action('package_show', { id: pkg.name });
    expect(byName.body.result.id).toBe(pkg.id);
    const org = await action('organization_show', { id: pkg.organization.name });
    expect(org.body.result.package_count).toBeGreaterThan(0);
    const orgs = await action('organization_list');
    expect(orgs.body.result).toContain(pkg.organization.name);
    const groups = await action('group_list');
    expect(groups.body.result).toContain('credit');
    const tags = await action('tag_list');
    expect(tags.body.result).toContain('企业');
    const res = await action('resource_show', { id: pkg.resources[0].id });
    expect(res.body.result.package_id).toBe(pkg.id);
    expect(res.body.result.datastore_active).toBe(true);
    // the resource URL really downloads
    const dl = await fetch(res.body.result.url);
    expect(dl.status).toBe(200);
  });

  it('a closed dataset is Not Found (404, CKAN error shape), never shown', async () => {
    const r = await action('package_show', { id: String(closedId) });
    expect(r.err).toBeTruthy();
    expect(r.body).toMatchObject({ success: false, error: { __type: 'Not Found Error' } });
    const ds = await action('datastore_search', { resource_id: `${closedId}-csv` });
    expect(ds.body.error.__type).toBe('Not Found Error');
    const raw = await fetch(`${base}/api/3/action/package_show?id=${closedId}`);
    expect(raw.status).toBe(404);
  });

  it("the dataset page's datastore link is a datastore_search that answers", async () => {
    const page = (await (await fetch(`${base}/api/open/datasets/${openId}`)).json()) as {
      api: { ckanPackage: string; datastore: string };
    };
    const res = await fetch(`${base}${page.api.datastore}&limit=2`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { success: boolean; result: { records: unknown[] } };
    expect(body.success).toBe(true);
    expect(body.result.records).toHaveLength(2);
    expect((await fetch(`${base}${page.api.ckanPackage}`)).status).toBe(200);
  });

  it('datastore_search filters on the only (text) key field go through _key (the index): same rows', async () => {
    const key = { columnName: 'c1', isKey: true, type: 'string' as const };
    const other = { columnName: 'c2', isKey: false, type: 'string' as const };
    const compiled = (f: typeof key, fields: (typeof key)[]) =>
      filterCondition(f, fields, ['x']).compile(env.ctx.db).sql;
    expect(compiled(key, [key, other])).toMatch(/_key = ANY\(/);
    expect(compiled(other, [key, other])).not.toMatch(/_key/);
    expect(compiled(key, [key, { ...other, isKey: true }])).not.toMatch(/_key/); // a composite key: no
    expect(compiled({ ...key, type: 'integer' as never }, [key])).not.toMatch(/_key/);

    const cert = (
      await env.ctx.db
        .selectFrom('resource')
        .select('id')
        .where('name', '=', '建筑业企业资质信息')
        .executeTakeFirstOrThrow()
    ).id;
    const all = await action('datastore_search', { resource_id: `${cert}-csv`, limit: 3 });
    expect(all.body.success).toBe(true);
    const keyField = 'certificateNo';
    const wanted = all.body.result.records[1][keyField];
    const one = await action('datastore_search', {
      resource_id: `${cert}-csv`,
      filters: { [keyField]: wanted },
    });
    expect(one.body.result.total).toBe(1);
    expect(one.body.result.records).toEqual([all.body.result.records[1]]);
    const two = await action('datastore_search', {
      resource_id: `${cert}-csv`,
      filters: { [keyField]: [wanted, all.body.result.records[2][keyField], 'no-such-key'] },
    });
    expect(two.body.result.total).toBe(2);
    const none = await action('datastore_search', {
      resource_id: `${cert}-csv`,
      filters: { [keyField]: 'no-such-key' },
    });
    expect(none.body.result.total).toBe(0);
  });

  it('datastore_search: fields, records masked, filters, q, limit/offset; audited and counted', async () => {
    const page = await action('datastore_search', { resource_id: `${openId}-json`, limit: 5, offset: 0 });
    expect(page.body.success).toBe(true);
    const r = page.body.result;
    expect(r.total).toBe(60);
    expect(r.records.length).toBe(5);
    expect(r.fields.map((f: { id: string }) => f.id)).toContain('creditCode');
    for (const rec of r.records)
      if (rec.legalRepresentative) expect(rec.legalRepresentative).toMatch(/^.\*+$/u);
    const next = await action('datastore_search', { resource_id: `${openId}-json`, limit: 5, offset: 5 });
    expect(next.body.result.records[0]).not.toEqual(r.records[0]);

    const status = r.records[0].registrationStatus;
    const filtered = await action('datastore_search', {
      resource_id: `${openId}-json`,
      filters: { registrationStatus: status },
      limit: 100,
    });
    expect(filtered.body.result.total).toBeGreaterThan(0);
    expect(
      filtered.body.result.records.every(
        (x: { registrationStatus: string }) => x.registrationStatus === status,
      ),
    ).toBe(true);
    // a masked field cannot be filtered: its matches would reveal clear values
    const leak = await action('datastore_search', {
      resource_id: `${openId}-json`,
      filters: { legalRepresentative: '张三' },
    });
    expect(leak.body.error.__type).toBe('Validation Error');

    const name = String(r.records[0].entityName).slice(0, 4);
    const q = await action('datastore_search', { resource_id: `${openId}-json`, q: name });
    expect(q.body.result.total).toBeGreaterThan(0);

    const audits = await env.ctx.db
      .selectFrom('audit_log')
      .select(['client_ip', 'rows_returned'])
      .where('action', '=', 'open.api')
      .where('resource_id', '=', openId)
      .execute();
    expect(audits.length).toBeGreaterThanOrEqual(4);
    expect(audits[0].client_ip).toBe('127.0.0.1');
    const usage = await env.ctx.db
      .selectFrom('open_usage')
      .select((eb) => eb.fn.sum<number>('api_calls').as('n'))
      .where('resource_id', '=', openId)
      .executeTakeFirstOrThrow();
    expect(Number(usage.n)).toBe(audits.length);

    // each call's audit record says how many rows it returned, and the page past the end is audited too (0 rows, the
    // total still answered): the page, its audit record and its count are one statement
    const past = await action('datastore_search', {
      resource_id: `${openId}-json`,
      limit: 5,
      offset: 1000,
      q: name,
    });
    expect(past.body.result).toMatchObject({ records: [], total: q.body.result.total, offset: 1000 });
    const newest = await env.ctx.db
      .selectFrom('audit_log')
      .select(['rows_returned', 'detail', 'target_id', 'decision', 'fields'])
      .where('action', '=', 'open.api')
      .where('resource_id', '=', openId)
      .orderBy('id', 'desc')
      .limit(2)
      .execute();
    expect(newest.map((a) => a.rows_returned)).toEqual([0, q.body.result.records.length]);
    expect(newest[0]).toMatchObject({
      decision: 'allow',
      target_id: String(openId),
      detail: { action: 'datastore_search', filters: 0, q: name },
    });
    expect(newest[0].fields).toEqual(r.fields.map((f: { id: string }) => f.id));
    expect(newest[1].detail).toMatchObject({ q: name });
  });
});
