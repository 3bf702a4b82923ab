import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { requireActor } from '../http/auth.js';
import { dateString } from '../http/schemas.js';
import { AppError } from '../shared/errors.js';
import { dueDate } from './model.js';
import { currentCalendar, importYear, listYears, yearView } from './service.js';

export async function calendarRoutes(app: FastifyInstance, ctx: AppContext) {
  app.get(
    '/api/calendar/due',
    {
      schema: {
        tags: ['calendar'],
        summary: 'Due date of a deadline from a start date, on the State Council working-day calendar',
        querystring: {
          type: 'object',
          properties: {
            start: dateString,
            amount: { type: 'integer', minimum: 1, maximum: 365 },
            unit: { type: 'string', enum: ['WD', 'd'], default: 'WD' },
          },
          required: ['start', 'amount'],
        },
      },
    },
    async (req) => {
      requireActor(req);
      const q = req.query as { start: string; amount: number; unit: 'WD' | 'd' };
      const cal = await currentCalendar(ctx);
      let due: string;
      try {
        due = dueDate(cal, q.start, { amount: q.amount, unit: q.unit });
      } catch (e) {
        throw new AppError('VALIDATION_FAILED', [
          {
            field: 'start',
            reason: (e as Error).message,
            reasonZh: `起算日期或期限不合法：${(e as Error).message}`,
          },
        ]);
      }
      const years = [Number(q.start.slice(0, 4)), Number(due.slice(0, 4))];
      return { start: q.start, dueDate: due, yearKnown: years.every((y) => cal.isYearKnown(y)) };
    },
  );

  app.get(
    '/api/calendar/years',
    {
      schema: {
        tags: ['calendar'],
        summary: 'Holiday notices in force (shipped and imported) and the years still missing',
      },
    },
    async (req) => {
      requireActor(req);
      return listYears(ctx);
    },
  );

  app.get(
    '/api/calendar/years/:year',
    {
      schema: {
        tags: ['calendar'],
        summary: 'Every day of a year: working day, weekend, holiday or adjusted working day (调休)',
        params: {
          type: 'object',
          properties: { year: { type: 'integer', minimum: 2000, maximum: 2100 } },
          required: ['year'],
        },
      },
    },
    async (req) => {
      requireActor(req);
      return yearView(ctx, (req.params as { year: number }).year);
    },
  );

  app.post(
    '/api/calendar/years',
    {
      schema: {
        tags: ['calendar'],
        summary: "Import (or correct) a year's State Council holiday notice (platform admin)",
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            year: { type: 'integer', minimum: 2000, maximum: 2100 },
            source: { type: 'string', minLength: 1, maxLength: 500 },
            offDays: { type: 'array', items: dateString, maxItems: 60 },
            workingWeekendDays: { type: 'array', items: dateString, maxItems: 20 },
          },
          required: ['year', 'source', 'offDays', 'workingWeekendDays'],
        },
      },
    },
    async (req, reply) => {
      const r = await importYear(ctx, requireActor(req), req.body);
      reply.code(201);
      return r;
    },
  );
}
