import { columnName } from '../catalog/model.js';
import type { Database } from '../db/index.js';

/*
 * The governed data call is one SQL statement: it resolves the API key to an active app, the app to an
 * active, unexpired grant on the resource, reads the record, and inserts the audit row, all in one implicit
 * transaction (DG Art 28/33: no data leaves without its audit record). Denied calls are audited the same way.
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
    JOIN resource r ON r.id = g.resource_id AND r.version = $5
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
  const getSql = `WITH ${GRANT_CTES},
  d AS (SELECT ${cols} FROM ${r.data_table} WHERE _key = $3 AND EXISTS (SELECT 1 FROM g)),
  ${auditInsert('data.get', 'record')}
  ${tail}, (SELECT row_to_json(d) FROM d) AS record`;
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

export async function governedGet(
  database: Database,
  m: ResourceMeta,
  keyHash: string,
  key: string,
  clientIp: string | null,
) {
  const { rows } = await database.query<CallRow>(
    m.getSql,
    [keyHash, m.id, key, clientIp, m.version],
    `data.get.${m.id}.${m.version}`,
  );
  return rows[0];
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
