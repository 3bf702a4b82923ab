import { columnName } from '../catalog/model.js';
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

export interface ResourceMeta {
  id: number;
  code: string;
  version: number;
  table: string;
  fields: { code: string; columnName: string; personal: boolean; masking: string }[];
  /** statement texts built once per resource version from generated identifiers only */
  getSql: string;
  listSql: string;
}

const GRANT_CTES = `a AS (
    SELECT id, org_id FROM app WHERE key_hash = $1 AND status = 'active'
  ), g AS (
    SELECT g.id, g.fields, g.purpose FROM share_grant g JOIN a ON g.app_id = a.id
    WHERE g.resource_id = $2 AND g.status = 'active' AND g.valid_from <= now() AND g.valid_until > now()
    ORDER BY g.id DESC LIMIT 1
  ), v AS (SELECT 1 FROM resource WHERE id = $2 AND version = $5)`;

function auditInsert(action: string, targetType: string) {
  return `ins AS (
    INSERT INTO audit_log (app_id, actor_org_id, grant_id, action, resource_id, target_type, target_id, purpose,
      decision, rows_returned, fields, client_ip, detail)
    SELECT a.id, a.org_id, g.id, '${action}', $2, '${targetType}', $3::text, g.purpose,
      CASE WHEN g.id IS NULL THEN 'deny' ELSE 'allow' END,
      CASE WHEN g.id IS NULL THEN NULL ELSE (SELECT count(*) FROM d) END, g.fields, $4,
      CASE WHEN a.id IS NULL THEN '{"reason":"API_KEY_INVALID"}'::jsonb
           WHEN g.id IS NULL THEN '{"reason":"GRANT_REQUIRED"}'::jsonb ELSE '{}'::jsonb END
    FROM (SELECT 1) one LEFT JOIN a ON true LEFT JOIN g ON true
    WHERE EXISTS (SELECT 1 FROM v)
    RETURNING id
  )`;
}

export function buildMeta(
  r: { id: number; code: string; version: number; data_table: string },
  fields: { code: string; ordinal: number; personal: boolean; masking: string }[],
): ResourceMeta {
  const cols = fields.map((f) => `${columnName(f.ordinal)} AS "${f.code}"`).join(', ');
  const tail = `SELECT (SELECT id FROM a) AS app_id, (SELECT id FROM g) AS grant_id, (SELECT fields FROM g) AS fields,
    (SELECT id FROM ins) AS audit_id, EXISTS (SELECT 1 FROM v) AS current`;
  const getSql = `WITH req AS (
    SELECT r.n, r.key_hash, r.rkey, r.client_ip, nextval(pg_get_serial_sequence('audit_log', 'id')) AS audit_id
    FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS r(key_hash, rkey, client_ip, n)
  ), v AS (SELECT 1 FROM resource WHERE id = $4 AND version = $5),
  a AS (SELECT req.n, app.id, app.org_id FROM req JOIN app ON app.key_hash = req.key_hash AND app.status = 'active'),
  g AS (
    SELECT DISTINCT ON (a.n) a.n, g.id, g.fields, g.purpose FROM a JOIN share_grant g ON g.app_id = a.id
    WHERE g.resource_id = $4 AND g.status = 'active' AND g.valid_from <= now() AND g.valid_until > now()
    ORDER BY a.n, g.id DESC
  ),
  d AS (
    SELECT g.n, row_to_json(x) AS record FROM g JOIN req ON req.n = g.n
    JOIN LATERAL (SELECT ${cols} FROM ${r.data_table} t WHERE t._key = req.rkey) x ON true
  ),
  ins AS (
    INSERT INTO audit_log (id, app_id, actor_org_id, grant_id, action, resource_id, target_type, target_id, purpose,
      decision, rows_returned, fields, client_ip, detail)
    SELECT req.audit_id, a.id, a.org_id, g.id, 'data.get', $4, 'record', req.rkey, g.purpose,
      CASE WHEN g.id IS NULL THEN 'deny' ELSE 'allow' END,
      CASE WHEN g.id IS NULL THEN NULL WHEN d.n IS NULL THEN 0 ELSE 1 END, g.fields, req.client_ip,
      CASE WHEN a.id IS NULL THEN '{"reason":"API_KEY_INVALID"}'::jsonb
           WHEN g.id IS NULL THEN '{"reason":"GRANT_REQUIRED"}'::jsonb ELSE '{}'::jsonb END
    FROM req LEFT JOIN a ON a.n = req.n LEFT JOIN g ON g.n = req.n LEFT JOIN d ON d.n = req.n
    WHERE EXISTS (SELECT 1 FROM v)
    RETURNING id
  )
  SELECT req.n, a.id AS app_id, g.id AS grant_id, g.fields, ins.id AS audit_id, EXISTS (SELECT 1 FROM v) AS current,
    d.record
  FROM req LEFT JOIN a ON a.n = req.n LEFT JOIN g ON g.n = req.n LEFT JOIN d ON d.n = req.n
    LEFT JOIN ins ON ins.id = req.audit_id
  ORDER BY req.n`;
  const listSql = `WITH ${GRANT_CTES},
  d AS (SELECT _seq, ${cols} FROM ${r.data_table} WHERE _seq > coalesce($3::bigint, 0) AND EXISTS (SELECT 1 FROM g) ORDER BY _seq LIMIT $6),
  ${auditInsert('data.list', 'page')}
  ${tail}, (SELECT json_agg(d ORDER BY _seq) FROM d) AS records`;
  return {
    id: r.id,
    code: r.code,
    version: r.version,
    table: r.data_table,
    fields: fields.map((f) => ({
      code: f.code,
      columnName: columnName(f.ordinal),
      personal: f.personal,
      masking: f.masking,
    })),
    getSql,
    listSql,
  };
}

export interface CallRow {
  app_id: number | null;
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
}

/** Answers a batch of record reads on one resource in one statement; rows come back in input order. */
export async function governedGetBatch(
  database: Database,
  m: ResourceMeta,
  items: GetItem[],
): Promise<CallRow[]> {
  const { rows } = await database.query<CallRow>(
    m.getSql,
    [items.map((i) => i.keyHash), items.map((i) => i.key), items.map((i) => i.clientIp), m.id, m.version],
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
  clientIp: string | null,
) {
  const { rows } = await database.query<CallRow>(
    m.listSql,
    [keyHash, m.id, after, clientIp, m.version, limit],
    `data.list.${m.id}.${m.version}`,
  );
  return rows[0];
}
