import { createHash } from 'node:crypto';
import { CompiledQuery, sql } from 'kysely';
import { AUDIT_COLUMNS } from '../audit/store.js';
import { columnName, type Masking, SQL_TYPES } from '../catalog/model.js';
import type { Database, Db } from '../db/index.js';
import { JSON_WATERMARK_SCHEME, WATERMARK_SCHEME } from './watermark.js';

/*
 * A governed data call is answered by one SQL statement: it resolves the API key to an active app, the app to an
 * active, unexpired grant on the resource, reads the record, and inserts the audit row, in one implicit
 * transaction (DG Art 28/33: no data leaves without its audit record). Denied calls are audited the same way.
 *
 * Record reads are batched: calls on the same resource that arrive while earlier ones are in flight share one
 * statement (and so one transaction), each with its own audit row. A caller is answered only after that
 * statement has committed. This is group commit for the audit trail: the write transaction, not the lookup,
 * is what a governed call costs (measured in bench/), so sharing it is where the throughput comes from.
 * Named prepared statements skip parse/plan on the hot path.
 */

export interface MetaField {
  code: string;
  /** the registered name (性别…): recognises the gender masking class */
  name?: string;
  columnName: string;
  type: string;
  personal: boolean;
  sensitive: boolean;
  masking: Masking;
  isKey: boolean;
  validator: string | null;
  /** stored as ciphertext with a `<column>_h` lookup index (docs/ENCRYPTION.md) */
  encrypted?: boolean;
}

export interface ResourceMeta {
  id: number;
  code: string;
  version: number;
  table: string;
  fields: MetaField[];
  /** the record key's field: how a looked-up key is normalised and shown masked in the audit log */
  keyField: MetaField | null;
  /** statement texts built once per resource version from generated identifiers only */
  getSql: string;
  listSql: string;
  /** the filtered query's statement around a WHERE fragment built by filter.ts (generated columns, placeholders from $14) */
  querySql: (where: string) => string;
  /** verification around a match condition (`t.cN = $12::type AND …`) */
  verifySql: (match: string) => string;
  /** the start of a bulk export: authorisation, daily row quota, the data_export row and the audit row */
  exportSql: string;
  /** a page of the change feed: authorisation (change-feed right), the changes after a cursor with their values, the audit row */
  feedSql: string;
  /**
   * Fields flagged sensitive-personal but still stored clear (awaiting the conversion job, security/key-convert.ts,
   * which changes no catalog version): every statement also checks that none of them was converted since the meta was
   * read, so a node holding the old meta re-reads it at once instead of looking a converted record key or value up in
   * its clear form for up to 30 s. The reverse likewise: fields no longer flagged but still stored encrypted (awaiting
   * `keys.decrypt`) must still be encrypted, so a node never looks a record key turned back to clear up by its keyed
   * hash (no column is dropped there, so no 42703 would tell). Empty (no cost) when no field awaits conversion.
   */
  storageCheck: string;
  /**
   * The version and the storage state (encrypted and pending fields): names the prepared statements, whose text changes
   * with the storage while the catalog version does not (a conversion), so a connection never runs an old text.
   */
  stamp: string;
  /**
   * The lookup-index key version the resource's hashes are under (`resource.index_key`, docs/ENCRYPTION.md "Rotating
   * the lookup-index key"): every hashed lookup (record key, equality filter, verification) hashes under it, and for a
   * resource with an encrypted field `storageCheck` also checks it is still the resource's version, so a node holding
   * metadata read before the rotation converted the resource re-reads it instead of looking up under the old key.
   */
  indexVersion: number;
}

/*
 * ONE shape of the authorisation rule for every governed statement (record reads in batches, pages, later queries):
 * `req` is the calls (one row per call, `unnest` over arrays, so a page is a batch of one), `a` resolves each call's
 * key to its app (active or suspended, so a suspended app's call is refused *as suspended* and audited), `g` the app's
 * newest active, unexpired grant on the resource, `v` checks the cached resource version. Each statement then adds its
 * own `d` (the rows a call may read, only where `g` matched) and the common audit insert.
 *
 * Parameters common to all: $1 key hashes, $2 per-call argument (record key / page cursor), $3 client addresses,
 * $4 resource id, $5 resource version, $6 audit target ids, $7 audit target labels, $8 purposes named, $9 fields asked
 * (comma-joined), $10 whether the profile limits use to the purpose, $11 fields filtered on (comma-joined).
 */
