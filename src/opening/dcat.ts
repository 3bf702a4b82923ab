import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DataFactory, type Quad, Writer } from 'n3';
import { levelsVisibleToAll } from '../catalog/model.js';
import type { AppContext } from '../context.js';
import {
  ACCESS_RIGHTS,
  DOWNLOAD_MEDIA,
  type DownloadFormat,
  domainsOfTopic,
  FREQUENCIES,
  PUBLIC_OPEN_TYPES,
} from './model.js';
import { openRateLimit } from './routes.js';

/*
 * DCAT-AP 3.0 catalogue of the open datasets (issue 11 point 8): /open/catalog.ttl and /open/catalog.jsonld, built from
 * one list of triples. One dcat:Dataset per listed open entry, a dcat:Distribution per download format (unconditional
 * data) or one pointing to the dataset page (on application), the CKAN-compatible API as a dcat:DataService;
 * dct:accessRights from the EU access-right list (PUBLIC / RESTRICTED / NON_PUBLIC for 无条件 / 依申请 / 不予开放),
 * dct:accrualPeriodicity from the EU frequency list, dcat:theme from the EU data-theme list for SY Art 36's domains.
 * dct:temporal is not written: the catalog does not record the period the data covers.
 */

const { namedNode, literal, quad } = DataFactory;

const NS = {
  rdf: 'http://www.w3.org/1999/02/22-rdf-syntax-ns#',
  dcat: 'http://www.w3.org/ns/dcat#',
  dct: 'http://purl.org/dc/terms/',
  foaf: 'http://xmlns.com/foaf/0.1/',
  vcard: 'http://www.w3.org/2006/vcard/ns#',
  skos: 'http://www.w3.org/2004/02/skos/core#',
  rdfs: 'http://www.w3.org/2000/01/rdf-schema#',
  xsd: 'http://www.w3.org/2001/XMLSchema#',
};
const EU = 'http://publications.europa.eu/resource/authority/';

/** SY Art 36's domains on the EU data-theme list. */
const THEMES: Record<string, string> = {
  credit: 'ECON',
  transport: 'TRAN',
  health: 'HEAL',
  employment: 'SOCI',
  socialSecurity: 'SOCI',
  education: 'EDUC',
  environment: 'ENVI',
  weather: 'ENVI',
  marketRegulation: 'ECON',
};

/** The EU data themes' English labels (skos:prefLabel is mandatory on a skos:Concept). */
const THEME_LABELS: Record<string, string> = {
  ECON: 'Economy and finance',
  TRAN: 'Transport',
  HEAL: 'Health',
  SOCI: 'Population and society',
  EDUC: 'Education, culture and sport',
  ENVI: 'Environment',
};

const FILE_TYPES: Record<DownloadFormat, string> = {
  csv: 'CSV',
  'csv-gbk': 'CSV',
  xlsx: 'XLSX',
  json: 'JSON',
};
const IANA: Record<DownloadFormat, string> = {
  csv: 'https://www.iana.org/assignments/media-types/text/csv',
  'csv-gbk': 'https://www.iana.org/assignments/media-types/text/csv',
  xlsx: 'https://www.iana.org/assignments/media-types/application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  json: 'https://www.iana.org/assignments/media-types/application/json',
};

const n = (prefix: keyof typeof NS, local: string) => namedNode(NS[prefix] + local);
const dateTime = (d: Date) => literal(d.toISOString(), n('xsd', 'dateTime'));

