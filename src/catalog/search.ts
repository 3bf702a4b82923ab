import { createRequire } from 'node:module';
import { type RawBuilder, sql } from 'kysely';
import type { Db, Tx } from '../db/index.js';
import { labelOf } from '../shared/labels.js';
import {
  CATALOG_LEVELS,
  CLASSIFICATIONS,
  FORMATS,
  OPEN_TYPES,
  SECURITY_LEVELS,
  SHARE_METHODS,
  SHARE_TYPES,
  UPDATE_CYCLES,
} from './model.js';
import SYNONYM_DATA from './synonyms.json' with { type: 'json' };

/*
 * Chinese full-text catalog search (issue 6 point 11).
 *
 * Why: most Chinese search words have two characters (人口, 户籍, 社保), which pg_trgm cannot index and which
 * `Intl.Segmenter('zh')` splits into single characters; jieba's search mode (`cutForSearch`) yields the words and their
 * sub-words (不动产 → 不动 动产 不动产). Documents and queries are segmented the same way in JS, lower-cased, cut into
 * runs of letters and digits (so no token carries tsquery syntax), space-joined and parsed with the `simple` text search
 * configuration: one token = one lexeme, indexed by GIN. HMM is off so that an unknown word splits the same way in a
 * document and in a query.
 */

type JiebaInstance = { cutForSearch(s: string, hmm?: boolean): string[] };
let jieba: JiebaInstance | null = null;

/** Loads jieba and its dictionary once, on first use (≈ 0.2 s), so a start without search work does not pay for it. */
function segmenter(): JiebaInstance {
  if (!jieba) {
    const require = createRequire(import.meta.url);
    const { Jieba } = require('@node-rs/jieba') as {
      Jieba: { withDict(d: Uint8Array): JiebaInstance & { loadDict(d: Uint8Array): void } };
    };
    const { dict } = require('@node-rs/jieba/dict') as { dict: Uint8Array };
    const j = Jieba.withDict(dict);
    // government data words the general dictionary lacks (else they fall apart into characters)
    j.loadDict(Buffer.from(EXTRA_WORDS.map((w) => `${w} 2000 n`).join('\n')));
    jieba = j;
  }
  return jieba;
}

const EXTRA_WORDS = [
  '网约车',
  '一网通办',
  '不动产权',
  '医保卡',
  '社保卡',
  '电子证照',
  '统一社会信用代码',
  '数源部门',
];

const TOKEN_RUN = /[\p{L}\p{N}]+/gu;

/** jieba search-mode tokens of `text`, lower-cased, letters and digits only, in order (duplicates kept: positions). */
export function segment(text: string): string[] {
  if (!text) return [];
  const out: string[] = [];
  for (const w of segmenter().cutForSearch(text, false)) {
    for (const m of w.toLowerCase().matchAll(TOKEN_RUN)) out.push(m[0]);
  }
  return out;
}

/** Characters too common to require in a query (particles, conjunctions). */
const QUERY_STOP = new Set(['的', '和', '与', '及', '或', '等', '之', '在', '了']);

/** The query's tokens, unique, in order; the last one is searched as a prefix so results follow typing. */
export function queryTokens(q: string): string[] {
  const tokens = [...new Set(segment(q))];
  const kept = tokens.filter((t) => !QUERY_STOP.has(t));
  return kept.length ? kept : tokens;
}

/** Each synonym word → its whole group (src/catalog/synonyms.json), longest words first for matching in a query. */
const SYNONYM_GROUPS = new Map<string, string[]>();
for (const g of SYNONYM_DATA.groups) for (const w of g) SYNONYM_GROUPS.set(w, g);
const SYNONYM_WORDS = [...SYNONYM_GROUPS.keys()].sort((a, b) => b.length - a.length);

/** A query as its terms: each term is one or more alternatives, each alternative an AND of tokens. */
export interface QueryTerms {
  terms: string[][][];
  /** what is being typed (the query's last token), searched as a prefix: term and alternative index */
  prefix: { term: number; alt: number } | null;
  /** every token of every alternative, for highlighting */
  tokens: string[];
}

