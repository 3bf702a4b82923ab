import type { FastifyInstance } from 'fastify';
import { XLSX_TYPE } from '../catalog/excel.js';
import type { AppContext } from '../context.js';
import { requireActor } from '../http/auth.js';
import { idParams, pageQueryProps } from '../http/schemas.js';
import { VIOLATION_TYPES } from '../profiles/model.js';
import { AppError } from '../shared/errors.js';
import { labelOf } from '../shared/labels.js';
import { tableStream } from '../shared/tabular.js';
import { cockpit, cockpitRows } from './cockpit.js';
import {
  actOnViolation,
  detectViolations,
  isSupervisor,
  listViolations,
  VIOLATION_STATUSES,
  type ViolationQuery,
  violationRules,
} from './violations.js';

const noteBody = {
  type: 'object',
  additionalProperties: false,
  properties: { note: { type: ['string', 'null'], maxLength: 2000 } },
} as const;

export async function supervisionRoutes(app: FastifyInstance, ctx: AppContext) {
  const tags = ['supervision'];
  app.get(
    '/api/violations',
    {
      schema: {
        tags,
        summary:
          "Violations detected (XT Art 41, SY Art 47): the authority's staff and auditors see all, a department its own; " +
          'applicable=false under a profile that lists none',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            type: { type: 'string', enum: [...VIOLATION_TYPES] },
            status: { type: 'string', enum: [...VIOLATION_STATUSES, 'live'] },
            orgId: { type: 'integer', minimum: 1 },
            ...pageQueryProps,
          },
        },
      },
    },
    async (req) => listViolations(ctx, requireActor(req), req.query as ViolationQuery),
  );

  app.post(
    '/api/violations/detect',
    {
      schema: {
        tags,
        summary: "Run the violation detection now (the authority's staff; it also runs hourly)",
      },
    },
    async (req) => {
      const actor = requireActor(req);
      if (!isSupervisor(actor))
        throw new AppError('FORBIDDEN', [
          { reason: "only the authority's staff run the detection", reasonZh: '仅主管部门可执行违规检测' },
        ]);
      if (!violationRules(ctx).length)
        throw new AppError('CONFLICT', [
          {
            field: 'profile',
            reason: 'the active regulation lists no violations to detect',
            reasonZh: '当前规则配置未规定须检测的违规情形',
          },
        ]);
      return detectViolations(ctx);
    },
  );

  for (const action of ['acknowledge', 'rectify', 'close'] as const)
    app.post(
      `/api/violations/:id/${action}`,
      {
        schema: {
          tags,
          summary:
            action === 'acknowledge'
              ? "Acknowledge a violation (the department's data officer; audited)"
              : action === 'rectify'
                ? "Record the rectification (the department's data officer, a note; audited; the authority is told)"
                : "Close a violation (the authority's staff, a note; audited; the department is told)",
          params: idParams,
          body: noteBody,
        },
      },
      async (req) =>
        actOnViolation(
          ctx,
          requireActor(req),
          (req.params as { id: number }).id,
          action,
          (req.body as { note?: string | null } | undefined)?.note ?? null,
        ),
    );

  const daysQuery = {
    type: 'object',
    additionalProperties: false,
    properties: {
      days: { type: 'integer', minimum: 1, maximum: 366 },
      lang: { type: 'string', enum: ['zh', 'en'] },
    },
  } as const;
  app.get(
    '/api/cockpit',
    {
      schema: {
        tags,
        summary:
          "The signed-in person's cockpit (驾驶舱): the authority the city (volume, on-time rate, overdue by department, " +
          'quality trend, evaluation ranking), a department its scorecard and to-do, an auditor anomalies and violations',
        querystring: daysQuery,
      },
    },
    async (req) => cockpit(ctx, requireActor(req), req.query as { days?: number }),
  );
  app.get(
    '/api/cockpit/export.xlsx',
    {
      schema: {
        tags,
        summary:
          'The same cockpit as an XLSX table (section, department, measure, value) for the monthly meeting',
        querystring: daysQuery,
      },
    },
    async (req, reply) => {
      const q = req.query as { days?: number; lang?: 'zh' | 'en' };
      const lang = q.lang ?? 'zh';
      const rows = cockpitRows(await cockpit(ctx, requireActor(req), q), lang);
      async function* batches() {
        yield rows;
      }
      const h = (k: string) => labelOf(k, lang) ?? k;
      reply
        .type(XLSX_TYPE)
        .header(
          'Content-Disposition',
          `attachment; filename="cockpit-${new Date().toISOString().slice(0, 10)}.xlsx"`,
        );
      return reply.send(
        tableStream(
          {
            format: 'xlsx',
            columns: [
              { key: 'section', header: h('cockpit.col.section') },
              { key: 'who', header: h('cockpit.col.who') },
              { key: 'measure', header: h('cockpit.col.measure') },
              { key: 'value', header: h('cockpit.col.value') },
            ],
          },
          batches(),
        ),
      );
    },
  );
}