export async function catalogQuads(ctx: AppContext, base: string): Promise<Quad[]> {
  const rows = await ctx.db
    .selectFrom('resource as r')
    .innerJoin('org as o', 'o.id', 'r.provider_org_id')
    .select([
      'r.id',
      'r.code',
      'r.name',
      'r.summary',
      'r.keywords',
      'r.topic',
      'r.open_type',
      'r.update_cycle',
      'r.published_at',
      'r.last_ingest_at',
      'r.updated_at',
      'r.data_table',
      'o.id as org_id',
      'o.name as org_name',
    ])
    .where('r.status', '=', 'published')
    .where('r.open_type', 'in', [...PUBLIC_OPEN_TYPES])
    .where('r.catalog_level', 'in', levelsVisibleToAll(ctx.profile))
    .orderBy('r.id')
    .execute();
  const authority = await ctx.db
    .selectFrom('org')
    .select(['id', 'name'])
    .where('kind', '=', 'authority')
    .orderBy('id')
    .executeTakeFirst();
  const q: Quad[] = [];
  const add = (s: ReturnType<typeof namedNode>, p: ReturnType<typeof namedNode>, o: Quad['object']) =>
    q.push(quad(s, p, o));
  const type = n('rdf', 'type');
  const agents = new Map<number, string>();
  const agent = (id: number, name: string) => {
    const iri = namedNode(`${base}/open/organization/${id}`);
    if (!agents.has(id)) {
      agents.set(id, name);
      add(iri, type, n('foaf', 'Agent'));
      add(iri, n('foaf', 'name'), literal(name, 'zh'));
    }
    return iri;
  };
  const typed = new Set<string>();
  const concept = (iri: string, cls: ReturnType<typeof namedNode>) => {
    const node = namedNode(iri);
    if (!typed.has(iri)) {
      typed.add(iri);
      add(node, type, cls);
    }
    return node;
  };

  const catalog = namedNode(`${base}/open/catalog`);
  const service = namedNode(`${base}/api/3/action/`);
  add(catalog, type, n('dcat', 'Catalog'));
  add(catalog, n('dct', 'title'), literal('临江市公共数据开放平台', 'zh'));
  add(catalog, n('dct', 'title'), literal('Linjiang Open Data Portal', 'en'));
  add(catalog, n('dct', 'description'), literal('无条件开放和依申请开放的公共数据目录（DCAT-AP 3.0）', 'zh'));
  add(catalog, n('dct', 'publisher'), agent(authority?.id ?? 0, authority?.name ?? ctx.config.authorityName));
  add(catalog, n('foaf', 'homepage'), concept(`${base}/open`, n('foaf', 'Document')));
  add(catalog, n('dcat', 'service'), service);

  add(service, type, n('dcat', 'DataService'));
  add(service, n('dct', 'title'), literal('CKAN 兼容开放数据接口', 'zh'));
  add(service, n('dct', 'title'), literal('CKAN-compatible open data API', 'en'));
  add(service, n('dcat', 'endpointURL'), concept(`${base}/api/3/action/`, n('rdfs', 'Resource')));
  add(service, n('dcat', 'endpointDescription'), concept(`${base}/api/openapi.json`, n('rdfs', 'Resource')));
  add(service, n('dct', 'accessRights'), concept(ACCESS_RIGHTS.open, n('dct', 'RightsStatement')));

  for (const r of rows) {
    const ds = namedNode(`${base}/open/dataset/${r.id}`);
    add(catalog, n('dcat', 'dataset'), ds);
    add(ds, type, n('dcat', 'Dataset'));
    add(ds, n('dct', 'title'), literal(r.name, 'zh'));
    add(ds, n('dct', 'description'), literal(r.summary || r.name, 'zh'));
    add(ds, n('dct', 'identifier'), literal(r.code));
    for (const k of r.keywords) add(ds, n('dcat', 'keyword'), literal(k, 'zh'));
    const publisher = agent(r.org_id, r.org_name);
    add(ds, n('dct', 'publisher'), publisher);
    const contact = namedNode(`${base}/open/organization/${r.org_id}#contact`);
    if (!typed.has(contact.value)) {
      typed.add(contact.value);
      add(contact, type, n('vcard', 'Kind'));
      add(contact, type, n('vcard', 'Organization'));
      add(contact, n('vcard', 'fn'), literal(r.org_name, 'zh'));
    }
    add(ds, n('dcat', 'contactPoint'), contact);
    add(ds, n('dcat', 'landingPage'), concept(`${base}/open/dataset/${r.id}`, n('foaf', 'Document')));
    add(ds, n('dct', 'accessRights'), concept(ACCESS_RIGHTS[r.open_type], n('dct', 'RightsStatement')));
    const freq = FREQUENCIES[r.update_cycle];
    if (freq) add(ds, n('dct', 'accrualPeriodicity'), concept(freq, n('dct', 'Frequency')));
    for (const d of domainsOfTopic(r.topic)) {
      const iri = `${EU}data-theme/${THEMES[d]}`;
      if (!typed.has(iri))
        add(namedNode(iri), n('skos', 'prefLabel'), literal(THEME_LABELS[THEMES[d]], 'en'));
      const theme = concept(iri, n('skos', 'Concept'));
      add(ds, n('dcat', 'theme'), theme);
    }
    if (r.published_at) add(ds, n('dct', 'issued'), dateTime(r.published_at));
    add(ds, n('dct', 'modified'), dateTime(r.last_ingest_at ?? r.updated_at));
    if (r.open_type === 'open' && r.data_table) {
      add(service, n('dcat', 'servesDataset'), ds);
      for (const f of Object.keys(DOWNLOAD_MEDIA) as DownloadFormat[]) {
        const dist = namedNode(`${base}/open/dataset/${r.id}#${f}`);
        const url = namedNode(`${base}/api/open/datasets/${r.id}/download?format=${f}`);
        add(ds, n('dcat', 'distribution'), dist);
        add(dist, type, n('dcat', 'Distribution'));
        add(
          dist,
          n('dct', 'title'),
          literal(`${r.name}（${f === 'csv-gbk' ? 'CSV GBK' : f.toUpperCase()}）`, 'zh'),
        );
        add(dist, n('dcat', 'accessURL'), url);
        add(dist, n('dcat', 'downloadURL'), url);
        add(
          dist,
          n('dct', 'format'),
          concept(`${EU}file-type/${FILE_TYPES[f]}`, n('dct', 'MediaTypeOrExtent')),
        );
        add(dist, n('dcat', 'mediaType'), concept(IANA[f], n('dct', 'MediaType')));
        add(dist, n('dcat', 'accessService'), service);
        add(dist, n('dct', 'accessRights'), concept(ACCESS_RIGHTS.open, n('dct', 'RightsStatement')));
      }
    } else {
      // on application: the way in is the dataset page, where the application will be filed
      const dist = namedNode(`${base}/open/dataset/${r.id}#application`);
      add(ds, n('dcat', 'distribution'), dist);
      add(dist, type, n('dcat', 'Distribution'));
      add(dist, n('dct', 'title'), literal(`${r.name}（依申请开放）`, 'zh'));
      add(dist, n('dcat', 'accessURL'), namedNode(`${base}/open/dataset/${r.id}`));
      add(dist, n('dct', 'accessRights'), concept(ACCESS_RIGHTS.onApplication, n('dct', 'RightsStatement')));
    }
  }
  return q;
}