const RIGHT_REFUSAL = {
  read: "WHEN NOT gm.can_read THEN 'READ_NOT_GRANTED'",
  verify: "WHEN NOT gm.can_verify THEN 'VERIFY_NOT_GRANTED'",
  export: "WHEN NOT gm.can_export THEN 'EXPORT_NOT_GRANTED'",
  // aggregates (可用不可见, DG Art 33): an aggregate-only grant, or a grant that may read records (not verify-only)
  aggregate: "WHEN gm.access_mode = 'rows' AND NOT gm.can_read THEN 'READ_NOT_GRANTED'",
  feed: "WHEN NOT gm.can_feed THEN 'FEED_NOT_GRANTED'",
} as const;

/**
 * `quota`: an extra SQL condition on `gm` that refuses the call as EXPORT_QUOTA_EXCEEDED (checked last). `storage`: the
 * meta's `storageCheck`, an extra condition on the cached state (see ResourceMeta).
 */
const authorisedCalls = (right: keyof typeof RIGHT_REFUSAL, quota?: string, storage = '') => `req AS (
    SELECT r.n, r.key_hash, r.arg, r.client_ip, r.target_hash, r.target_label, r.purpose_asked,
      string_to_array(r.fields_asked, ',') AS fields_asked, string_to_array(r.filter_fields, ',') AS filter_fields,
      nextval(pg_get_serial_sequence('audit_log', 'id')) AS audit_id
    FROM unnest($1::text[], $2::text[], $3::text[], $6::text[], $7::text[], $8::text[], $9::text[], $11::text[])
      WITH ORDINALITY AS r(key_hash, arg, client_ip, target_hash, target_label, purpose_asked, fields_asked,
        filter_fields, n)
  ), v AS (SELECT 1 FROM resource WHERE id = $4 AND version = $5${storage}),
  a AS (
    SELECT req.n, app.id, app.org_id, app.status FROM req
    -- the current key, or the replaced one during its rotation overlap (issue 10 point 7)
    JOIN app ON (app.key_hash = req.key_hash OR (app.prev_key_hash = req.key_hash AND app.prev_key_until > now()))
      AND app.status IN ('active', 'suspended')
  ),
  gm AS (
    SELECT DISTINCT ON (a.n) a.n, g.id, g.status AS grant_status,
      g.fields, g.purpose, g.max_rows_per_call,
      g.can_read, g.can_verify, g.can_export, g.max_export_rows_per_day, g.max_epsilon_per_day, g.access_mode,
      g.clear_fields, g.can_feed,
      req.purpose_asked IN (g.purpose_id, btrim(g.purpose)) AS purpose_ok, req.purpose_asked,
      req.fields_asked, req.filter_fields
    FROM a JOIN req ON req.n = a.n
    JOIN share_grant g ON g.app_id = a.id AND a.status = 'active'
    WHERE g.resource_id = $4 AND g.status IN ('active', 'riskPending') AND g.valid_from <= now()
      AND g.valid_until > now()
    ORDER BY a.n, g.status = 'active' DESC, (req.purpose_asked IN (g.purpose_id, btrim(g.purpose))) DESC NULLS LAST,
      g.id DESC
  ),
  g AS (
    SELECT gm.*, coalesce(gm.fields_asked, gm.fields) AS fields_used,
      CASE WHEN gm.grant_status = 'riskPending' THEN 'RISK_ASSESSMENT_REQUIRED'
           WHEN $10::boolean AND gm.purpose_asked IS NULL THEN 'PURPOSE_REQUIRED'
           WHEN $10::boolean AND NOT gm.purpose_ok THEN 'PURPOSE_MISMATCH'
           ${right === 'aggregate' ? '' : "WHEN gm.access_mode = 'aggregate' THEN 'AGGREGATE_ONLY'"}
           ${RIGHT_REFUSAL[right]}
           WHEN NOT coalesce(gm.fields_asked <@ gm.fields, true) THEN 'FIELD_NOT_GRANTED'
           WHEN NOT coalesce(gm.filter_fields <@ gm.fields, true) THEN 'FILTER_NOT_GRANTED'${
             quota
               ? `
           WHEN ${quota} THEN 'EXPORT_QUOTA_EXCEEDED'`
               : ''
           }
      END AS refusal
    FROM gm
  ), ok AS (SELECT * FROM g WHERE refusal IS NULL)`;