/**
 * The query's tokens (queryTokens), with every synonym word of the query (社保) widened to its group (社保 | 社会保险):
 * a word counts when the query text holds it and all its tokens are among the query's tokens; those tokens become one
 * term whose alternatives are the tokens of each word of the group. Widening only adds alternatives, so a query never
 * finds less than without synonyms (社保卡 still needs 社保卡).
 */
export function queryTerms(q: string): QueryTerms {
  const tokens = queryTokens(q);
  const text = q.toLowerCase();
  const taken = new Map<number, { group: string[]; word: string }>(); // index of the word's first token → group
  const used = new Set<number>();
  for (const w of SYNONYM_WORDS) {
    if (!text.includes(w)) continue;
    const idx = [...new Set(segment(w))].map((t) => tokens.indexOf(t));
    if (idx.some((i) => i < 0 || used.has(i))) continue;
    for (const i of idx) used.add(i);
    taken.set(Math.min(...idx), { group: SYNONYM_GROUPS.get(w)!, word: w });
  }
  const terms: string[][][] = [];
  let prefix: QueryTerms['prefix'] = null;
  tokens.forEach((t, i) => {
    const g = taken.get(i);
    if (g) {
      terms.push(g.group.map((w) => [...new Set(segment(w))]));
      // the typed word keeps its prefix search when it ends the query (医保 still finds 医保卡)
      if (text.trimEnd().endsWith(g.word)) prefix = { term: terms.length - 1, alt: g.group.indexOf(g.word) };
    } else if (!used.has(i)) {
      terms.push([[t]]);
      if (i === tokens.length - 1) prefix = { term: terms.length - 1, alt: 0 };
    }
  });
  return { terms, prefix, tokens: [...new Set(terms.flat(2))] };
}

/** `'a' & ('b' | 'c' & 'd') & 'e':*` for query terms (weight: every lexeme restricted to it). */
export function tsqueryTerms(t: QueryTerms, weight = ''): string {
  return t.terms
    .map((alts, i) => {
      const alt = alts.map((a, k) =>
        t.prefix?.term === i && t.prefix.alt === k
          ? tsqueryText(a, weight)
          : a.map((x) => `'${x}'${weight ? `:${weight}` : ''}`).join(' & '),
      );
      return alt.length === 1 ? alt[0] : `(${alt.map((a) => `(${a})`).join(' | ')})`;
    })
    .join(' & ');
}

/** `'a' & 'b' & 'c':*` (weight: restrict every lexeme to that weight, e.g. 'A' for name/keyword hits). */
export function tsqueryText(tokens: string[], weight = ''): string {
  return tokens
    .map((t, i) => `'${t}':${i === tokens.length - 1 ? '*' : ''}${weight}`)
    .map((s) => (s.endsWith(':') ? s.slice(0, -1) : s))
    .join(' & ');
}

export interface SearchDocumentSource {
  name: string;
  keywords: string[];
  summary: string;
  fieldNames: string[];
  code: string;
  providerName: string;
}

/** The four weighted token strings of a resource's search document (A name+keywords, B summary, C fields, D code+provider). */
export function searchDocumentParts(r: SearchDocumentSource): { a: string; b: string; c: string; d: string } {
  return {
    a: [...segment(r.name), ...r.keywords.flatMap((k) => segment(k))].join(' '),
    b: segment(r.summary).join(' '),
    c: r.fieldNames.flatMap((f) => segment(f)).join(' '),
    d: [...segment(r.code), ...segment(r.providerName)].join(' '),
  };
}

