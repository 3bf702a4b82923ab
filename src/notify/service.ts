import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import type { Actor, AppContext, Role } from '../context.js';
import { type Db, inTx, type Tx } from '../db/index.js';
import { AppError } from '../shared/errors.js';

/**
 * The one notification module: use cases address people by organisation and role; each recipient gets an inbox
 * row (kind + parameters; the console words it from its label table, zh-CN and en-US). Written inside the
 * caller's transaction, so an alert exists exactly when the action that raised it committed. Senders beyond the
 * in-app inbox (SMS, 粤政易 and the like) plug in here later.
 */
export const NOTIFICATION_KINDS = [
  'security.appSuspended',
  'security.alertRaised',
  'security.alertSuspended',
  'inventory.updateDuty',
  'inventory.negativeProposed',
  'inventory.openProposed',
  'catalog.submitted',
  'catalog.returned',
  'catalog.published',
  'catalog.retired',
  'security.incidentReported',
  'security.incidentClosed',
  'sharing.dueSoon',
  'sharing.dueToday',
  'sharing.overdue',
  'sharing.escalated',
  'sharing.deemedConsent',
  'sharing.overallOverdue',
  'sharing.approved',
  'sharing.rejected',
  'sharing.yourTurn',
  'sharing.disputeRaised',
  'sharing.disputeReferred',
  'sharing.disputeUpheld',
  'sharing.disputeOverturned',
  'sharing.supplyStopFiled',
  'sharing.supplyStopped',
  'sharing.emergencyDeclared',
  'sharing.resubmitted',
  'sharing.reevaluationDue',
  'sharing.reevaluationOverdue',
  'sharing.bulkFiled',
  'sharing.bulkApproved',
  'sharing.bulkRejected',
  'sharing.bulkDueSoon',
  'sharing.bulkDueToday',
  'sharing.bulkOverdue',
  'sharing.bulkEscalated',
  'ingest.overdue',
  'quality.objectionRaised',
  'quality.objectionPaused',
  'quality.objectionResumed',
  'quality.objectionCorrected',
  'quality.objectionRejected',
  'quality.objectionDueSoon',
  'quality.objectionDueToday',
  'quality.objectionOverdue',
  'quality.objectionEscalated',
  'quality.rectificationOpened',
  'quality.rectificationClosed',
  'quality.rectificationDueSoon',
  'quality.rectificationDueToday',
  'quality.rectificationOverdue',
  'quality.rectificationEscalated',
  'opening.applicationFiled',
  'opening.applicationFiledNoDeadline',
  'opening.dueSoon',
  'opening.dueToday',
  'opening.overdue',
  'opening.escalated',
  'opening.reviewRequested',
  'opening.operationFiled',
  'opening.operationReviewed',
  'opening.operationApproved',
  'opening.operationRejected',
  'opening.operationFiling',
  'opening.reevaluationDue',
  'opening.reevaluationOverdue',
  'quality.checkFailed',
  'evaluation.published',
  'baselib.conflictResolved',
  'purchase.decided',
  'supervision.violationFound',
  'supervision.violationRectified',
  'supervision.violationClosed',
  'supervision.violationResolved',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export interface Recipients {
  /** people of these organisations with one of `roles` … */
  orgIds?: number[];
  roles: Role[];
  /** … or, when true, people with one of `roles` anywhere (e.g. every auditor) */
  anyOrg?: boolean;
}

export async function notify(
  trx: Tx | Db,
  to: Recipients[],
  n: {
    kind: NotificationKind;
    severity: 'info' | 'warning' | 'critical';
    params: Record<string, unknown>;
    resourceId?: number | null;
    appId?: number | null;
  },
): Promise<number> {
  const ids = new Set<number>();
  for (const r of to) {
    let q = trx
      .selectFrom('app_user')
      .select('id')
      .where('disabled', '=', false)
      .where(sql<boolean>`roles && ${sql.val(r.roles)}::text[]`);
    if (!r.anyOrg) q = q.where('org_id', 'in', r.orgIds?.length ? r.orgIds : [-1]);
    for (const u of await q.execute()) ids.add(u.id);
  }
  if (ids.size === 0) return 0;
  await trx
    .insertInto('notification')
    .values(
      [...ids].map((userId) => ({
        user_id: userId,
        kind: n.kind,
        severity: n.severity,
        params: JSON.stringify(n.params),
        resource_id: n.resourceId ?? null,
        app_id: n.appId ?? null,
      })),
    )
    .execute();
  return ids.size;
}

export async function listNotifications(
  ctx: AppContext,
  actor: Actor,
  f: { unreadOnly?: boolean; page: number; pageSize: number },
) {
  let q = ctx.db.selectFrom('notification').where('user_id', '=', actor.id);
  if (f.unreadOnly) q = q.where('read_at', 'is', null);
  const [{ total, unread }] = await ctx.db
    .selectFrom('notification')
    .where('user_id', '=', actor.id)
    .select([
      sql<number>`count(*)::int`.as('total'),
      sql<number>`(count(*) FILTER (WHERE read_at IS NULL))::int`.as('unread'),
    ])
    .execute();
  const rows = await q
    .selectAll()
    .orderBy('id', 'desc')
    .limit(f.pageSize)
    .offset((f.page - 1) * f.pageSize)
    .execute();
  // how each was sent outside the console (src/notify/senders.ts): channel and status, never the contact
  const deliveries = rows.length
    ? await ctx.db
        .selectFrom('notification_delivery')
        .select(['notification_id', 'channel', 'status'])
        .where(
          'notification_id',
          'in',
          rows.map((r) => r.id),
        )
        .execute()
    : [];
  return {
    total,
    unread,
    page: f.page,
    pageSize: f.pageSize,
    items: rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      severity: r.severity,
      params: r.params,
      resourceId: r.resource_id,
      appId: r.app_id,
      createdAt: r.created_at,
      readAt: r.read_at,
      deliveries: deliveries
        .filter((d) => Number(d.notification_id) === Number(r.id))
        .map((d) => ({ channel: d.channel, status: d.status })),
    })),
  };
}

