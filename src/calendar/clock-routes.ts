import type { FastifyInstance } from 'fastify';
import { appendAudit } from '../audit/store.js';
import type { AppContext } from '../context.js';
import { hasRole } from '../context.js';
import { inTx } from '../db/index.js';
import { requireActor } from '../http/auth.js';
import { isTrainingClock } from '../shared/clock.js';
import { AppError } from '../shared/errors.js';
import { tickDeadlines } from '../sharing/deadlines.js';

const ADVANCE_MAX_DAYS = 60;

/**
 * The platform's date, and — in training mode only (config `trainingClock`) — moving it forward so that deadlines
 * pass while people watch: after each move the deadline ticker runs at once, so reminders, escalations and deemed
 * consent appear in the inboxes and notifications straight away. Every move is audited.
 */
export async function clockRoutes(app: FastifyInstance, ctx: AppContext) {
  app.get(
    '/api/clock',
    {
      schema: {
        tags: ['calendar'],
        summary:
          "The platform's current date and time; in training mode, how far it runs ahead of the real date and whether it can be moved",
      },
    },
    async (req) => {
      requireActor(req);
      const clock = ctx.clock;
      return {
        now: clock.now().toISOString(),
        training: isTrainingClock(clock),
        offsetDays: isTrainingClock(clock) ? Math.round(clock.offsetMs() / 86_400_000) : 0,
      };
    },
  );

  app.post(
    '/api/clock/advance',
    {
      schema: {
        tags: ['calendar'],
        summary:
          'Training mode only: a platform administrator moves the platform date forward by whole days; the deadline ticker then runs at once',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { days: { type: 'integer', minimum: 1, maximum: ADVANCE_MAX_DAYS } },
          required: ['days'],
        },
      },
    },
    async (req) => {
      const actor = requireActor(req);
      const clock = ctx.clock;
      if (!hasRole(actor, 'platform_admin'))
        throw new AppError('FORBIDDEN', [
          {
            reason: 'only a platform administrator moves the training clock',
            reasonZh: '仅平台管理员可调整培训时钟',
          },
        ]);
      if (!isTrainingClock(clock))
        throw new AppError('CLOCK_NOT_ADJUSTABLE', [
          {
            field: 'days',
            reason: 'the platform runs on the real date; the training clock is off (GOVSHARE_TRAINING_CLOCK)',
            reasonZh: '平台使用真实日期，未开启培训时钟（GOVSHARE_TRAINING_CLOCK）',
          },
        ]);
      const { days } = req.body as { days: number };
      const from = clock.now();
      clock.advanceDays(days);
      await inTx(ctx.db, (trx) =>
        appendAudit(trx, {
          action: 'clock.advance',
          decision: 'allow',
          actorUserId: actor.id,
          actorOrgId: actor.orgId,
          clientIp: actor.clientIp,
          detail: { days, from: from.toISOString(), to: clock.now().toISOString() },
        }),
      );
      const { actions } = await tickDeadlines(ctx);
      return {
        now: clock.now().toISOString(),
        offsetDays: Math.round(clock.offsetMs() / 86_400_000),
        actions,
      };
    },
  );
}
