import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import { shanghaiDate } from '../calendar/model.js';
import { canReviewVersion, type ResourceInput } from '../catalog/model.js';
import {
  createResourceWithTable,
  decideResource,
  getResource,
  registerResource,
  saveResource,
} from '../catalog/service.js';
import type { Actor, AppContext, Role } from '../context.js';
import { inTx, type Tx } from '../db/index.js';
import { ingestRecords } from '../ingest/service.js';
import { createApp, hashPassword } from '../orgs/service.js';
import { assessmentPending, recordRiskAssessment } from '../sharing/risk.js';
import { acceptAgreement, createRequest, decideRequest } from '../sharing/service.js';
import { loadDemoBaseLibrary } from './baselib.js';
import { generateDemoCity } from './city.js';
import { demoThemes } from './classes.js';
import { loadDemoInventory, loadDemoNegativeList } from './inventory.js';
import { DEMO_PASSWORD } from './orgs.js';
import { loadDemoObjections } from './quality.js';
import { loadDemoQualityChecks } from './qualityChecks.js';
import { loadDemoUsage } from './usage.js';

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

    /**
     * Who publishes an entry of a level (profile.catalog.levels, DG Art 11): a demo user the policy accepts; where
     * the demo city has none (a department with one data officer, a section without a head user), the platform admin
     * acting in that role for the provider, as officerOf already does for organisations without an officer.
     */
    const reviewerFor = (
      level: 'city' | 'department' | 'section',
      providerOrgId: number,
      sectionId: number | null,
      submittedBy: number,
    ) => {
      const t = { catalogLevel: level, providerOrgId, sectionId };
      for (const u of users) {
        const a = actorFor(u, orgKinds.get(u.org_id)!);
        if (canReviewVersion(a, t, submittedBy, ctx.profile)) return a;
      }
      const admin = users.find((x) => x.roles.includes('platform_admin'))!;
      const role = ctx.profile.catalog.levels[level].reviewer;
      return actorFor(
        {
          ...admin,
          org_id: role === 'authority' ? admin.org_id : providerOrgId,
          section_id: sectionId,
          roles: [
            role === 'authority'
              ? 'authority_reviewer'
              : role === 'department'
                ? 'data_officer'
                : 'section_head',
          ],
        },
        orgKinds.get(providerOrgId)!,
      );
    };
    // A base-library entry is unconditional where the profile allows no exception (GD Art 17, SY Art 26): the demo
    // registers it so under such a profile, and keeps its legal basis under the others (DG Art 21).
    const baseMustBeOpen = ctx.profile.catalog.baseLibrary.restricted === 'never';

    // the classification tree, with the themes the demo's theme entries go under (and their lead/contributors)
    const themeOf = await demoThemes(tctx.db as Tx, ctx.profile, [
      ...city.resources
        .filter((r) => r.classification === 'theme')
        .map((r) => ({ topic: r.topic, providerOrgId: orgIds.get(r.providerOrgCode)! })),
      { topic: '就业', providerOrgId: orgIds.get('LJ-RSJ')! },
      { topic: '卫生健康', providerOrgId: orgIds.get('LJ-WJJ')! },
    ]);

    let rows = 0;
    const resourceIds = new Map<string, number>();
    const codes = new Map<string, string>();
    for (const r of city.resources) {
      const providerOrgId = orgIds.get(r.providerOrgCode)!;
      const officer = officerOf(providerOrgId);
      const unrestrict = baseMustBeOpen && r.classification === 'base' && r.shareType !== 'unconditional';
      const sectionId = r.sectionCode
        ? (sectionIds.get(`${r.providerOrgCode}/${r.sectionCode}`) ?? null)
        : null;
      const { id, code } = await createResourceWithTable(
        trx,
        ctx.profile,
        {
          name: r.name,
          summary: r.summary,
          classification: r.classification,
          classId: r.classification === 'theme' ? themeOf.get(r.topic) : null,
          topic: r.topic,
          format: r.format,
          relatedCodes: r.related.map((n) => codes.get(n)!),
          catalogLevel: r.catalogLevel,
          shareType: unrestrict ? 'unconditional' : r.shareType,
          shareConditions: unrestrict ? null : r.shareConditions,
          legalBasis: unrestrict ? null : r.legalBasis,
          legalBasisKind: unrestrict ? null : r.legalBasisKind,
          shareMethod: r.shareMethod,
          openType: r.openType,
          updateCycle: r.updateCycle,
          keywords: r.keywords,
          sectionId,
          fields: r.fields.map((f) => ({
            ...f,
            validator: f.validator ?? null,
            length: f.type === 'string' ? (f.length ?? null) : null,
          })),
        },
        { providerOrgId, createdBy: officer.id, status: 'submitted' },
      );
      await decideResource(tctx, reviewerFor(r.catalogLevel, providerOrgId, sectionId, officer.id), id, {
        decision: 'publish',
        comment: '经审核，目录信息完整，同意发布',
      });
      resourceIds.set(r.name, id);
      codes.set(r.name, code);
      const header = r.rows.columns;
      const records: string[][] = new Array(r.rows.values.length + 1);
      records[0] = header;
      for (let i = 0; i < r.rows.values.length; i++) records[i + 1] = r.rows.values[i].map(toText);
      const data_table = `ds.r_${id}`;
      const res = await ingestRecords(tctx, officer, { id, code, data_table }, records, [], {
        source: 'demo',
        filename: `${r.name}.csv`,
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

    // A lived-in catalog review (DG Art 11): a new version of a published entry under review, a submitted entry
    // waiting for the authority, and one returned with comments.
    const reviewerUser = users.find((u) => u.roles.includes('authority_reviewer'));
    const gaj = city.resources.find((r) => r.providerOrgCode === 'LJ-GAJ');
    if (gaj && reviewerUser) {
      const gajId = resourceIds.get(gaj.name)!;
      const officer = officerOf(orgIds.get('LJ-GAJ')!);
      const live = await getResource(tctx, officer, gajId);
      const { fields, ...meta } = live;
      await saveResource(
        tctx,
        officer,
        gajId,
        {
          name: meta.name,
          summary: meta.summary,
          classification: meta.classification,
          classId: meta.classId,
          topic: meta.topic,
          format: meta.format as ResourceInput['format'],
          relatedCodes: meta.relatedCodes,
          infoSystemId: meta.infoSystemId,
          catalogLevel: meta.catalogLevel,
          sectionId: meta.sectionId,
          shareType: meta.shareType,
          shareConditions: meta.shareConditions,
          legalBasis: meta.legalBasis,
          legalBasisKind: meta.legalBasisKind,
          shareMethod: meta.shareMethod,
          openType: meta.openType,
          updateCycle: meta.updateCycle as ResourceInput['updateCycle'],
          securityLevel: meta.securityLevel,
          keywords: [...meta.keywords, '户籍迁移'],
          fields: [
            ...fields,
            {
              code: 'moveInDate',
              name: '迁入日期',
              type: 'date',
              required: false,
              isKey: false,
              personal: true,
              sensitive: false,
              masking: 'partial',
              validator: null,
            },
          ],
        },
        { submit: true },
      );
      const register = async (orgCode: string, input: Parameters<typeof registerResource>[2]) =>
        registerResource(tctx, officerOf(orgIds.get(orgCode)!), input, { submit: true });
      await register('LJ-RSJ', {
        name: '就业登记信息',
        summary:
          '本市劳动者就业、失业登记信息，包括公民身份号码、姓名、就业单位、登记类型和登记日期，用于就业补贴发放和失业保险待遇核验。',
        classification: 'theme',
        classId: themeOf.get('就业'),
        topic: '就业',
        catalogLevel: 'city',
        shareType: 'conditional',
        shareConditions: '仅限办理就业补贴、失业保险待遇和社会救助核验使用',
        legalBasis: '《中华人民共和国就业促进法》第三十五条；《中华人民共和国个人信息保护法》第三十四条',
        legalBasisKind: 'law',
        shareMethod: 'api',
        openType: 'closed',
        updateCycle: 'daily',
        securityLevel: 'important',
        relatedCodes: [...codes.entries()].filter(([n]) => n === '人口基础信息').map(([, c]) => c),
        keywords: ['就业', '失业登记'],
        fields: [
          {
            code: 'idNumber',
            name: '公民身份号码',
            dataType: 'C',
            length: 18,
            isKey: true,
            validator: 'idNumber',
            securityLevel: 'important',
          },
          { code: 'name', name: '姓名', type: 'string', length: 50, personal: true },
          { code: 'employer', name: '就业单位', type: 'string', length: 200 },
          { code: 'kind', name: '登记类型', type: 'string', length: 10 },
          { code: 'registeredOn', name: '登记日期', type: 'date' },
        ],
      });
      const returned = await register('LJ-WJJ', {
        name: '预防接种信息',
        summary: '儿童预防接种记录。',
        classification: 'theme',
        classId: themeOf.get('卫生健康'),
        topic: '卫生健康',
        catalogLevel: 'city',
        shareType: 'conditional',
        shareConditions: '仅限入学入托查验接种证使用',
        legalBasis: '《中华人民共和国疫苗管理法》第四十八条',
        legalBasisKind: 'law',
        shareMethod: 'api',
        openType: 'closed',
        updateCycle: 'daily',
        securityLevel: 'important',
        keywords: ['疫苗', '接种'],
        fields: [
          {
            code: 'childIdNumber',
            name: '儿童公民身份号码',
            dataType: 'C',
            length: 18,
            isKey: true,
            validator: 'idNumber',
            securityLevel: 'important',
          },
          { code: 'vaccine', name: '疫苗名称', type: 'string', length: 100 },
          { code: 'doseDate', name: '接种日期', type: 'date' },
        ],
      });
      await decideResource(tctx, actorFor(reviewerUser, 'authority'), returned.id, {
        decision: 'return',
        comment: '摘要过于简略，请补充数据范围（接种单位、剂次）和更新方式；信息项缺少接种单位和剂次',
      });
    }

    // the negative list before any request: conditional data stays conditional only with an entry in force
    await loadDemoNegativeList(tctx, {
      officerOf,
      reviewer: reviewerUser ? actorFor(reviewerUser, 'authority') : null,
      resourceId: (name) => resourceIds.get(name)!,
    });

    // A lived-in platform: one approved grant and one request waiting in the provider's inbox, on the base library
    // of population where it takes requests, else on the first other conditional resource with ID numbers.
    const conditionalWithIds = (r: (typeof city.resources)[number]) =>
      r.shareType === 'conditional' &&
      !(baseMustBeOpen && r.classification === 'base') &&
      r.catalogLevel !== 'section' &&
      r.fields.some((f) => f.validator === 'idNumber');
    const population =
      city.resources.find((r) => r.classification === 'base' && conditionalWithIds(r)) ??
      city.resources.find(conditionalWithIds);
    const consumerApps = city.apps.filter((a) => a.orgCode !== population?.providerOrgCode);
    if (population && consumerApps.length >= 2) {
      const resourceId = resourceIds.get(population.name)!;
      const validUntil = `${tctx.clock.now().getUTCFullYear() + 1}-12-31`;
      const [first, second] = consumerApps;
      const req1 = await createRequest(tctx, officerOf(orgIds.get(first.orgCode)!), {
        resourceId,
        appId: appIds.get(first.name)!,
        fields: population.fields.slice(0, 4).map((f) => f.code),
        purpose: `${first.name}办理业务时核对申请人身份信息`,
        scenario: first.description,
        scope: `${first.name}受理业务的申请人身份核验`,
        validUntil,
      });
      const provider = officerOf(orgIds.get(population.providerOrgCode)!);
      const reviewer = users.find((u) => u.roles.includes('authority_reviewer'));
      // every party of every step approves: its actor and co-actors (GD Art 19 joint review)
      let grantId: number | null = req1.grantId;
      for (const step of req1.steps) {
        for (const party of [step.actor, ...step.coActors]) {
          const who = party === 'provider' || !reviewer ? provider : actorFor(reviewer, 'authority');
          grantId = (
            await decideRequest(tctx, who, req1.id, { approve: true, comment: '同意，仅限申请用途使用' })
          ).grantId;
        }
      }
      // the consumer has accepted the provide-and-use agreement where the profile requires one (DG Art 18)
      if (grantId && tctx.profile.sharing.useAgreement)
        await acceptAgreement(tctx, officerOf(orgIds.get(first.orgCode)!), grantId);
      // important data: where the profile asks for it, the provider has assessed the risk, which activates the grant
      // (DG Art 19, XT Art 31, SY Art 42, NY task 11)
      if (await assessmentPending(tctx.db, tctx.profile.security?.riskAssessment, resourceId, null))
        await recordRiskAssessment(tctx, provider, req1.id, {
          assessor: `${population.providerOrgCode === 'LJ-GAJ' ? '市公安局' : '数源部门'}数据安全评估小组`,
          assessedOn: shanghaiDate(tctx.clock.now()),
          conclusion: 'conditional',
          measures: '仅限政务内网调用；身份证号等个人信息脱敏展示；按月复核调用日志',
        });
      await createRequest(tctx, officerOf(orgIds.get(second.orgCode)!), {
        resourceId,
        appId: appIds.get(second.name)!,
        fields: population.fields.slice(0, 3).map((f) => f.code),
        purpose: `${second.name}核验救助对象身份`,
        scenario: second.description,
        scope: `${second.name}救助对象的资格审核`,
        validUntil,
      });
    }

    // The catalog's inventories: negative list, update duties, information systems, double lists, open list.
    const adminUser = users.find((u) => u.roles.includes('platform_admin'))!;
    await loadDemoInventory(tctx, {
      officer: (orgCode) => officerOf(orgIds.get(orgCode)!),
      reviewer: reviewerUser ? actorFor(reviewerUser, 'authority') : null,
      authority: actorFor(reviewerUser ?? adminUser, 'authority'),
      orgId: (orgCode) => orgIds.get(orgCode)!,
      resourceId: (name) => resourceIds.get(name)!,
    });

    // data quality objections (issue 12): a few open and closed, so the pages and the to-do tell a story
    await loadDemoObjections(tctx, {
      officer: (orgCode) => officerOf(orgIds.get(orgCode)!),
      staff: (orgCode) => {
        const u = users.find((x) => x.org_id === orgIds.get(orgCode) && x.roles.includes('consumer_staff'));
        return u ? actorFor(u, orgKinds.get(u.org_id)!) : null;
      },
      authority: actorFor(reviewerUser ?? adminUser, 'authority'),
      resource: (name) => resourceIds.get(name),
    });
    // quality rules and a year of scores (issue 12 point 2), with one failed check and its repair
    await loadDemoQualityChecks(tctx, {
      officer: (orgCode) => officerOf(orgIds.get(orgCode)!),
      resource: (name) => resourceIds.get(name),
    });

    // the population base library assembled from four departments, with its conflicts (issue 7 point 7)
    await loadDemoBaseLibrary(tctx, {
      authority: reviewerUser ? actorFor(reviewerUser, 'authority') : null,
      resource: (name) => resourceIds.get(name),
    });

    // a year of data calls on the grants (issue 12 points 3, 5, 6): 使用监测, the cockpit and evaluation have history
    await loadDemoUsage(tctx);

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