/** The SQL expression that turns the four parts into the stored tsvector. */
export function searchDocumentSql(p: {
  a: RawBuilder<unknown> | string;
  b: RawBuilder<unknown> | string;
  c: RawBuilder<unknown> | string;
  d: RawBuilder<unknown> | string;
}) {
  return sql<string>`setweight(to_tsvector('simple', ${p.a}), 'A') || setweight(to_tsvector('simple', ${p.b}), 'B') || setweight(to_tsvector('simple', ${p.c}), 'C') || setweight(to_tsvector('simple', ${p.d}), 'D')`;
}

/**
 * Rebuilds the search document of one resource from its current name, keywords, summary, fields, code and provider.
 * Call it in the transaction that writes any of them (registration does; catalog editing must too).
 */
export async function refreshSearchDocument(trx: Db | Tx, resourceId: number): Promise<void> {
  const r = await trx
    .selectFrom('resource as r')
    .innerJoin('org as o', 'o.id', 'r.provider_org_id')
    .select(['r.name', 'r.keywords', 'r.summary', 'r.code', 'o.name as provider_name'])
    .where('r.id', '=', resourceId)
    .executeTakeFirst();
  if (!r) return;
  const fields = await trx
    .selectFrom('resource_field')
    .select('name')
    .where('resource_id', '=', resourceId)
    .orderBy('ordinal')
    .execute();
  // old codes (before GB/T 21063.5, migration 045) stay findable
  const aliases = await trx
    .selectFrom('resource_code_alias')
    .select('code')
    .where('resource_id', '=', resourceId)
    .orderBy('code')
    .execute();
  const parts = searchDocumentParts({
    name: r.name,
    keywords: r.keywords,
    summary: r.summary,
    code: [r.code, ...aliases.map((a) => a.code)].join(' '),
    providerName: r.provider_name,
    fieldNames: fields.map((f) => f.name),
  });
  await trx
    .updateTable('resource')
    .set({ search_doc: searchDocumentSql(parts) })
    .where('id', '=', resourceId)
    .execute();
}

/** Fills the documents of rows written before search existed (or by hand). Idempotent; cheap when none is missing. */
export async function backfillSearchDocuments(db: Db): Promise<number> {
  let done = 0;
  for (;;) {
    const ids = await db
      .selectFrom('resource')
      .select('id')
      .where('search_doc', 'is', null)
      .orderBy('id')
      .limit(200)
      .execute();
    if (!ids.length) return done;
    await db.transaction().execute(async (trx) => {
      for (const { id } of ids) await refreshSearchDocument(trx, id);
    });
    done += ids.length;
  }
}

// ---- facets ----

export const FACETS = {
  provider: 'r.provider_org_id',
  classification: 'r.classification',
  catalogLevel: 'r.catalog_level',
  shareType: 'r.share_type',
  openType: 'r.open_type',
  shareMethod: 'r.share_method',
  updateCycle: 'r.update_cycle',
  securityLevel: 'r.security_level',
  format: 'r.format',
  /** free-text domain (领域); counted only when a caller asks for it (the open-data portal) */
  topic: 'r.topic',
} as const;
export type FacetKey = keyof typeof FACETS;
export const FACET_KEYS = Object.keys(FACETS) as FacetKey[];
/** the facets counted unless the caller names its own (`SearchInput.facetKeys`): the catalog's */
export const DEFAULT_FACET_KEYS = FACET_KEYS.filter((k) => k !== 'topic');

export const FACET_VALUES: Record<Exclude<FacetKey, 'provider' | 'topic'>, readonly string[]> = {
  classification: CLASSIFICATIONS,
  catalogLevel: CATALOG_LEVELS,
  shareType: SHARE_TYPES,
  openType: OPEN_TYPES,
  shareMethod: SHARE_METHODS,
  updateCycle: UPDATE_CYCLES,
  securityLevel: SECURITY_LEVELS,
  format: FORMATS,
};

export interface FacetBucket {
  value: string | number;
  label: string;
  count: number;
}

export type SearchSort = 'relevance' | 'name' | 'updated';