export async function markRead(ctx: AppContext, actor: Actor, id: number | 'all') {
  let q = ctx.db
    .updateTable('notification')
    .set({ read_at: new Date() })
    .where('user_id', '=', actor.id)
    .where('read_at', 'is', null);
  if (id !== 'all') {
    const own = await ctx.db
      .selectFrom('notification')
      .select('id')
      .where('id', '=', id)
      .where('user_id', '=', actor.id)
      .executeTakeFirst();
    if (!own)
      throw new AppError('NOT_FOUND', [
        { field: 'id', reason: `notification ${id} not found`, reasonZh: `通知 ${id} 不存在` },
      ]);
    q = q.where('id', '=', id);
  }
  await q.execute();
  return { ok: true };
}

const MOBILE = /^1[3-9]\d{9}$/;
const EMAIL = /^[^@\s]{1,64}@[^@\s]{1,189}$/;

/** Where the signed-in person wants reminders outside the console (src/notify/senders.ts), masked for display. */
export async function getContact(ctx: AppContext, actor: Actor) {
  const u = await ctx.db
    .selectFrom('app_user')
    .select(['mobile', 'email'])
    .where('id', '=', actor.id)
    .executeTakeFirstOrThrow();
  return {
    mobile: u.mobile,
    email: u.email,
    senders: {
      sms: ctx.config.notifySenders?.sms ?? 'none',
      email: ctx.config.notifySenders?.email ?? 'none',
    },
  };
}

/** The person sets or clears their own mobile number and e-mail address (nobody else does: it is theirs). Audited. */
export async function setContact(
  ctx: AppContext,
  actor: Actor,
  input: { mobile?: string | null; email?: string | null },
) {
  const mobile = input.mobile?.trim() || null;
  const email = input.email?.trim() || null;
  const problems = [];
  if (mobile !== null && !MOBILE.test(mobile))
    problems.push({
      field: 'mobile',
      reason: 'not a mainland mobile number (11 digits, 1[3-9]…)',
      reasonZh: '不是有效的手机号码（11位，以1开头）',
    });
  if (email !== null && !EMAIL.test(email))
    problems.push({ field: 'email', reason: 'not an e-mail address', reasonZh: '不是有效的电子邮箱地址' });
  if (problems.length) throw new AppError('VALIDATION_FAILED', problems);
  await inTx(ctx.db, async (trx) => {
    await trx.updateTable('app_user').set({ mobile, email }).where('id', '=', actor.id).execute();
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: 'user.contact_changed',
      targetType: 'user',
      targetId: actor.id,
      decision: 'allow',
      clientIp: actor.clientIp,
      // which contacts are set, not the contacts themselves (personal information)
      detail: { mobile: mobile !== null, email: email !== null },
    });
  });
  // read after the commit (PGlite has one connection: a read beside the open transaction would wait for it)
  return getContact(ctx, actor);
}
