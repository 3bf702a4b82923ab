import type { Db, Tx } from '../db/index.js';
import { AppError } from '../shared/errors.js';

export async function findUserForLogin(db: Db, username: string) {
  return db
    .selectFrom('app_user')
    .select(['id', 'username', 'password_hash', 'disabled', 'org_id', 'locked_until'])
    .where('username', '=', username)
    .executeTakeFirst();
}

export async function insertSession(db: Db | Tx, tokenHash: string, userId: number, expiresAt: Date) {
  await db
    .insertInto('session')
    .values({ token_hash: tokenHash, user_id: userId, expires_at: expiresAt })
    .execute();
}

export async function deleteSession(db: Db | Tx, tokenHash: string) {
  await db.deleteFrom('session').where('token_hash', '=', tokenHash).execute();
}

export async function getUserProfile(db: Db, userId: number) {
  return db
    .selectFrom('app_user as u')
    .innerJoin('org as o', 'o.id', 'u.org_id')
    .leftJoin('section as s', 's.id', 'u.section_id')
    .select([
      'u.id',
      'u.username',
      'u.display_name',
      'u.roles',
      'o.id as org_id',
      'o.code as org_code',
      'o.name as org_name',
      'o.kind as org_kind',
      's.id as section_id',
      's.code as section_code',
      's.name as section_name',
    ])
    .where('u.id', '=', userId)
    .executeTakeFirstOrThrow();
}

export async function listOrgsWithSections(db: Db) {
  const orgs = await db.selectFrom('org').selectAll().orderBy('id').execute();
  const sections = await db.selectFrom('section').selectAll().orderBy('id').execute();
  return orgs.map((o) => ({
    id: o.id,
    code: o.code,
    name: o.name,
    shortName: o.short_name,
    kind: o.kind,
    jurisdictionCode: o.jurisdiction_code,
    creditCode: o.credit_code,
    sections: sections
      .filter((s) => s.org_id === o.id)
      .map((s) => ({ id: s.id, code: s.code, name: s.name })),
  }));
}

const APP_COLUMNS = [
  'a.id',
  'a.org_id',
  'o.name as org_name',
  'a.name',
  'a.description',
  'a.key_prefix',
  'a.status',
  'a.created_at',
  'a.revoked_at',
] as const;

export async function listApps(db: Db, orgId: number | null) {
  let q = db.selectFrom('app as a').innerJoin('org as o', 'o.id', 'a.org_id').select(APP_COLUMNS);
  if (orgId !== null) q = q.where('a.org_id', '=', orgId);
  const rows = await q.orderBy('a.id').execute();
  return rows.map(appView);
}

export function appView(r: {
  id: number;
  org_id: number;
  org_name: string;
  name: string;
  description: string;
  key_prefix: string;
  status: string;
  created_at: Date;
  revoked_at: Date | null;
}) {
  return {
    id: r.id,
    orgId: r.org_id,
    orgName: r.org_name,
    name: r.name,
    description: r.description,
    keyPrefix: r.key_prefix,
    status: r.status,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
  };
}

export async function getApp(db: Db | Tx, id: number) {
  return db
    .selectFrom('app as a')
    .innerJoin('org as o', 'o.id', 'a.org_id')
    .select(APP_COLUMNS)
    .where('a.id', '=', id)
    .executeTakeFirst();
}

/**
 * The app an API key hash belongs to — its current key, or the replaced one during its rotation overlap; an active or
 * suspended app, as the governed statement accepts (src/dataapi/store.ts) — with its department; null for anything
 * else. Asked only when a data call is refused before its statement (src/http/app.ts), so that the refusal's audit row
 * names the app: a served call learns its app inside the governed statement and never comes here.
 */
export async function appOfKeyHash(
  db: Db | Tx,
  keyHash: string,
): Promise<{ id: number; orgId: number } | null> {
  const now = new Date();
  const r = await db
    .selectFrom('app')
    .select(['id', 'org_id'])
    .where((eb) =>
      eb.or([
        eb('key_hash', '=', keyHash),
        eb.and([eb('prev_key_hash', '=', keyHash), eb('prev_key_until', '>', now)]),
      ]),
    )
    .where('status', 'in', ['active', 'suspended'])
    .limit(1)
    .executeTakeFirst();
  return r ? { id: Number(r.id), orgId: Number(r.org_id) } : null;
}

/**
 * A list filter naming a department (the cockpit's drill-down links, issue 12) must name one that exists: a coded
 * VALIDATION_FAILED on the filter's field, not an empty list that looks like "nothing overdue".
 */
export async function assertOrgFilter(db: Db | Tx, orgId: number | undefined, field = 'orgId') {
  if (orgId === undefined) return;
  const o = await db.selectFrom('org').select('id').where('id', '=', orgId).executeTakeFirst();
  if (!o)
    throw new AppError('VALIDATION_FAILED', [
      { field, reason: `department ${orgId} does not exist`, reasonZh: `部门 ${orgId} 不存在` },
    ]);
}