const denyReason = (refusal: string) => `CASE WHEN a.id IS NULL THEN '{"reason":"API_KEY_INVALID"}'::jsonb
           WHEN a.status = 'suspended' THEN '{"reason":"APP_SUSPENDED"}'::jsonb
           WHEN g.id IS NULL THEN '{"reason":"GRANT_REQUIRED"}'::jsonb
           WHEN ${refusal} IS NOT NULL THEN jsonb_build_object('reason', ${refusal}) ELSE '{}'::jsonb END
      || jsonb_strip_nulls(jsonb_build_object('purposeAsked', req.purpose_asked,
           'fieldsAsked', to_jsonb(req.fields_asked), 'filterFields', to_jsonb(req.filter_fields)))`;

/**
 * A call's refusal: the grant's (`g.refusal`), or, when `late` is given, a refusal the statement decides after the
 * grant check (e.g. the aggregate's privacy budget, spent by a CTE of the same statement): `late` is an SQL text
 * expression, a refusal code or NULL, evaluated only for a call the grant allows.
 */
const refusalOf = (late?: string) =>
  late ? `coalesce(g.refusal, CASE WHEN g.id IS NOT NULL THEN ${late} END)` : 'g.refusal';

/*
 * Latency for usage monitoring (NY task 10): the time from the start of the governed statement to its audit insert, in
 * ms ("ms" in detail). It covers authorisation and the read, not the network; a batch's calls share one statement.
 */
const LATENCY = `jsonb_build_object('ms', round((extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)::numeric, 2))`;

/**
 * The audit row of every call, allowed or denied, written by the statement that answers it. `late`: see refusalOf.
 */
function auditInsert(
  action: string,
  targetType: string,
  rowsReturned: string,
  extraDetail = "'{}'::jsonb",
  late?: string,
) {
  const refusal = refusalOf(late);
  return `ins AS (
    INSERT INTO audit_log (id, ${AUDIT_COLUMNS})
    SELECT req.audit_id, NULL, a.org_id, a.id, g.id, '${action}', $4, '${targetType}', req.target_hash, req.target_label,
      g.purpose, CASE WHEN g.id IS NULL OR ${refusal} IS NOT NULL THEN 'deny' ELSE 'allow' END,
      CASE WHEN g.id IS NULL OR ${refusal} IS NOT NULL THEN NULL ELSE ${rowsReturned} END, g.fields_used,
      req.client_ip, ${denyReason(refusal)} || ${extraDetail} || ${LATENCY}
    FROM req LEFT JOIN a ON a.n = req.n LEFT JOIN g ON g.n = req.n
    WHERE EXISTS (SELECT 1 FROM v)
    RETURNING id
  )`;
}

/** What every governed statement answers per call, in input order. `late`: see refusalOf. */
function answers(extra: string, joins: string, late?: string) {
  return `SELECT req.n, a.id AS app_id, a.status AS app_status, g.id AS grant_id, g.fields_used AS fields,
    g.fields AS granted, g.clear_fields AS clear, ${refusalOf(late)} AS refusal, ins.id AS audit_id,
    EXISTS (SELECT 1 FROM v) AS current${extra}
  FROM req LEFT JOIN a ON a.n = req.n LEFT JOIN g ON g.n = req.n ${joins}
    LEFT JOIN ins ON ins.id = req.audit_id
  ORDER BY req.n`;
}

