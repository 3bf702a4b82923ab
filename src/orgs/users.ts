/**
 * Accounts: the administrator creates people, sets their roles, disables and re-enables them (issue 10 points 4 and 7,
 * GB/T 39477). Every privilege change is audited with before and after, and takes effect at once: the person's
 * sessions end, so the next request is decided on the new roles.
 */
import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import type { Actor, AppContext, Role } from '../context.js';
import type { Tx } from '../db/index.js';
import { AppError } from '../shared/errors.js';
import { passwordProblems } from './bootstrap.js';
import { dutyConflict } from './model.js';
import { hashPassword } from './service.js';

export interface UserFilter {
  orgId?: number;
  role?: Role;
  q?: string;
  page: number;
  pageSize: number;
}

export async function listUsers(ctx: AppContext, f: UserFilter) {
  let q = ctx.db
    .selectFrom('app_user as u')
    .innerJoin('org as o', 'o.id', 'u.org_id')
    .leftJoin('section as s', 's.id', 'u.section_id');
  if (f.orgId) q = q.where('u.org_id', '=', f.orgId);
  if (f.role) q = q.where(sql<boolean>`${f.role} = ANY(u.roles)`);
  if (f.q) {
    const like = `%${f.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    q = q.where((eb) => eb.or([eb('u.username', 'ilike', like), eb('u.display_name', 'ilike', like)]));
  }
  const [{ total }] = await q.select(sql<number>`count(*)::int`.as('total')).execute();
  const rows = await q
    .select([
      'u.id',
      'u.username',
      'u.display_name as displayName',
      'u.org_id as orgId',
      'o.name as orgName',
      'u.section_id as sectionId',
      's.name as sectionName',
      'u.roles',
      'u.disabled',
      'u.created_at as createdAt',
    ])
    .orderBy('o.name')
    .orderBy('u.username')
    .limit(f.pageSize)
    .offset((f.page - 1) * f.pageSize)
    .execute();
  return { total, items: rows, page: f.page, pageSize: f.pageSize };
}

function checkDuties(roles: Role[]) {
  const conflict = dutyConflict(roles);
  if (conflict)
    throw new AppError('CONFLICT', [
      {
        field: 'roles',
        reason: `GB/T 39477 separated duties: one account cannot be both ${conflict[0]} and ${conflict[1]} (administrator, auditor and operator are different people)`,
        reasonZh: 'GB/T 39477 职责分离：系统管理员、审计员与业务操作员须由不同账号担任，同一账号不能兼任',
      },
    ]);
}

async function checkPlacement(trx: Tx, orgId: number, sectionId: number | null, roles: Role[]) {
  const org = await trx.selectFrom('org').select(['id', 'kind']).where('id', '=', orgId).executeTakeFirst();
  if (!org)
    throw new AppError('VALIDATION_FAILED', [
      { field: 'orgId', reason: 'no such organisation', reasonZh: '单位不存在' },
    ]);
  if (sectionId !== null) {
    const s = await trx.selectFrom('section').select('org_id').where('id', '=', sectionId).executeTakeFirst();
    if (!s || Number(s.org_id) !== orgId)
      throw new AppError('VALIDATION_FAILED', [
        {
          field: 'sectionId',
          reason: 'the section is not in that organisation',
          reasonZh: '科室不属于该单位',
        },
      ]);
  }
  if (roles.includes('section_head') && sectionId === null)
    throw new AppError('VALIDATION_FAILED', [
      { field: 'sectionId', reason: 'a section head needs a section', reasonZh: '科室负责人须指定科室' },
    ]);
  const authorityOnly = roles.filter(
    (r) => r === 'platform_admin' || r === 'authority_reviewer' || r === 'auditor',
  );
  if (authorityOnly.length && org.kind !== 'authority')
    throw new AppError('VALIDATION_FAILED', [
      {
        field: 'roles',
        reason: `${authorityOnly.join(', ')}: only staff of the data authority`,
        reasonZh: '平台管理员、主管部门审核员与审计员只能由数据主管部门人员担任',
      },
    ]);
}

export interface NewUser {
  username: string;
  displayName: string;
  orgId: number;
  sectionId?: number | null;
  roles: Role[];
  password: string;
}

export async function createUser(ctx: AppContext, actor: Actor, input: NewUser) {
  const roles = [...new Set(input.roles)];
  checkDuties(roles);
  const problems = passwordProblems(input.password, input.username);
  if (problems.length) throw new AppError('VALIDATION_FAILED', problems);
  const passwordHash = await hashPassword(input.password);
  return ctx.db.transaction().execute(async (trx) => {
    await checkPlacement(trx, input.orgId, input.sectionId ?? null, roles);
    const taken = await trx
      .selectFrom('app_user')
      .select('id')
      .where('username', '=', input.username)
      .executeTakeFirst();
    if (taken)
      throw new AppError('CONFLICT', [
        { field: 'username', reason: 'the username is taken', reasonZh: '用户名已被使用' },
      ]);
    const row = await trx
      .insertInto('app_user')
      .values({
        username: input.username,
        display_name: input.displayName,
        org_id: input.orgId,
        section_id: input.sectionId ?? null,
        roles,
        password_hash: passwordHash,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: 'user.created',
      targetType: 'user',
      targetId: row.id,
      decision: 'allow',
      clientIp: actor.clientIp,
      detail: { username: input.username, orgId: input.orgId, roles },
    });
    return { id: Number(row.id) };
  });
}

async function lockUser(trx: Tx, id: number) {
  const u = await trx
    .selectFrom('app_user')
    .select(['id', 'username', 'roles', 'disabled', 'org_id', 'section_id'])
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  if (!u) throw new AppError('NOT_FOUND');
  return u;
}

function refuseSelf(actor: Actor, id: number) {
  // nobody changes their own privileges: a second administrator does (four eyes). This also keeps the platform
  // administrable: the acting administrator stays, so the last one can never be removed or disabled.
  if (actor.id === id)
    throw new AppError('FORBIDDEN', [
      {
        field: 'id',
        reason: 'you cannot change your own roles or status',
        reasonZh: '不能变更本人的角色或状态',
      },
    ]);
}

export async function setRoles(
  ctx: AppContext,
  actor: Actor,
  id: number,
  next: Role[],
  sectionId?: number | null,
) {
  refuseSelf(actor, id);
  const roles = [...new Set(next)];
  checkDuties(roles);
  return ctx.db.transaction().execute(async (trx) => {
    const u = await lockUser(trx, id);
    const before = u.roles as Role[];
    const section =
      sectionId === undefined ? (u.section_id == null ? null : Number(u.section_id)) : sectionId;
    await checkPlacement(trx, Number(u.org_id), section, roles);
    await trx.updateTable('app_user').set({ roles, section_id: section }).where('id', '=', id).execute();
    // the change takes effect now: the person signs in again under the new roles
    await trx.deleteFrom('session').where('user_id', '=', id).execute();
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: 'user.roles_changed',
      targetType: 'user',
      targetId: id,
      decision: 'allow',
      clientIp: actor.clientIp,
      detail: { username: u.username, before, after: roles },
    });
    return { id, roles };
  });
}

export async function setDisabled(ctx: AppContext, actor: Actor, id: number, disabled: boolean) {
  refuseSelf(actor, id);
  return ctx.db.transaction().execute(async (trx) => {
    const u = await lockUser(trx, id);
    if (u.disabled === disabled) return { id, disabled };
    await trx.updateTable('app_user').set({ disabled }).where('id', '=', id).execute();
    if (disabled) await trx.deleteFrom('session').where('user_id', '=', id).execute();
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: disabled ? 'user.disabled' : 'user.enabled',
      targetType: 'user',
      targetId: id,
      decision: 'allow',
      clientIp: actor.clientIp,
      detail: { username: u.username },
    });
    return { id, disabled };
  });
}