export interface SearchInput {
  q?: string;
  filters: Partial<Record<FacetKey, ReadonlyArray<string | number>>>;
  sort?: SearchSort;
  page: number;
  pageSize: number;
  /** default published; entries in other statuses are listed for `ownOrgId` only */
  status?: string;
  /** a class of the tree (分类码): entries filed under it or below */
  classCode?: string;
  /** null: the caller sees every entry; else published entries of `visibleLevels` plus its own org's (DG Art 11) */
  ownOrgId: number | null;
  /** catalog levels whose published entries every department sees (the profile's `catalog.levels`) */
  visibleLevels: string[];
  /** only entries of these open types, a condition of the whole search (the open-data portal: never 不予开放) */
  openTypes?: readonly string[];
  /** facets to count (default DEFAULT_FACET_KEYS) */
  facetKeys?: readonly FacetKey[];
  /**
   * `db` is a pool of connections (the PostgreSQL server, not a transaction, not PGlite): the page and the counts go
   * as two statements at once. Same results either way.
   */
  concurrent?: boolean;
}

const RESOURCE_COLUMNS = sql`r.id, r.code, r.name, r.summary, r.provider_org_id, o.name AS provider_name, r.section_id,
  r.classification, r.topic, r.catalog_level, r.format, r.share_type, r.share_conditions, r.legal_basis, r.share_method,
  r.open_type, r.update_cycle, r.security_level, r.keywords, r.status, r.version, r.data_table, r.row_count,
  r.last_ingest_at, r.created_at, r.updated_at, r.class_id, r.class_code, r.related_codes, r.info_system_id,
  r.security_reason, r.published_at, r.retired_at, r.retire_reason, r.legal_basis_kind`;