export function buildMeta(
  r: { id: number; code: string; version: number; data_table: string; index_key?: number },
  fields: {
    code: string;
    name?: string;
    ordinal: number;
    type: string;
    personal: boolean;
    sensitive: boolean;
    masking: string;
    is_key: boolean;
    validator: string | null;
    encrypted?: boolean;
    sensitive_personal?: boolean;
  }[],
): ResourceMeta {
  const pending = fields
    .filter((f) => f.sensitive_personal && f.encrypted === false)
    .map((f) => Number(f.ordinal));
  // the reverse: fields whose flag a catalog version turned off, still stored encrypted (awaiting keys.decrypt)
  const decrypting = fields
    .filter((f) => f.encrypted === true && f.sensitive_personal === false)
    .map((f) => Number(f.ordinal));
  const encrypted = fields.filter((f) => f.encrypted === true).map((f) => Number(f.ordinal));
  const indexVersion = r.index_key ?? 1;
  const storageCheck = [
    // hashes under the index-key version read with the meta (a rotation switches it with the hashes, key-rotate-index)
    encrypted.length ? ` AND index_key = ${Number(indexVersion)}` : '',
    pending.length
      ? ` AND NOT EXISTS (SELECT 1 FROM resource_field f WHERE f.resource_id = $4 AND f.ordinal IN (${pending.join(', ')}) AND f.encrypted)`
      : '',
    decrypting.length
      ? ` AND NOT EXISTS (SELECT 1 FROM resource_field f WHERE f.resource_id = $4 AND f.ordinal IN (${decrypting.join(', ')}) AND NOT f.encrypted)`
      : '',
  ].join('');
  const stamp =
    encrypted.length || pending.length
      ? `${r.version}.${createHash('sha1')
          .update(`${encrypted.join(',')}/${pending.join(',')}/${indexVersion}`)
          .digest('hex')
          .slice(0, 8)}`
      : String(r.version);
  const cols = fields.map((f) => `${columnName(f.ordinal)} AS "${f.code}"`).join(', ');
  const getSql = `WITH ${authorisedCalls('read', undefined, storageCheck)},
  d AS (
    SELECT ok.n, row_to_json(x) AS record FROM ok JOIN req ON req.n = ok.n
    JOIN LATERAL (SELECT ${cols} FROM ${r.data_table} t WHERE t._key = req.arg) x ON true
  ),
  ${auditInsert('data.get', 'record', '(SELECT count(*) FROM d WHERE d.n = req.n)')}
  ${answers(', d.record', 'LEFT JOIN d ON d.n = req.n')}`;
  // a page is a batch of one call; rows per call: the grant's own cap, else the platform default ($13)
  const rowLimit = 'least($12::int, coalesce(ok.max_rows_per_call, $13::int))';
  const listSql = `WITH ${authorisedCalls('read', undefined, storageCheck)},
  d AS (
    SELECT ok.n AS _call, x.* FROM ok JOIN req ON req.n = ok.n
    JOIN LATERAL (SELECT _seq, ${cols} FROM ${r.data_table}
      WHERE _seq > coalesce(req.arg::bigint, 0) ORDER BY _seq LIMIT ${rowLimit}) x ON true
  ),
  ${auditInsert('data.list', 'page', '(SELECT count(*) FROM d WHERE d._call = req.n)')}
  ${answers(
    `, ${rowLimit.replace('ok.', 'g.')} AS row_limit,
    (SELECT json_agg(to_jsonb(d) - '_call' ORDER BY d._seq) FROM d WHERE d._call = req.n) AS records`,
    '',
  )}`;
  const querySql = (where: string) => `WITH ${authorisedCalls('read', undefined, storageCheck)},
  d AS (
    SELECT ok.n AS _call, x.* FROM ok JOIN req ON req.n = ok.n
    JOIN LATERAL (SELECT t._seq, ${cols} FROM ${r.data_table} t
      WHERE t._seq > coalesce(req.arg::bigint, 0)${where} ORDER BY t._seq LIMIT ${rowLimit}) x ON true
  ),
  ${auditInsert('data.query', 'query', '(SELECT count(*) FROM d WHERE d._call = req.n)')}
  ${answers(
    `, ${rowLimit.replace('ok.', 'g.')} AS row_limit,
    (SELECT json_agg(to_jsonb(d) - '_call' ORDER BY d._seq) FROM d WHERE d._call = req.n) AS records`,
    '',
  )}`;
  // verification (核验, DG Art 19): does the record under this key carry these values? Only match / no match leaves.
  const verifySql = (match: string) => `WITH ${authorisedCalls('verify', undefined, storageCheck)},
  d AS (
    SELECT ok.n, (${match}) AS matched FROM ok JOIN req ON req.n = ok.n JOIN ${r.data_table} t ON t._key = req.arg
  ),
  ${auditInsert(
    'data.verify',
    'record',
    '0',
    `CASE WHEN g.id IS NOT NULL AND g.refusal IS NULL THEN jsonb_build_object('matched',
      coalesce((SELECT d.matched FROM d WHERE d.n = req.n), false)) ELSE '{}'::jsonb END`,
  )}
  ${answers(', coalesce(d.matched, false) AS matched', 'LEFT JOIN d ON d.n = req.n')}`;
  // bulk export (issue 9 point 5): the authorisation and the daily row quota are decided here, the export row and
  // the audit row written in the same statement; its batches are read by exportBatchSql. Extra parameters: $12 format,
  // $13 encoding, $14 the platform's export rows per day, $15 start of today (Beijing), $16 rows the export will
  // deliver, $17 the highest _seq it may deliver.
  const exportQuota = `$16::bigint > coalesce(gm.max_export_rows_per_day, $14::bigint) - (
      SELECT coalesce(sum(CASE WHEN e.status = 'running' THEN e.rows_reserved ELSE e.row_count END), 0)
      FROM data_export e WHERE e.grant_id = gm.id AND e.started_at >= $15::timestamptz)`;
  const exportSql = `WITH ${authorisedCalls('export', exportQuota, storageCheck)},
  exp AS (
    INSERT INTO data_export (app_id, org_id, grant_id, resource_id, purpose, format, encoding, fields,
      rows_reserved, max_seq, audit_id, client_ip, watermark)
    SELECT a.id, a.org_id, ok.id, $4, ok.purpose, $12, $13, ok.fields_used, $16, $17, req.audit_id, req.client_ip,
      CASE $12::text WHEN 'csv' THEN '${WATERMARK_SCHEME}' WHEN 'ndjson' THEN '${JSON_WATERMARK_SCHEME}' END
    FROM ok JOIN req ON req.n = ok.n JOIN a ON a.n = ok.n
    WHERE EXISTS (SELECT 1 FROM v)
    RETURNING id, audit_id
  ),
  ${auditInsert(
    'data.export',
    'export',
    '$16::bigint',
    `jsonb_build_object('format', $12::text, 'encoding', $13::text) || coalesce((SELECT jsonb_build_object('exportId',
      exp.id) FROM exp WHERE exp.audit_id = req.audit_id), '{}'::jsonb)`,
  )}
  ${answers(', (SELECT exp.id FROM exp) AS export_id', '')}`;
  // the change feed (issue 9 point 6): the changes after the cursor ($2) in record_change order, each upsert with the
  // values of exactly its version (the resource table's row while current, else the version record_history kept), up
  // to the rows per call; $14 the subscription a push delivers for (null: a pull), $15 the highest change a resent
  // batch may hold (null: none), so a retried push is the same batch under the same cursor
  const histCols = fields
    .map(
      (f, i) =>
        `(h.data->>${i})::${f.encrypted ? 'text' : SQL_TYPES[f.type as keyof typeof SQL_TYPES]} AS "${f.code}"`,
    )
    .join(', ');
  const keyHashed = fields.some((f) => f.is_key && f.encrypted === true);
  const feedSql = `WITH ${authorisedCalls('feed', undefined, storageCheck)},
  d AS (
    SELECT ok.n AS _call, c.seq, c.rkey, c.op, c.version, c.changed_at,
      (SELECT kr.ref FROM record_key_ref kr WHERE kr.resource_id = $4 AND kr.rkey = c.rkey) AS kref,
      CASE WHEN c.op = 'upsert' THEN coalesce(
        (SELECT row_to_json(x) FROM (SELECT ${cols} FROM ${r.data_table} t
          WHERE t._key = c.rkey AND t._version = c.version) x),
        (SELECT row_to_json(x) FROM (SELECT ${histCols} FROM record_history h
          WHERE h.resource_id = $4 AND h.rkey = c.rkey AND h.version = c.version
          ORDER BY h.valid_to DESC LIMIT 1) x))${
            // a hashed record key (an encrypted key field) is not the key: a delete carries the version it removed,
            // so the feed can name the key from its (decrypted, masked) value
            keyHashed
              ? ` ELSE (SELECT row_to_json(x) FROM (SELECT ${histCols} FROM record_history h
          WHERE h.resource_id = $4 AND h.rkey = c.rkey AND h.version = c.version
          ORDER BY h.valid_to DESC LIMIT 1) x)`
              : ''
          } END AS rec
    FROM ok JOIN req ON req.n = ok.n
    JOIN LATERAL (SELECT * FROM record_change c0 WHERE c0.resource_id = $4 AND c0.seq > coalesce(req.arg::bigint, 0)
      AND ($15::bigint IS NULL OR c0.seq <= $15::bigint) ORDER BY c0.seq LIMIT ${rowLimit}) c ON true
  ),
  ${auditInsert(
    'data.feed',
    'feed',
    '(SELECT count(*) FROM d WHERE d._call = req.n)',
    `jsonb_strip_nulls(jsonb_build_object('after', req.arg, 'last', (SELECT max(d.seq) FROM d WHERE d._call = req.n),
      'subscriptionId', $14::bigint))`,
  )}
  ${answers(
    `, ${rowLimit.replace('ok.', 'g.')} AS row_limit,
    (SELECT json_agg(json_build_object('seq', d.seq, 'key', d.rkey, 'ref', d.kref, 'op', d.op, 'version', d.version,
      'changedAt', d.changed_at, 'rec', d.rec) ORDER BY d.seq) FROM d WHERE d._call = req.n) AS records`,
    '',
  )}`;
  const metaFields = fields.map((f) => ({
    code: f.code,
    name: f.name,
    columnName: columnName(f.ordinal),
    type: f.type,
    personal: f.personal,
    sensitive: f.sensitive,
    masking: f.masking as Masking,
    isKey: f.is_key,
    validator: f.validator,
    encrypted: f.encrypted === true,
  }));
  return {
    id: r.id,
    code: r.code,
    version: r.version,
    table: r.data_table,
    fields: metaFields,
    keyField: metaFields.find((f) => f.isKey) ?? null,
    getSql,
    listSql,
    querySql,
    verifySql,
    exportSql,
    feedSql,
    storageCheck,
    stamp,
    indexVersion,
  };
}

