import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AppContext } from '../context.js';
import { requireActor } from '../http/auth.js';
import {
  type ExportQuery,
  exportCatalog,
  type ImportProblem,
  importCatalog,
  problemWorkbook,
  templateWorkbook,
  XLSX_TYPE,
} from './excel.js';
import { searchQuerystring } from './routes.js';
import { IMPORT_MAX_FIELD_ROWS } from './template.js';

function download(reply: FastifyReply, name: string, type: string, body: Buffer) {
  reply.header('content-type', type);
  // ASCII fallback name plus the UTF-8 one (RFC 6266)
  reply.header(
    'content-disposition',
    `attachment; filename="${name.replace(/[^\x20-\x7e]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`,
  );
  return reply.send(body);
}

const bounded = (max: number) => ({ type: ['string', 'null'], maxLength: max }) as const;

/** Catalog import (1272 template .xlsx or CSV), template download, error report, and export of any search view. */
export async function catalogExcelRoutes(app: FastifyInstance, ctx: AppContext) {
  const tags = ['catalog'];
  // routes.ts imports this module: its schema is read when the routes are registered, not at import time
  const { page: _p, pageSize: _ps, ...filterProps } = searchQuerystring.properties;
  const exportQuerystring = { ...searchQuerystring, properties: filterProps };
  const day = () => new Date().toISOString().slice(0, 10);

  app.get(
    '/api/catalog/template.xlsx',
    {
      schema: {
        tags,
        summary:
          'The 1272 catalog import template: 信息资源 + 信息项 sheets, drop-down lists, one filled example',
      },
    },
    async (req, reply) => {
      requireActor(req);
      return download(reply, '政务信息资源目录导入模板.xlsx', XLSX_TYPE, await templateWorkbook());
    },
  );

  // the raw file bytes only in this encapsulated context (JSON everywhere else)
  await app.register(async (scoped) => {
    // a JSON body is 415 UNSUPPORTED_MEDIA_TYPE, not an empty workbook
    scoped.removeContentTypeParser('application/json');
    scoped.addContentTypeParser(
      [XLSX_TYPE, 'text/csv', 'application/csv', 'application/octet-stream'],
      { parseAs: 'buffer' },
      (_req, body, done) => done(null, body),
    );
    scoped.post(
      '/api/catalog/import',
      {
        schema: {
          tags,
          summary:
            "Import the department's catalog from a 1272 template .xlsx or a CSV (UTF-8 or GBK): every entry passes the registration's validation or nothing is written (CATALOG_IMPORT_INVALID lists sheet/row/column/value/code)",
          consumes: [XLSX_TYPE, 'text/csv'],
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              submit: { type: 'boolean', description: 'true: submit every entry for review; else drafts' },
              filename: { type: 'string', maxLength: 255 },
            },
          },
        },
        bodyLimit: ctx.config.uploadMaxBytes,
      },
      async (req, reply) => {
        const actor = requireActor(req);
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const q = req.query as { submit?: boolean; filename?: string };
        const r = await importCatalog(ctx, actor, body, { submit: q.submit, filename: q.filename ?? null });
        reply.code(201);
        return r;
      },
    );
  });

  app.post(
    '/api/catalog/import/report.xlsx',
    {
      schema: {
        tags,
        summary: "An import's problem list (the details of CATALOG_IMPORT_INVALID) as a workbook",
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['problems'],
          properties: {
            problems: {
              type: 'array',
              maxItems: IMPORT_MAX_FIELD_ROWS,
              items: {
                type: 'object',
                additionalProperties: false,
                properties: {
                  sheet: bounded(40),
                  row: { type: ['integer', 'null'], minimum: 0 },
                  column: bounded(40),
                  value: bounded(4000),
                  code: bounded(40),
                  field: bounded(100),
                  reason: bounded(2000),
                  reasonZh: bounded(2000),
                },
              },
            },
          },
        },
      },
    },
    async (req, reply) => {
      requireActor(req);
      const { problems } = req.body as { problems: Partial<ImportProblem>[] };
      return download(reply, `目录导入错误报告-${day()}.xlsx`, XLSX_TYPE, await problemWorkbook(problems));
    },
  );

  for (const format of ['xlsx', 'csv'] as const)
    app.get(
      `/api/catalog/export.${format}`,
      {
        schema: {
          tags,
          summary: `The catalog search's current view (same filters and visibility) as ${format === 'xlsx' ? 'a 1272 template workbook (re-importable)' : 'CSV (UTF-8 BOM, one line per data item)'}; audited, bounded`,
          querystring: exportQuerystring,
        },
      },
      async (req, reply) => {
        const body = await exportCatalog(ctx, requireActor(req), req.query as ExportQuery, format);
        return download(
          reply,
          `政务信息资源目录-${day()}.${format}`,
          format === 'xlsx' ? XLSX_TYPE : 'text/csv; charset=utf-8',
          body,
        );
      },
    );
}
