import { sql } from 'kysely';
import { addDays, shanghaiDate } from '../calendar/model.js';
import type { AppContext } from '../context.js';
import { type Db, inTx, type Tx } from '../db/index.js';
import { notify } from '../notify/service.js';
import { AppError } from '../shared/errors.js';
import type { OpenAccount } from './accounts.js';
import { reevaluations } from './governance.js';

/*
 * Notices to public accounts (issue 11): the portal account is told when its application is decided (approved,
 * refused) and when its review is decided, when the authority restricts, closes or restores its access (XT Art 33),
 * and when an approved grant is about to expire. src/notify addresses console users (notification.user_id references
 * app_user); a public account is a principal of its own, so its inbox is the small open_notice table beside it, written
 * in the transaction of the action that raised it and capped at the newest NOTICE_CAP per account. The portal words
 * each notice from its label (`openNotice.<kind>`, zh-CN and en-US, src/shared/labels.ts).
 *
 * The reminder job (OPEN_REMINDERS_JOB, registered in src/jobs/platform.ts) sends the grant-expiry notices and, where
 * the profile provides periodic re-evaluation (SY Art 37, `opening.reevaluation`), tells the provider's data officers
 * once when a re-evaluation comes due (REEVALUATION_NOTICE_DAYS before) and once when it is overdue. Each is recorded
 * once (open_application_event / open_reevaluation_event, keyed by the due date), so a repeated or late run acts once
 * and a node that was off catches up on its first run.
 */

export const OPEN_NOTICE_KINDS = [
  'applicationApproved',
  'applicationRefused',
  'reviewApproved',
  'reviewUpheld',
  'accessRestricted',
  'accessClosed',
  'accessRestored',
  'grantExpiring',
] as const;
export type OpenNoticeKind = (typeof OPEN_NOTICE_KINDS)[number];

/** notices kept per account: the oldest beyond this are dropped when a new one arrives */
export const NOTICE_CAP = 50;
/** how many days before its last day an approved grant is announced as expiring */
export const GRANT_EXPIRY_NOTICE_DAYS = 7;
export const OPEN_REMINDERS_JOB = 'opening.reminders';

/** Adds a notice to the account's inbox inside the caller's transaction and trims the inbox to NOTICE_CAP. */
export async function noticeAccount(
  trx: Tx | Db,
  accountId: number,
  kind: OpenNoticeKind,
  params: Record<string, unknown>,
  applicationId: number | null = null,
): Promise<void> {
  await trx
    .insertInto('open_notice')
    .values({ account_id: accountId, kind, params: JSON.stringify(params), application_id: applicationId })
    .execute();
  await sql`DELETE FROM open_notice WHERE account_id = ${accountId} AND id < (
      SELECT min(id) FROM (SELECT id FROM open_notice WHERE account_id = ${accountId} ORDER BY id DESC LIMIT ${NOTICE_CAP}) k)`.execute(
    trx,
  );
}

export async function myNotices(ctx: AppContext, account: OpenAccount) {
  const rows = await ctx.db
    .selectFrom('open_notice')
    .selectAll()
    .where('account_id', '=', account.id)
    .orderBy('id', 'desc')
    .limit(NOTICE_CAP)
    .execute();
  return {
    unread: rows.filter((r) => r.read_at === null).length,
    items: rows.map((r) => ({
      id: Number(r.id),
      kind: r.kind,
      params: r.params,
      applicationId: r.application_id === null ? null : Number(r.application_id),
      createdAt: r.created_at,
      readAt: r.read_at,
    })),
  };
}

export async function markNoticesRead(ctx: AppContext, account: OpenAccount, id: number | 'all') {
  let q = ctx.db
    .updateTable('open_notice')
    .set({ read_at: ctx.clock.now() })
    .where('account_id', '=', account.id)
    .where('read_at', 'is', null);
  if (id !== 'all') {
    const own = await ctx.db
      .selectFrom('open_notice')
      .select('id')
      .where('id', '=', id)
      .where('account_id', '=', account.id)
      .executeTakeFirst();
    if (!own)
      throw new AppError('NOT_FOUND', [{ field: 'id', reason: `notice ${id}`, reasonZh: `通知 ${id}` }]);
    q = q.where('id', '=', id);
  }
  await q.execute();
  return myNotices(ctx, account);
}

/** The reminder job: grant expiry notices to accounts, re-evaluation reminders to departments. Returns the count sent. */
export async function tickOpenReminders(ctx: AppContext): Promise<number> {
  return (await remindGrantExpiry(ctx)) + (await remindReevaluations(ctx));
}

async function remindGrantExpiry(ctx: AppContext): Promise<number> {
  const on = shanghaiDate(ctx.clock.now());
  const rows = await ctx.db
    .selectFrom('open_application as a')
    .leftJoin('resource as r', 'r.id', 'a.resource_id')
    .select(['a.id', 'a.account_id', 'a.resource_id', 'a.grant_until', 'r.name'])
    .where('a.status', 'in', ['approved', 'reviewApproved'])
    .where('a.grant_until', '>=', on)
    .where('a.grant_until', '<=', addDays(on, GRANT_EXPIRY_NOTICE_DAYS))
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('open_application_event as e')
            .select('e.kind')
            .whereRef('e.application_id', '=', 'a.id')
            .where('e.kind', '=', 'grantExpiring'),
        ),
      ),
    )
    .orderBy('a.id')
    .limit(5000)
    .execute();
  let n = 0;
  for (const r of rows) {
    n += await inTx(ctx.db, async (trx) => {
      const first = await trx
        .insertInto('open_application_event')
        .values({ application_id: Number(r.id), kind: 'grantExpiring', on_date: on })
        .onConflict((oc) => oc.doNothing())
        .returning('kind')
        .executeTakeFirst();
      if (!first) return 0;
      await noticeAccount(
        trx,
        Number(r.account_id),
        'grantExpiring',
        { applicationId: Number(r.id), resource: r.name ?? '', grantUntil: r.grant_until },
        Number(r.id),
      );
      return 1;
    });
  }
  return n;
}

async function remindReevaluations(ctx: AppContext): Promise<number> {
  const rule = ctx.profile.opening?.reevaluation;
  if (!rule) return 0;
  const on = shanghaiDate(ctx.clock.now());
  const { items } = await reevaluations(ctx, null, true);
  let n = 0;
  for (const x of items) {
    const kind = x.overdue ? 'overdue' : 'due';
    n += await inTx(ctx.db, async (trx) => {
      const first = await trx
        .insertInto('open_reevaluation_event')
        .values({ resource_id: x.resource.id, due_date: x.dueDate, kind, on_date: on })
        .onConflict((oc) => oc.doNothing())
        .returning('kind')
        .executeTakeFirst();
      if (!first) return 0;
      await notify(trx, [{ orgIds: [x.org.id], roles: ['data_officer'] }], {
        kind: x.overdue ? 'opening.reevaluationOverdue' : 'opening.reevaluationDue',
        severity: x.overdue ? 'warning' : 'info',
        params: { resource: x.resource.name, dueDate: x.dueDate, article: rule.article },
        resourceId: x.resource.id,
      });
      return 1;
    });
  }
  return n;
}