export interface CallRow {
  app_id: number | null;
  app_status: 'active' | 'suspended' | null;
  row_limit?: number;
  grant_id: number | null;
  /** the fields this call reads: those it asked for (`fields=`), else all the grant's */
  fields: string[] | null;
  /** the grant's fields */
  granted: string[] | null;
  /** the granted fields this grant sees in clear (its clear-value right); every other protected field is masked */
  clear?: string[] | null;
  /** why the grant found does not allow this call (PURPOSE_REQUIRED, PURPOSE_MISMATCH, READ_NOT_GRANTED, FIELD_NOT_GRANTED) */
  refusal: string | null;
  audit_id: number | null;
  current: boolean;
  record?: Record<string, unknown> | null;
  records?: Record<string, unknown>[] | null;
  matched?: boolean;
  export_id?: number | null;
}

/** Who calls and under which purpose, for any governed statement. */
export interface Caller {
  keyHash: string;
  clientIp: string | null;
  /** the purpose the call names (`X-Purpose`: the grant's purpose id or its text), null when none */
  purpose: string | null;
  /** the fields the call asks for (`fields=`), null for all granted fields */
  fields: string[] | null;
  /** the active profile limits use to the stated purpose (DG Art 26, XT Art 25, SY Art 29, GD Art 21) */
  purposeChecked: boolean;
}

