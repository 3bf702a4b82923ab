import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import { createResourceWithTable } from '../catalog/service.js';
import type { Actor, AppContext, Role } from '../context.js';
import { inTx, type Tx } from '../db/index.js';
import { ingestRecords } from '../ingest/service.js';
import { createApp, hashPassword } from '../orgs/service.js';
import { createRequest, decideRequest } from '../sharing/service.js';
import { generateDemoCity } from './city.js';
import { loadDemoInventory } from './inventory.js';
import { DEMO_PASSWORD } from './orgs.js';

export interface DemoSummary {
  city: string;
  users: { username: string; displayName: string; orgName: string; roles: string[] }[];
  apps: { name: string; orgName: string; apiKey: string }[];
  rows: number;
  ms: number;
}

function actorFor(
  user: {
    id: number;
    username: string;
    display_name: string;
    org_id: number;
    section_id: number | null;
    roles: string[];
  },
  orgKind: Actor['orgKind'],
): Actor {
  return {
    id: user.id,
    username: user.username,
    displayName: user.display_name,
    orgId: user.org_id,
    orgKind,
    sectionId: user.section_id,
    roles: user.roles as Role[],
    clientIp: null,
  };
}

function toText(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'string' ? v : String(v);
}

/**
 * Loads the fictional city 临江市 through the same use cases a department would use (resource registration,
 * validated ingest, share requests and approvals), all in one transaction: a crash leaves an empty database.
 */