/** ts_rank_cd weights {D, C, B, A}: a name or keyword hit counts most, then summary, then field names. */
const RANK_WEIGHTS = '{0.05, 0.2, 0.4, 1.0}';

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * One page of visible, published resources matching `q` and the filters, with facet counts for the same query.
 * Each facet is counted with every filter except its own (ticking a value in a group keeps the group's other counts).
 */
export async function searchResources(db: Db | Tx, input: SearchInput) {
  const q = (input.q ?? '').trim();
  const terms = q ? queryTerms(q) : null;
  const tokens = terms?.tokens ?? [];
  const tsq = terms?.terms.length ? sql`to_tsquery('simple', ${tsqueryTerms(terms)})` : null;

  // codes are ASCII (446000-GAJ-001): a query that could be one is also matched as a code prefix
  const codePrefix = q && /^[A-Za-z0-9/-]+$/.test(q) ? `${escapeLike(q.toLowerCase())}%` : null;
  const codeHit = codePrefix ? sql`lower(r.code) LIKE ${codePrefix}` : sql`false`;

  const conditions = (except?: FacetKey) => {
    const status = input.status ?? 'published';
    const c = [sql`r.status = ${status}`];
    if (input.classCode) c.push(sql`r.class_code LIKE ${`${input.classCode}%`}`);
    if (input.openTypes) c.push(sql`r.open_type = ANY(${[...input.openTypes]}::text[])`);
    if (input.ownOrgId !== null)
      c.push(
        status === 'published'
          ? sql`(r.catalog_level = ANY(${input.visibleLevels}::text[]) OR r.provider_org_id = ${input.ownOrgId})`
          : sql`r.provider_org_id = ${input.ownOrgId}`,
      );
    if (q) {
      if (tsq && codePrefix) c.push(sql`(r.search_doc @@ ${tsq} OR ${codeHit})`);
      else if (tsq) c.push(sql`r.search_doc @@ ${tsq}`);
      else if (codePrefix) c.push(codeHit);
      else c.push(sql`false`);
    }
    for (const key of FACET_KEYS) {
      const values = input.filters[key];
      if (key === except || !values?.length) continue;
      const col = sql.raw(FACETS[key]);
      c.push(
        key === 'provider'
          ? sql`${col} = ANY(${values.map(Number)}::bigint[])`
          : sql`${col} = ANY(${values.map(String)}::text[])`,
      );
    }
    return sql.join(c, sql` AND `);
  };
  const from = sql`resource r JOIN org o ON o.id = r.provider_org_id`;

  const sort: SearchSort = input.sort ?? (q ? 'relevance' : 'name');
  // sort keys, computed once per matching row in `m` (ts_rank_cd is the expensive one)
  const keys: { expr: RawBuilder<unknown>; desc: boolean }[] = [];
  let idDesc = false;
  if (sort === 'relevance' && q) {
    // exact or prefix code match first, then entries whose name or keywords match every token, then cover density
    if (codePrefix) keys.push({ expr: codeHit, desc: true });
    // k0: the name or keywords match every token — tested on `search_name`, the document's weight-A lexemes
    // (migration 016), a fifth of its size; k1 among name hits: cover density of the name and keywords
    if (tsq)
      keys.push(
        { expr: sql`r.search_name @@ ${tsq}`, desc: true },
        // ranked in `m` only where the name or keywords hit (k0); the others only if the page reaches them (`p`)
        {
          expr: codePrefix
            ? sql`ts_rank_cd(${RANK_WEIGHTS}::float4[], r.search_doc, ${tsq})`
            : sql`CASE WHEN r.search_name @@ ${tsq} THEN ts_rank_cd(${RANK_WEIGHTS}::float4[], r.search_name, ${tsq}) END`,
          desc: true,
        },
      );
  } else if (sort === 'updated') {
    keys.push({ expr: sql`r.updated_at`, desc: true });
    idDesc = true;
  } else if (sort === 'name') keys.push({ expr: sql`r.name`, desc: false });
  const order = (prefix: string) =>
    sql.join(
      [
        ...keys.map((k, i) => sql.raw(`${prefix}k${i}${k.desc ? ' DESC' : ''}`)),
        sql.raw(`${prefix}id${idDesc ? ' DESC' : ''}`),
      ],
      sql`, `,
    );

  /*
   * Relevance order is (name/keyword hit k0, ts_rank_cd k1, id): name hits by the cover density of their name and
   * keywords, the others by that of their whole document. ts_rank_cd is the costly key, and a page almost always lies
   * among the name hits, so `m` ranks only those (k1 NULL for the others) and `p` ranks the others — re-reading their
   * documents — only when the page reaches past the name hits. Same order as ranking every row at once.
   */
  const lazyRank = keys.length === 2 && sort === 'relevance';
  const pageEnd = input.page * input.pageSize;

  // facets without a filter of their own, and the total, from the same matching rows: GROUPING SETS in one pass over
  // the facet columns alone (org names are joined to the provider buckets afterwards)
  const counted = input.facetKeys ?? DEFAULT_FACET_KEYS;
  const active = counted.filter((k) => input.filters[k]?.length);
  const plain = counted.filter((k) => !active.includes(k));
  const facetSql = (src: 'm' | 'r') => {
    const col = (k: FacetKey) => sql.raw(`${src}.${FACETS[k].slice(2)}`);
    const sets = [sql`()`, ...plain.map((k) => sql`(${col(k)})`)];
    const cols = [
      ...plain.map((k) => sql`${col(k)}::text AS ${sql.ref(k)}`),
      ...plain.map((k) => sql`grouping(${col(k)}) AS ${sql.ref(`g_${k}`)}`),
      sql`count(*)::int AS n`,
    ];
    return sql`SELECT ${sql.join(cols, sql`, `)} FROM ${src === 'm' ? sql`m` : sql`resource r WHERE ${conditions()}`}
      GROUP BY GROUPING SETS (${sql.join(sets, sql`, `)})`;
  };
  // provider names joined to the ≤ 1 row per provider, not to every matching row (min(name) per set was costly)
  const labelled = plain.includes('provider')
    ? sql`SELECT f.*, o.name AS provider_label FROM f LEFT JOIN org o ON o.id = f.provider::bigint`
    : sql`SELECT f.* FROM f`;
  /*
   * Two ways to the same answer. `concurrent` (a pool of server connections): the page — ranked, with its rows — and
   * the facet counts with the total are two statements sent at once on two connections, so the costly ranking of the
   * name hits and the counting run side by side instead of one after the other. Otherwise (PGlite: one connection, the
   * statements would queue) one statement reads the matching rows once into `m` and both are taken from it.
   */
  const concurrent = !!input.concurrent;
  const matching = sql`
    WITH m AS MATERIALIZED (
      SELECT ${sql.join(
        [
          sql`r.id`,
          ...(concurrent ? [] : FACET_KEYS.map((k) => sql.raw(FACETS[k]))),
          ...keys.map((k, i) => sql`${k.expr} AS ${sql.ref(`k${i}`)}`),
        ],
        sql`, `,
      )}
      FROM resource r WHERE ${conditions()}
    ), p AS (${
      lazyRank && tsq
        ? sql`
      SELECT * FROM (
        SELECT id, k0, k1 FROM (SELECT id, k0, k1 FROM m WHERE k0 ORDER BY k1 DESC, id LIMIT ${pageEnd}) a
        UNION ALL
        SELECT id, k0, k1 FROM (
          SELECT m.id, m.k0, ts_rank_cd(${RANK_WEIGHTS}::float4[], r.search_doc, ${tsq}) AS k1
          FROM m JOIN resource r ON r.id = m.id
          WHERE NOT m.k0 AND (SELECT count(*) FROM m WHERE m.k0) < ${pageEnd}
          ORDER BY k1 DESC, m.id LIMIT ${pageEnd}) b
      ) u ORDER BY ${order('')} LIMIT ${input.pageSize} OFFSET ${(input.page - 1) * input.pageSize}`
        : sql`
      SELECT * FROM m ORDER BY ${order('')} LIMIT ${input.pageSize} OFFSET ${(input.page - 1) * input.pageSize}`
    })`;
  const activeFacetQueries = active.map(
    (k) =>
      sql<{ value: string; label: string | null; n: number }>`SELECT ${sql.raw(FACETS[k])}::text AS value, ${
        k === 'provider' ? sql`min(o.name)` : sql`NULL`
      } AS label, count(*)::int AS n FROM ${from} WHERE ${conditions(k)} GROUP BY 1`,
  );
  const run = async (): Promise<{
    items: Record<string, unknown>[];
    facetRows: Record<string, string | number | null>[];
  }> => {
    if (concurrent) {
      const [page, f] = await Promise.all([
        sql<Record<string, unknown>>`${matching}
          SELECT ${RESOURCE_COLUMNS} FROM p JOIN resource r ON r.id = p.id JOIN org o ON o.id = r.provider_org_id
          ORDER BY ${order('p.')}`.execute(db),
        sql<Record<string, string | number | null>>`WITH f AS (${facetSql('r')}) ${labelled}`.execute(db),
      ]);
      return { items: page.rows, facetRows: f.rows };
    }
    const mainRes = await sql<{
      ids: number[] | null;
      facets: Record<string, string | number | null>[] | null;
    }>`${matching}, f AS (${facetSql('m')})
      SELECT (SELECT array_agg(p.id ORDER BY ${order('p.')}) FROM p) AS ids,
        (SELECT json_agg(x) FROM (${labelled}) x) AS facets`.execute(db);
    const ids = (mainRes.rows[0]?.ids ?? []).map(Number);
    const byId = new Map<number, Record<string, unknown>>();
    if (ids.length) {
      const rows = await sql<
        Record<string, unknown>
      >`SELECT ${RESOURCE_COLUMNS} FROM ${from} WHERE r.id = ANY(${ids}::bigint[])`.execute(db);
      for (const r of rows.rows) byId.set(Number(r.id), r);
    }
    return {
      items: ids.map((id) => byId.get(id)).filter((r): r is Record<string, unknown> => !!r),
      facetRows: mainRes.rows[0]?.facets ?? [],
    };
  };
  const [{ items, facetRows }, ...activeRows] = await Promise.all([
    run(),
    ...activeFacetQueries.map((s) => s.execute(db)),
  ]);
  const main = { rows: facetRows };

  const facets = {} as Record<FacetKey, FacetBucket[]>;
  let total = 0;
  for (const k of counted) facets[k] = [];
  for (const row of main.rows) {
    const own = plain.filter((k) => row[`g_${k}`] === 0);
    if (own.length === 0) {
      total = row.n as number;
      continue;
    }
    const k = own[0];
    if (row[k] === null) continue;
    facets[k].push(bucket(k, String(row[k]), row.provider_label as string | null, row.n as number));
  }
  active.forEach((k, i) => {
    for (const row of activeRows[i].rows) facets[k].push(bucket(k, row.value, row.label, row.n));
  });
  for (const k of counted) {
    // a ticked value stays in its group (count 0) so it can be unticked
    for (const v of input.filters[k] ?? []) {
      if (!facets[k].some((b) => String(b.value) === String(v)))
        facets[k].push(bucket(k, String(v), k === 'provider' ? String(v) : null, 0));
    }
    const order = k === 'provider' || k === 'topic' ? null : FACET_VALUES[k];
    facets[k].sort((a, b) =>
      order
        ? order.indexOf(String(a.value)) - order.indexOf(String(b.value))
        : b.count - a.count || a.label.localeCompare(b.label, 'zh'),
    );
  }
  return { rows: items, total, facets, tokens, sort };
}

function bucket(k: FacetKey, value: string, providerLabel: string | null, count: number): FacetBucket {
  if (k === 'provider') return { value: Number(value), label: providerLabel ?? value, count };
  if (k === 'topic') return { value, label: value, count };
  return { value, label: labelOf(`${k}.${value}`) ?? value, count };
}

// ---- highlighting ----

export interface HighlightSegment {
  text: string;
  hit: boolean;
}

/**
 * Splits `text` into segments, marking every occurrence of a query token (case-insensitive). Plain text only: the
 * console renders hits bold, the server sends no HTML.
 */
export function highlight(text: string, tokens: string[]): HighlightSegment[] {
  if (!text) return [];
  const lower = text.toLowerCase();
  const marks = new Array<boolean>(text.length).fill(false);
  // longest first, so 不动产 is marked whole even where 不动 / 动产 also occur
  for (const t of [...tokens].sort((a, b) => b.length - a.length)) {
    if (!t) continue;
    for (let i = lower.indexOf(t); i >= 0; i = lower.indexOf(t, i + t.length)) {
      for (let j = i; j < i + t.length; j++) marks[j] = true;
    }
  }
  const out: HighlightSegment[] = [];
  for (let i = 0; i < text.length; ) {
    let j = i;
    while (j < text.length && marks[j] === marks[i]) j++;
    out.push({ text: text.slice(i, j), hit: marks[i] });
    i = j;
  }
  return out;
}

/** A window of the summary around its first hit (at most `max` characters), highlighted. */
export function summarySnippet(text: string, tokens: string[], max = 120): HighlightSegment[] {
  const segs = highlight(text, tokens);
  if (text.length <= max) return segs;
  let first = 0;
  let pos = 0;
  for (const s of segs) {
    if (s.hit) {
      first = pos;
      break;
    }
    pos += s.text.length;
  }
  const start = Math.max(0, Math.min(first - 20, text.length - max));
  const end = start + max;
  const out: HighlightSegment[] = [];
  pos = 0;
  for (const s of segs) {
    const a = Math.max(pos, start);
    const b = Math.min(pos + s.text.length, end);
    if (a < b) out.push({ text: s.text.slice(a - pos, b - pos), hit: s.hit });
    pos += s.text.length;
  }
  if (start > 0) out.unshift({ text: '…', hit: false });
  if (end < text.length) out.push({ text: '…', hit: false });
  return out;
}