export interface GetItem {
  caller: Caller;
  key: string;
  /** HMAC of the key (audit_log.target_id) and its masked form (target_label): the log never holds the clear key */
  targetHash: string;
  targetLabel: string;
}

/** The parameters every governed statement shares, for a batch of calls (see authorisedCalls). */
function callParams(
  m: ResourceMeta,
  items: {
    caller: Caller;
    arg: string | null;
    targetHash: string | null;
    targetLabel: string | null;
    filterFields?: string[];
  }[],
) {
  return [
    items.map((i) => i.caller.keyHash),
    items.map((i) => i.arg),
    items.map((i) => i.caller.clientIp),
    m.id,
    m.version,
    items.map((i) => i.targetHash),
    items.map((i) => i.targetLabel),
    items.map((i) => i.caller.purpose),
    items.map((i) => (i.caller.fields ? i.caller.fields.join(',') : null)),
    items[0]?.caller.purposeChecked ?? true,
    items.map((i) => (i.filterFields?.length ? i.filterFields.join(',') : null)),
  ];
}

/** Answers a batch of record reads on one resource in one statement; rows come back in input order. */
export async function governedGetBatch(
  database: Database,
  m: ResourceMeta,
  items: GetItem[],
): Promise<CallRow[]> {
  const { rows } = await database.query<CallRow>(
    m.getSql,
    callParams(
      m,
      items.map((i) => ({
        caller: i.caller,
        arg: i.key,
        targetHash: i.targetHash,
        targetLabel: i.targetLabel,
      })),
    ),
    `data.get.${m.id}.${m.stamp}`,
  );
  return rows;
}

