import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { requireActor, requireRole } from '../http/auth.js';
import { idParams, pageQueryProps } from '../http/schemas.js';
import { AppError } from '../shared/errors.js';
import {
  ALERT_RULES,
  ALERT_STATUSES,
  type AlertRuleCode,
  actOnAlert,
  alertRules,
  isSecurityStaff,
  listAlerts,
  type RulePatch,
  updateRule,
} from './alerts.js';
import { reinstateApp } from './anomaly.js';

const hhmm = { type: ['string', 'null'], pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' } as const;
const noteBody = {
  type: 'object',
  additionalProperties: false,
  properties: { note: { type: ['string', 'null'], maxLength: 1000 } },
} as const;

export async function securityRoutes(app: FastifyInstance, ctx: AppContext) {
  const tags = ['security'];
  app.post(
    '/api/security/apps/:id/reinstate',
    {
      schema: {
        tags,
        summary:
          "Lift the suspension an anomaly alert put on an app (the authority's staff: platform admin or authority reviewer; audited)",
        params: idParams,
      },
    },
    async (req) => {
      const actor = requireActor(req);
      if (!isSecurityStaff(actor))
        throw new AppError('FORBIDDEN', [
          {
            reason: "only the authority's staff reinstate a suspended app",
            reasonZh: '仅数据主管部门工作人员可恢复被暂停的应用',
          },
        ]);
      const id = (req.params as { id: number }).id;
      const r = await reinstateApp(ctx, actor, id);
      if (!r.reinstated)
        throw new AppError('CONFLICT', [
          { field: 'id', reason: `app ${id} is not suspended`, reasonZh: `应用 ${id} 未被暂停` },
        ]);
      return r;
    },
  );

  app.get(
    '/api/security/alerts',
    {
      schema: {
        tags,
        summary:
          "Anomaly alerts on the security board (SY Art 43): the authority's staff and auditors see all, a data officer those of their department",
        querystring: {
          type: 'object',
          properties: {
            status: { type: 'string', enum: [...ALERT_STATUSES] },
            rule: { type: 'string', enum: [...ALERT_RULES], description: 'only alerts of this rule' },
            ...pageQueryProps,
          },
        },
      },
    },
    async (req) => listAlerts(ctx, requireActor(req), req.query as never),
  );

  for (const action of ['acknowledge', 'close'] as const)
    app.post(
      `/api/security/alerts/:id/${action}`,
      {
        schema: {
          tags,
          summary:
            action === 'acknowledge'
              ? "Acknowledge an alert (being looked into; the authority's staff; audited)"
              : "Close an alert once handled (the authority's staff; audited); a later anomaly opens a new one",
          params: idParams,
          body: noteBody,
        },
      },
      async (req) =>
        actOnAlert(
          ctx,
          requireActor(req),
          (req.params as { id: number }).id,
          action,
          ((req.body as { note?: string | null } | undefined)?.note ?? null)?.trim() || null,
        ),
    );

  app.get(
    '/api/security/alert-rules',
    {
      schema: {
        tags,
        summary: "The anomaly rules with their thresholds (the authority's staff and auditors read them)",
      },
    },
    async (req) => {
      const actor = requireActor(req);
      if (!isSecurityStaff(actor) && !actor.roles.includes('auditor')) throw new AppError('FORBIDDEN');
      const rules = await alertRules(ctx);
      return {
        items: ALERT_RULES.map((c) => rules.get(c)).filter(Boolean),
        canEdit: actor.roles.includes('platform_admin'),
      };
    },
  );

  app.patch(
    '/api/security/alert-rules/:code',
    {
      schema: {
        tags,
        summary:
          'Change an anomaly rule: enabled, thresholds, window, auto-suspend (the platform administrator: configuration; audited)',
        params: {
          type: 'object',
          properties: { code: { type: 'string', enum: [...ALERT_RULES] } },
          required: ['code'],
        },
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            enabled: { type: 'boolean' },
            autoSuspend: { type: 'boolean' },
            threshold: { type: ['integer', 'null'], minimum: 1, maximum: 100000000 },
            factor: { type: ['number', 'null'], exclusiveMinimum: 0, maximum: 1000 },
            windowMinutes: { type: 'integer', minimum: 1, maximum: 10080 },
            baselineDays: { type: ['integer', 'null'], minimum: 1, maximum: 90 },
            workStart: hhmm,
            workEnd: hhmm,
          },
        },
      },
    },
    async (req) =>
      updateRule(
        ctx,
        requireRole(req, 'platform_admin'),
        (req.params as { code: AlertRuleCode }).code,
        req.body as RulePatch,
      ),
  );
}