export function toTurtle(quads: Quad[]): Promise<string> {
  const w = new Writer({ prefixes: NS });
  w.addQuads(quads);
  return new Promise((resolve, reject) => w.end((err, out) => (err ? reject(err) : resolve(out))));
}

/** JSON-LD: one node object per subject, full IRIs under a prefix @context; values as @id or @value (+@language/@type). */
export function toJsonLd(quads: Quad[]) {
  const compact = (iri: string) => {
    for (const [p, ns] of Object.entries(NS)) if (iri.startsWith(ns)) return `${p}:${iri.slice(ns.length)}`;
    return iri;
  };
  const nodes = new Map<string, Record<string, unknown>>();
  for (const x of quads) {
    const s = x.subject.value;
    let node = nodes.get(s);
    if (!node) {
      node = { '@id': s };
      nodes.set(s, node);
    }
    if (x.predicate.value === `${NS.rdf}type`) {
      node['@type'] = [...((node['@type'] as string[]) ?? []), compact(x.object.value)];
      continue;
    }
    const key = compact(x.predicate.value);
    const o = x.object;
    const value =
      o.termType === 'NamedNode'
        ? { '@id': o.value }
        : o.termType === 'Literal' && o.language
          ? { '@value': o.value, '@language': o.language }
          : o.termType === 'Literal' && o.datatype.value !== `${NS.xsd}string`
            ? { '@value': o.value, '@type': compact(o.datatype.value) }
            : { '@value': o.value };
    node[key] = [...((node[key] as unknown[]) ?? []), value];
  }
  return { '@context': NS, '@graph': [...nodes.values()] };
}

function baseUrl(req: FastifyRequest): string {
  return `${req.protocol}://${req.host}`;
}

export async function dcatRoutes(app: FastifyInstance, ctx: AppContext) {
  const config = { public: true, rateLimit: openRateLimit(ctx, 'read') };
  app.get(
    '/open/catalog.ttl',
    { schema: { tags: ['opening'], summary: 'DCAT-AP 3.0 catalogue of the open datasets (Turtle)' }, config },
    async (req, reply) => {
      const ttl = await toTurtle(await catalogQuads(ctx, baseUrl(req)));
      return reply.type('text/turtle; charset=utf-8').send(ttl);
    },
  );
  app.get(
    '/open/catalog.jsonld',
    {
      schema: { tags: ['opening'], summary: 'DCAT-AP 3.0 catalogue of the open datasets (JSON-LD)' },
      config,
    },
    async (req, reply) => {
      const doc = toJsonLd(await catalogQuads(ctx, baseUrl(req)));
      return reply.type('application/ld+json; charset=utf-8').send(JSON.stringify(doc));
    },
  );
}