export async function governedList(
  database: Database,
  m: ResourceMeta,
  caller: Caller,
  after: string | null,
  limit: number,
  defaultRowLimit: number,
) {
  const { rows } = await database.query<CallRow>(
    m.listSql,
    [
      ...callParams(m, [{ caller, arg: after, targetHash: after, targetLabel: null }]),
      limit,
      defaultRowLimit,
    ],
    `data.list.${m.id}.${m.stamp}`,
  );
  return rows[0];
}

/** One page of the change feed (pull, or a push batch for `subscriptionId`), audited; `upTo` bounds a resent batch. */
export async function governedFeed(
  database: Database,
  m: ResourceMeta,
  caller: Caller,
  after: string | null,
  limit: number,
  defaultRowLimit: number,
  push?: { subscriptionId: number; upTo: number | null },
) {
  const { rows } = await database.query<CallRow>(m.feedSql, [
    ...callParams(m, [{ caller, arg: after, targetHash: null, targetLabel: null }]),
    limit,
    defaultRowLimit,
    push?.subscriptionId ?? null,
    push?.upTo ?? null,
  ]);
  return rows[0];
}

/** A filtered query (filter.ts compiled its conditions with placeholders from $14): one page, audited. */
export async function governedQuery(
  database: Database,
  m: ResourceMeta,
  caller: Caller,
  filter: { sql: string; params: unknown[]; fields: string[]; shape: string },
  after: string | null,
  limit: number,
  defaultRowLimit: number,
) {
  const { rows } = await database.query<CallRow>(m.querySql(filter.sql), [
    ...callParams(m, [
      { caller, arg: after, targetHash: after, targetLabel: null, filterFields: filter.fields },
    ]),
    limit,
    defaultRowLimit,
    ...filter.params,
  ]);
  return rows[0];
}

/** A verification call: a record read's parameters and the values of its match, in the order of the shape's placeholders. */
export interface VerifyItem extends GetItem {
  params: unknown[];
}

/**
 * Verifications of one match shape (the fields compared, compiled by filter.ts as `($12::text[])[req.n]`… so each call
 * reads its own values) in one statement, audited, no data returned; rows in input order.
 */
export async function governedVerifyBatch(
  database: Database,
  m: ResourceMeta,
  matchSql: string,
  items: VerifyItem[],
): Promise<CallRow[]> {
  const arity = items[0]?.params.length ?? 0;
  // a named prepared statement per match shape, as record reads use: planned once per connection and shape
  const { rows } = await database.query<CallRow>(
    m.verifySql(matchSql),
    [
      ...callParams(
        m,
        items.map((i) => ({
          caller: i.caller,
          arg: i.key,
          targetHash: i.targetHash,
          targetLabel: i.targetLabel,
        })),
      ),
      ...Array.from({ length: arity }, (_, p) => items.map((i) => i.params[p])),
    ],
    `data.verify.${m.id}.${m.stamp}.${createHash('sha1').update(matchSql).digest('hex').slice(0, 16)}`,
  );
  return rows;
}