export async function loadDemoCity(
  ctx: AppContext,
  opts: { populationRows: number; entityRows: number },
): Promise<DemoSummary> {
  const started = Date.now();
  const city = generateDemoCity({ populationRows: opts.populationRows, entityRows: opts.entityRows });
  // One hash for all demo accounts: they share the published demo password anyway, and argon2 is slow by design.
  const passwordHash = await hashPassword(DEMO_PASSWORD);
  return inTx(ctx.db, async (trx: Tx) => {
    const tctx: AppContext = { ...ctx, db: trx };
    await trx
      .insertInto('jurisdiction')
      .values(
        city.jurisdictions.map((j) => ({
          code: j.code,
          name: j.name,
          level: j.level,
          parent_code: j.parentCode,
        })),
      )
      .execute();
    const orgIds = new Map<string, number>();
    const orgKinds = new Map<number, Actor['orgKind']>();
    const orgNames = new Map<number, string>();
    const sectionIds = new Map<string, number>();
    for (const o of city.orgs) {
      const { id } = await trx
        .insertInto('org')
        .values({
          code: o.code,
          name: o.name,
          short_name: o.shortName,
          kind: o.kind,
          jurisdiction_code: o.jurisdictionCode,
          credit_code: o.creditCode,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      orgIds.set(o.code, id);
      orgKinds.set(id, o.kind);
      orgNames.set(id, o.name);
      if (o.sections.length) {
        const secs = await trx
          .insertInto('section')
          .values(o.sections.map((s) => ({ org_id: id, code: s.code, name: s.name })))
          .returning(['id', 'code'])
          .execute();
        for (const s of secs) sectionIds.set(`${o.code}/${s.code}`, s.id);
      }
    }
    const users = await trx
      .insertInto('app_user')
      .values(
        city.users.map((u) => ({
          username: u.username,
          display_name: u.displayName,
          org_id: orgIds.get(u.orgCode)!,
          section_id: u.sectionCode ? (sectionIds.get(`${u.orgCode}/${u.sectionCode}`) ?? null) : null,
          roles: u.roles,
          password_hash: passwordHash,
        })),
      )
      .returning(['id', 'username', 'display_name', 'org_id', 'section_id', 'roles'])
      .execute();
    const officerOf = (orgId: number) => {
      const u =
        users.find((x) => x.org_id === orgId && x.roles.includes('data_officer')) ??
        users.find((x) => x.roles.includes('platform_admin'))!;
      return actorFor({ ...u, org_id: orgId }, orgKinds.get(orgId)!);
    };

    let rows = 0;
    const resourceIds = new Map<string, number>();
    for (const r of city.resources) {
      const providerOrgId = orgIds.get(r.providerOrgCode)!;
      const officer = officerOf(providerOrgId);
      const id = await createResourceWithTable(
        trx,
        {
          name: r.name,
          summary: r.summary,
          classification: r.classification,
          topic: r.topic,
          catalogLevel: r.catalogLevel,
          shareType: r.shareType,
          shareConditions: r.shareConditions,
          legalBasis: r.legalBasis,
          shareMethod: r.shareMethod,
          openType: r.openType,
          updateCycle: r.updateCycle,
          securityLevel: r.securityLevel,
          keywords: r.keywords,
          sectionId: r.sectionCode ? (sectionIds.get(`${r.providerOrgCode}/${r.sectionCode}`) ?? null) : null,
          fields: r.fields.map((f) => ({
            ...f,
            validator: f.validator ?? null,
            length: f.type === 'string' ? (f.length ?? null) : null,
          })),
        },
        { code: r.code, providerOrgId, createdBy: officer.id },
      );
      resourceIds.set(r.code, id);
      const header = r.rows.columns;
      const records: string[][] = new Array(r.rows.values.length + 1);
      records[0] = header;
      for (let i = 0; i < r.rows.values.length; i++) records[i + 1] = r.rows.values[i].map(toText);
      const data_table = `ds.r_${id}`;
      const res = await ingestRecords(tctx, officer, { id, code: r.code, data_table }, records, [], {
        source: 'demo',
        filename: `${r.code}.csv`,
      });
      rows += res.inserted;
    }

    const apps: DemoSummary['apps'] = [];
    const appIds = new Map<string, number>();
    for (const a of city.apps) {
      const orgId = orgIds.get(a.orgCode)!;
      const created = await createApp(tctx, officerOf(orgId), { name: a.name, description: a.description });
      apps.push({ name: a.name, orgName: orgNames.get(orgId)!, apiKey: created.apiKey });
      appIds.set(a.name, created.app.id);
    }

    // A lived-in platform: one approved grant and one request waiting in the provider's inbox.
    const population = city.resources.find(
      (r) => r.classification === 'base' && r.fields.some((f) => f.validator === 'idNumber'),
    );
    const consumerApps = city.apps.filter((a) => a.orgCode !== population?.providerOrgCode);
    if (population && consumerApps.length >= 2) {
      const resourceId = resourceIds.get(population.code)!;
      const validUntil = `${new Date().getUTCFullYear() + 1}-12-31`;
      const [first, second] = consumerApps;
      const req1 = await createRequest(tctx, officerOf(orgIds.get(first.orgCode)!), {
        resourceId,
        appId: appIds.get(first.name)!,
        fields: population.fields.slice(0, 4).map((f) => f.code),
        purpose: `${first.name}办理业务时核对申请人身份信息`,
        scenario: first.description,
        validUntil,
      });
      const provider = officerOf(orgIds.get(population.providerOrgCode)!);
      const reviewer = users.find((u) => u.roles.includes('authority_reviewer'));
      for (const step of req1.steps) {
        const who = step.actor === 'provider' || !reviewer ? provider : actorFor(reviewer, 'authority');
        await decideRequest(tctx, who, req1.id, { approve: true, comment: '同意，仅限申请用途使用' });
      }
      await createRequest(tctx, officerOf(orgIds.get(second.orgCode)!), {
        resourceId,
        appId: appIds.get(second.name)!,
        fields: population.fields.slice(0, 3).map((f) => f.code),
        purpose: `${second.name}核验救助对象身份`,
        scenario: second.description,
        validUntil,
      });
    }

    // The catalog's inventories: negative list, update duties, information systems, double lists, open list.
    const reviewerUser = users.find((u) => u.roles.includes('authority_reviewer'));
    const adminUser = users.find((u) => u.roles.includes('platform_admin'))!;
    await loadDemoInventory(tctx, {
      officer: (orgCode) => officerOf(orgIds.get(orgCode)!),
      reviewer: reviewerUser ? actorFor(reviewerUser, 'authority') : null,
      authority: actorFor(reviewerUser ?? adminUser, 'authority'),
      orgId: (orgCode) => orgIds.get(orgCode)!,
      resourceId: (name) => resourceIds.get(city.resources.find((r) => r.name === name)!.code)!,
    });

    const summary: DemoSummary = {
      city: city.name,
      users: city.users.map((u) => ({
        username: u.username,
        displayName: u.displayName,
        orgName: orgNames.get(orgIds.get(u.orgCode)!)!,
        roles: u.roles,
      })),
      apps,
      rows,
      ms: Date.now() - started,
    };
    await trx
      .insertInto('platform_state')
      .values({
        key: 'demo',
        value: JSON.stringify({ city: summary.city, users: summary.users, loadedAt: new Date() }),
      })
      .execute();
    await appendAudit(trx, {
      action: 'platform.demo_loaded',
      decision: 'allow',
      detail: { city: city.name, rows },
    });
    await sql`ANALYZE`.execute(trx).catch(() => undefined);
    return summary;
  });
}
