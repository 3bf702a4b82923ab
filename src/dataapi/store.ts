import { columnName, type Masking } from '../catalog/model.js';
import type { Database } from '../db/index.js';

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
  columnName: string;
  type: string;
  personal: boolean;
  sensitive: boolean;
  masking: Masking;
  isKey: boolean;
  validator: string | null;
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
}

/*
 * ONE shape of the authorisation rule for every governed statement (record reads in batches, pages, later queries):
 * `req` is the calls (one row per call, `unnest` over arrays, so a page is a batch of one), `a` resolves each call's
 * key to its app (active or suspended, so a suspended app's call is refused *as suspended* and audited), `g` the app's
 * newest active, unexpired grant on the resource, `v` checks the cached resource version. Each statement then adds its
 * own `d` (the rows a call may read, only where `g` matched) and the common audit insert.
 *
 * Parameters common to all: $1 key hashes, $2 per-call argument (record key / page cursor), $3 client addresses,
 * $4 resource id, $5 resource version, $6 audit target ids, $7 audit target labels.
 */
const AUTHORISED_CALLS = `req AS (
    SELECT r.n, r.key_hash, r.arg, r.client_ip, r.target_hash, r.target_label,
      nextval(pg_get_serial_sequence('audit_log', 'id')) AS audit_id
    FROM unnest($1::text[], $2::text[], $3::text[], $6::text[], $7::text[])
      WITH ORDINALITY AS r(key_hash, arg, client_ip, target_hash, target_label, n)
  ), v AS (SELECT 1 FROM resource WHERE id = $4 AND version = $5),
  a AS (
    SELECT req.n, app.id, app.org_id, app.status FROM req
    JOIN app ON app.key_hash = req.key_hash AND app.status IN ('active', 'suspended')
  ),
  g AS (
    SELECT DISTINCT ON (a.n) a.n, g.id, g.fields, g.purpose, g.max_rows_per_call FROM a
    JOIN share_grant g ON g.app_id = a.id AND a.status = 'active'
    WHERE g.resource_id = $4 AND g.status = 'active' AND g.valid_from <= now() AND g.valid_until > now()
    ORDER BY a.n, g.id DESC
  )`;

const DENY_REASON = `CASE WHEN a.id IS NULL THEN '{"reason":"API_KEY_INVALID"}'::jsonb
           WHEN a.status = 'suspended' THEN '{"reason":"APP_SUSPENDED"}'::jsonb
           WHEN g.id IS NULL THEN '{"reason":"GRANT_REQUIRED"}'::jsonb ELSE '{}'::jsonb END`;

/** The audit row of every call, allowed or denied, written by the statement that answers it. */
function auditRows(action: string, targetType: string, rowsReturned: string) {
  return `ins AS (
    INSERT INTO audit_log (id, app_id, actor_org_id, grant_id, action, resource_id, target_type, target_id,
      target_label, purpose, decision, rows_returned, fields, client_ip, detail)
    SELECT req.audit_id, a.id, a.org_id, g.id, '${action}', $4, '${targetType}', req.target_hash, req.target_label,
      g.purpose, CASE WHEN g.id IS NULL THEN 'deny' ELSE 'allow' END,
      CASE WHEN g.id IS NULL THEN NULL ELSE ${rowsReturned} END, g.fields, req.client_ip,
      ${DENY_REASON}
    FROM req LEFT JOIN a ON a.n = req.n LEFT JOIN g ON g.n = req.n
    WHERE EXISTS (SELECT 1 FROM v)
    RETURNING id
  )`;
}

/** What every governed statement answers per call, in input order. */
function answers(extra: string, joins: string) {
  return `SELECT req.n, a.id AS app_id, a.status AS app_status, g.id AS grant_id, g.fields,
    ins.id AS audit_id, EXISTS (SELECT 1 FROM v) AS current${extra}
  FROM req LEFT JOIN a ON a.n = req.n LEFT JOIN g ON g.n = req.n ${joins}
    LEFT JOIN ins ON ins.id = req.audit_id
  ORDER BY req.n`;
}