/**
 * The start of a bulk export (issue 9 point 5). Exports of one app start one at a time (a transaction-scoped advisory
 * lock on its key), so two concurrent exports cannot both fit in what is left of the grant's daily row quota.
 */
export async function governedExportStart(
  db: Db,
  m: ResourceMeta,
  caller: Caller,
  x: {
    format: string;
    encoding: string;
    defaultRowsPerDay: number;
    dayStart: Date;
    rows: number;
    maxSeq: number;
  },
): Promise<CallRow> {
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`export:${caller.keyHash}`}, 0))`.execute(trx);
    const { rows } = await trx.executeQuery<CallRow>(
      CompiledQuery.raw(m.exportSql, [
        ...callParams(m, [{ caller, arg: null, targetHash: null, targetLabel: null }]),
        x.format,
        x.encoding,
        x.defaultRowsPerDay,
        x.dayStart.toISOString(),
        x.rows,
        x.maxSeq,
      ]),
    );
    return rows[0];
  });
}

/** How many rows a resource holds and its highest cursor: what an export starting now may deliver. */
export async function exportExtent(database: Database, m: ResourceMeta) {
  const { rows } = await database.query<{ n: number; max_seq: number }>(
    `SELECT count(*)::bigint AS n, coalesce(max(_seq), 0)::bigint AS max_seq FROM ${m.table}`,
    [],
  );
  return { rows: Number(rows[0].n), maxSeq: Number(rows[0].max_seq) };
}

/** One batch of an export, by `_seq` cursor: the record key and the fields it delivers (generated columns only). */
export function exportBatchSql(m: ResourceMeta, fields: MetaField[]): string {
  const cols = fields.map((f) => `t.${f.columnName} AS "${f.code}"`).join(', ');
  return `SELECT t._seq, t._key, (SELECT row_to_json(r) FROM (SELECT ${cols}) r) AS rec FROM ${m.table} t
    WHERE t._seq > $1 AND t._seq <= $2 ORDER BY t._seq LIMIT $3`;
}

/** The grant still allows exporting (revocation, expiry or suspension stop a running export at its next batch). */
export const EXPORT_LIVE_SQL = `SELECT g.clear_fields AS clear FROM share_grant g JOIN app a ON a.id = g.app_id
  WHERE g.id = $1 AND g.status = 'active' AND g.can_export AND g.access_mode = 'rows' AND g.valid_until > now() AND a.status = 'active'`;

/**
 * The ledger of one batch and the export's delivered count, in one statement (migration 047), written only while the
 * grant still allows exporting with the clear-value right the batch was masked with ($9): one `data_export_batch` row
 * holding the batch's digests as three byte strings, one fixed-width slice per row: $3 the key digests (16 bytes each),
 * $4 the row digests (16), $6 the cell tags ($7 bytes a row); its rows are ordinals $2 + 1 … $2 + $5. Returns one row
 * when written, none when the grant ($8) was revoked, expired or suspended, or its clear fields changed since the batch
 * was masked (the caller then re-reads the grant: aborts, or masks the batch again). One statement is atomic, so no
 * transaction is held open while the batch is hashed; the count's UPDATE locks the export's row only for the statement.
 * The ledger job (ledger.ts) explodes the batch row into the indexed `data_export_row` off the export's path.
 */
export const EXPORT_LEDGER_SQL = `WITH live AS MATERIALIZED (${EXPORT_LIVE_SQL.replace('$1', '$8')}
    AND g.clear_fields IS NOT DISTINCT FROM $9::text[]),
  n AS (UPDATE data_export SET row_count = row_count + $5 WHERE id = $1 AND EXISTS (SELECT 1 FROM live))
  INSERT INTO data_export_batch (export_id, first_ordinal, row_count, tag_bytes, key_macs, row_macs, cell_tags)
  SELECT $1, $2::int + 1, $5::int, $7::int, $3::bytea, $4::bytea, $6::bytea WHERE EXISTS (SELECT 1 FROM live)
  RETURNING export_id`;

/** The shared pieces of a governed statement, for statements built elsewhere (aggregate.ts). */
export { answers, auditInsert, authorisedCalls, callParams };
