import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { createResourceWithTable } from '../src/catalog/service.js';
import type { AppContext } from '../src/context.js';
import { spoolDir } from '../src/ingest/pipeline.js';
import { createBatch } from '../src/ingest/service.js';

/*
 * The set-up the import benchmarks share (bench/ingest.ts, bench/encryption.ts): a providing department, a population
 * resource registered with its table by the catalog's own code (no HTTP, no review), and a CSV batch spooled for
 * runImport, as the upload endpoint leaves it.
 */

type ResourceFields = Parameters<typeof createResourceWithTable>[2]['fields'];

/** The first organisation of the database, or 临江市公安局 (with its jurisdiction) created in an empty one. */
export async function benchOrg(ctx: AppContext): Promise<number> {
  const { rows: orgs } = await sql<{ id: number }>`SELECT id FROM org ORDER BY id LIMIT 1`.execute(ctx.db);
  if (orgs[0]) return orgs[0].id;
  await sql`INSERT INTO jurisdiction (code, name, level) VALUES ('446000', '临江市', 'city') ON CONFLICT DO NOTHING`.execute(
    ctx.db,
  );
  const r = await sql<{ id: number }>`INSERT INTO org (code, name, short_name, kind, jurisdiction_code)
    VALUES ('LJ-GAJ', '临江市公安局', '公安局', 'department', '446000') RETURNING id`.execute(ctx.db);
  return r.rows[0].id;
}

/** A base population resource named `name` with `fields`, its data table created; returns its id. */
export async function benchResource(
  ctx: AppContext,
  orgId: number,
  name: string,
  fields: ResourceFields,
): Promise<number> {
  const { id } = await ctx.db.transaction().execute((trx) =>
    createResourceWithTable(
      trx,
      ctx.profile,
      {
        name,
        summary: '基准测试',
        classification: 'base',
        topic: '人口',
        catalogLevel: 'city',
        shareType: 'unconditional',
        shareMethod: 'api',
        openType: 'closed',
        updateCycle: 'daily',
        securityLevel: 'general',
        fields,
      },
      { providerOrgId: orgId, createdBy: null },
    ),
  );
  return id;
}

/**
 * A CSV import batch of `resourceId` whose file `fill` writes at the spool path named `spoolName` (as the upload
 * endpoint spools a body); returns the batch id for runImport.
 */
export async function spoolBatch(
  ctx: AppContext,
  resourceId: number,
  spoolName: string,
  filename: string,
  fill: (spool: string) => void,
): Promise<number> {
  const spool = path.join(spoolDir(ctx), spoolName);
  fs.mkdirSync(path.dirname(spool), { recursive: true });
  fill(spool);
  return createBatch(
    ctx,
    null,
    resourceId,
    { format: 'csv', filename },
    { path: spool, bytes: fs.statSync(spool).size },
  );
}