export function buildMeta(
  r: { id: number; code: string; version: number; data_table: string },
  fields: {
    code: string;
    ordinal: number;
    type: string;
    personal: boolean;
    sensitive: boolean;
    masking: string;
    is_key: boolean;
    validator: string | null;
  }[],
): ResourceMeta {
  const cols = fields.map((f) => `${columnName(f.ordinal)} AS "${f.code}"`).join(', ');
  const getSql = `WITH ${AUTHORISED_CALLS},
  d AS (
    SELECT g.n, row_to_json(x) AS record FROM g JOIN req ON req.n = g.n
    JOIN LATERAL (SELECT ${cols} FROM ${r.data_table} t WHERE t._key = req.arg) x ON true
  ),
  ${auditRows('data.get', 'record', '(SELECT count(*) FROM d WHERE d.n = req.n)')}
  ${answers(', d.record', 'LEFT JOIN d ON d.n = req.n')}`;
  // a page is a batch of one call; rows per call: the grant's own cap, else the platform default ($9)
  const rowLimit = 'least($8::int, coalesce(g.max_rows_per_call, $9::int))';
  const listSql = `WITH ${AUTHORISED_CALLS},
  d AS (
    SELECT g.n AS _call, x.* FROM g JOIN req ON req.n = g.n
    JOIN LATERAL (SELECT _seq, ${cols} FROM ${r.data_table}
      WHERE _seq > coalesce(req.arg::bigint, 0) ORDER BY _seq LIMIT ${rowLimit}) x ON true
  ),
  ${auditRows('data.list', 'page', '(SELECT count(*) FROM d WHERE d._call = req.n)')}
  ${answers(
    `, ${rowLimit} AS row_limit,
    (SELECT json_agg(to_jsonb(d) - '_call' ORDER BY d._seq) FROM d WHERE d._call = req.n) AS records`,
    '',
  )}`;
  const metaFields = fields.map((f) => ({
    code: f.code,
    columnName: columnName(f.ordinal),
    type: f.type,
    personal: f.personal,
    sensitive: f.sensitive,
    masking: f.masking as Masking,
    isKey: f.is_key,
    validator: f.validator,
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
  };
}

export interface CallRow {
  app_id: number | null;
  app_status: 'active' | 'suspended' | null;
  row_limit?: number;
  grant_id: number | null;
  fields: string[] | null;
  audit_id: number | null;
  current: boolean;
  record?: Record<string, unknown> | null;
  records?: Record<string, unknown>[] | null;
}

export interface GetItem {
  keyHash: string;
  key: string;
  clientIp: string | null;
  /** HMAC of the key (audit_log.target_id) and its masked form (target_label): the log never holds the clear key */
  targetHash: string;
  targetLabel: string;
}

/** Answers a batch of record reads on one resource in one statement; rows come back in input order. */
export async function governedGetBatch(
  database: Database,
  m: ResourceMeta,
  items: GetItem[],
): Promise<CallRow[]> {
  const { rows } = await database.query<CallRow>(
    m.getSql,
    [
      items.map((i) => i.keyHash),
      items.map((i) => i.key),
      items.map((i) => i.clientIp),
      m.id,
      m.version,
      items.map((i) => i.targetHash),
      items.map((i) => i.targetLabel),
    ],
    `data.get.${m.id}.${m.version}`,
  );
  return rows;
}

export async function governedList(
  database: Database,
  m: ResourceMeta,
  keyHash: string,
  after: string | null,
  limit: number,
  defaultRowLimit: number,
  clientIp: string | null,
) {
  const { rows } = await database.query<CallRow>(
    m.listSql,
    [[keyHash], [after], [clientIp], m.id, m.version, [after], [null], limit, defaultRowLimit],
    `data.list.${m.id}.${m.version}`,
  );
  return rows[0];
}
