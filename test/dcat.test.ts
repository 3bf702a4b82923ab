import fs from 'node:fs';
import { Parser, Store } from 'n3';
import SHACLValidator from 'rdf-validate-shacl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from './helpers.js';

/*
 * Issue 11 point 8: the DCAT-AP 3.0 catalogue validates against the official DCAT-AP 3.0.1 SHACL shapes (cardinalities,
 * node kinds, datatypes and ranges; test/fixtures/dcat-ap-3.0.1/SOURCE.md), and says what the portal says: one
 * dataset per open entry, PUBLIC / RESTRICTED access rights, distributions per download format.
 */
let env: TestEnv;

function load(ttl: string, base?: string): Store {
  return new Store(new Parser({ baseIRI: base }).parse(ttl));
}
const shapes = () => {
  const s = new Store();
  for (const f of ['dcat-ap-SHACL.ttl', 'ranges.ttl'])
    s.addQuads(new Parser().parse(fs.readFileSync(`test/fixtures/dcat-ap-3.0.1/${f}`, 'utf8')));
  return s;
};
const DCAT = 'http://www.w3.org/ns/dcat#';
const DCT = 'http://purl.org/dc/terms/';
const RDF_TYPE = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#type';

beforeAll(async () => {
  env = await createTestEnv({ demo: { populationRows: 50, entityRows: 20 } });
}, 300_000);
afterAll(async () => env?.close());

describe('DCAT-AP 3.0 catalogue', () => {
  it('catalog.ttl conforms to the DCAT-AP 3.0.1 SHACL shapes (core + ranges)', async () => {
    const res = await env.app.inject({ url: '/open/catalog.ttl', headers: { host: 'open.example.gov.cn' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/turtle');
    const data = load(res.body);
    const report = await new SHACLValidator(shapes()).validate(data);
    const problems = report.results.map(
      (r) => `${r.focusNode?.value} ${r.path?.value} ${r.message.map((m) => m.value).join(' ')}`,
    );
    expect(problems).toEqual([]);
    expect(report.conforms).toBe(true);
  });

  it('the validator does fail a catalogue that breaks a mandatory property', async () => {
    const res = await env.app.inject({ url: '/open/catalog.ttl' });
    const data = load(res.body);
    // drop every dataset title: dct:title is mandatory (1..n)
    for (const d of data.getQuads(null, RDF_TYPE, `${DCAT}Dataset`, null))
      for (const q of data.getQuads(d.subject, `${DCT}title`, null, null)) data.removeQuad(q);
    const report = await new SHACLValidator(shapes()).validate(data);
    expect(report.conforms).toBe(false);
  });

  it('one dataset per open entry, with the EU access rights, distributions and the API service', async () => {
    const res = await env.app.inject({ url: '/open/catalog.ttl' });
    const data = load(res.body);
    const datasets = data.getQuads(null, RDF_TYPE, `${DCAT}Dataset`, null).map((q) => q.subject.value);
    const listed = await env.app.inject({ url: '/api/open/datasets?pageSize=100' });
    const items = listed.json().items as { id: number; openType: string }[];
    expect(datasets.length).toBe(items.length);
    for (const it of items) {
      const iri = datasets.find((d) => d.endsWith(`/open/dataset/${it.id}`));
      expect(iri).toBeTruthy();
      const rights = data.getQuads(iri!, `${DCT}accessRights`, null, null).map((q) => q.object.value);
      expect(rights).toEqual([
        `http://publications.europa.eu/resource/authority/access-right/${it.openType === 'open' ? 'PUBLIC' : 'RESTRICTED'}`,
      ]);
      const dists = data.getQuads(iri!, `${DCAT}distribution`, null, null);
      expect(dists.length).toBe(it.openType === 'open' ? 4 : 1);
    }
    const closed = await env.ctx.db
      .selectFrom('resource')
      .select('id')
      .where('open_type', '=', 'closed')
      .execute();
    for (const c of closed) expect(datasets.some((d) => d.endsWith(`/open/dataset/${c.id}`))).toBe(false);
    expect(data.getQuads(null, RDF_TYPE, `${DCAT}DataService`, null).length).toBe(1);
    const freq = data.getQuads(null, `${DCT}accrualPeriodicity`, null, null).map((q) => q.object.value);
    expect(freq).toContain('http://publications.europa.eu/resource/authority/frequency/DAILY');
  });

  it('catalog.jsonld carries the same triples as catalog.ttl', async () => {
    const ttl = load((await env.app.inject({ url: '/open/catalog.ttl' })).body);
    const res = await env.app.inject({ url: '/open/catalog.jsonld' });
    expect(res.headers['content-type']).toContain('application/ld+json');
    const doc = res.json() as { '@context': Record<string, string>; '@graph': Record<string, unknown>[] };
    const expand = (k: string) => {
      const [p, local] = k.split(':');
      return doc['@context'][p] && !k.startsWith('http') ? doc['@context'][p] + local : k;
    };
    let count = 0;
    for (const node of doc['@graph']) {
      for (const [k, v] of Object.entries(node)) {
        if (k === '@id') continue;
        const values = v as (string | { '@id'?: string; '@value'?: string })[];
        count += values.length;
        for (const x of values) {
          const pred = k === '@type' ? RDF_TYPE : expand(k);
          const obj = typeof x === 'string' ? expand(x) : (x['@id'] ?? x['@value']);
          const found = ttl
            .getQuads(node['@id'] as string, pred, null, null)
            .some((q) => q.object.value === obj);
          expect(found, `${node['@id']} ${pred} ${obj}`).toBe(true);
        }
      }
    }
    expect(count).toBe(ttl.size);
  });
});
