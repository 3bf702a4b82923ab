import { addDays, shanghaiDate } from '../calendar/model.js';
import type { Actor, AppContext } from '../context.js';
import { type BasisKind, isOwnOfficer } from '../inventory/model.js';
import * as inv from '../inventory/service.js';

/**
 * The inventories of 临江市 (issue 6 points 5, 6, 8, 9, 10), loaded through the real use cases inside the demo
 * loader's transaction (the negative list loads earlier, loadDemoNegativeList): an
 * overdue and a current update duty, an accepted and a not-ready information system, responsibility and demand
 * lists with a confirmed match and an unmatched demand, and an open list with an approved and a pending entry.
 */
export async function loadDemoInventory(
  ctx: AppContext,
  p: {
    officer: (orgCode: string) => Actor;
    reviewer: Actor | null;
    authority: Actor;
    orgId: (orgCode: string) => number;
    resourceId: (name: string) => number;
  },
): Promise<void> {
  const today = shanghaiDate(new Date());
  const { officer, resourceId } = p;

  // --- update duties: one overdue (recorded by the authority), one current (recorded by the department)
  await inv.recordDuty(ctx, p.authority, {
    orgId: p.orgId('LJ-RSJ'),
    changeKind: 'legal',
    whatChanged: '《失业保险条例》修订，失业保险金申领条件和待遇标准调整，相关目录信息项需同步更新',
    basis: '国务院令（失业保险条例修订）',
    changeDate: addDays(today, -45),
  });
  const current = await inv.recordDuty(ctx, officer('LJ-WJJ'), {
    changeKind: 'functional',
    whatChanged: '机构改革：出生医学证明管理职责调整至妇幼保健院，目录的数源单位和更新方式需调整',
    basis: '临江市机构编制委员会关于调整卫生健康部门职责的通知',
    changeDate: addDays(today, -2),
  });
  await inv.setDutyResources(ctx, officer('LJ-WJJ'), current.id, [resourceId('出生医学证明信息')]);

  // --- information systems
  const gaj = officer('LJ-GAJ');
  const pop = await inv.registerSystem(ctx, gaj, {
    name: '临江市人口信息管理系统',
    fiscal: true,
    status: 'built',
    description: '市财政投资建设，汇集户籍人口登记、迁移和变更信息',
  });
  await inv.mountResource(ctx, gaj, pop.id, resourceId('人口基础信息'), true);
  await inv.setSystemStatus(ctx, gaj, pop.id, 'accepted');
  await inv.registerSystem(ctx, officer('LJ-ZRZYJ'), {
    name: '不动产登记信息平台（二期）',
    fiscal: true,
    status: 'built',
    description: '市财政投资建设，二期新增不动产交易与登记一体化模块；数据资源尚未挂接目录',
  });
  await inv.registerSystem(ctx, officer('LJ-MZJ'), {
    name: '社会救助综合管理系统',
    fiscal: true,
    status: 'planned',
    description: '规划建设，整合低保、特困、临时救助业务',
  });

  // --- responsibility and demand lists
  await inv.addResponsibility(ctx, gaj, {
    name: '户籍人口基础信息',
    description: '全市户籍人口的身份、户籍地址和变动信息，按日更新',
    basis: '《中华人民共和国户口登记条例》',
    resourceId: resourceId('人口基础信息'),
  });
  await inv.addResponsibility(ctx, officer('LJ-MZJ'), {
    name: '婚姻登记信息',
    description: '结婚、离婚登记信息',
    basis: '《婚姻登记条例》',
    resourceId: resourceId('婚姻登记信息'),
  });
  await inv.addResponsibility(ctx, officer('LJ-MZJ'), {
    name: '殡葬火化信息',
    description: '火化证明信息（尚未编目）',
    basis: '《殡葬管理条例》',
  });
  const rsj = officer('LJ-RSJ');
  const popDemand = await inv.addDemand(ctx, rsj, {
    name: '人口基础信息',
    purpose: '办理社保参保登记和待遇发放时核验参保人身份',
    basis: '《社会保险法》第五十八条',
    wantedFields: ['公民身份号码', '姓名'],
  });
  const popMatch = popDemand.matches.find((m) => m.resource.id === resourceId('人口基础信息'));
  if (popMatch) await inv.decideMatch(ctx, rsj, popDemand.id, popMatch.resource.id, true);
  await inv.addDemand(ctx, officer('LJ-JYJ'), {
    name: '不动产登记信息',
    purpose: '义务教育入学资格审核时核验学区房产权属',
    basis: '《临江市义务教育阶段学校招生工作实施方案》',
    wantedFields: ['不动产权证号'],
  });
  await inv.addDemand(ctx, rsj, {
    name: '殡葬火化信息',
    purpose: '及时停发已故人员的养老保险待遇，防止冒领',
    basis: '《社会保险法》',
    wantedFields: ['火化日期'],
  });

  // --- open list (XT Art 28)
  const road = await inv.proposeOpen(ctx, officer('LJ-JTJ'), {
    resourceId: resourceId('道路运输经营许可信息'),
    openType: 'open',
  });
  if (p.reviewer)
    await inv.decideOpen(ctx, p.reviewer, road.id, {
      approve: true,
      comment: '经保密审查，不涉及国家秘密，同意开放',
    });
  await inv.proposeOpen(ctx, officer('LJ-STHJJ'), {
    resourceId: resourceId('排污许可证信息'),
    openType: 'onApplication',
    conditions: '申请人须说明用途，仅用于环境信息公开与科研',
  });
}

/**
 * The negative list of 临江市, loaded before any share request (DG Art 19, XT Art 23, GD Art 18, SY Art 23): every
 * conditional or not-shared published resource has its entry in force (approved by the authority, or filed where the
 * profile asks only for filing), so the demo's conditional data stays conditional; one entry waits for the authority's
 * decision and one resource is not listed yet; until then both are shared unconditionally, as the rule says.
 */
export async function loadDemoNegativeList(
  ctx: AppContext,
  p: { officerOf: (orgId: number) => Actor; reviewer: Actor | null; resourceId: (name: string) => number },
): Promise<void> {
  const pendingId = p.resourceId('出生医学证明信息');
  // 民政局 has not listed its subsistence-allowance data yet: until it does, requests for it are unconditional
  const unlistedId = p.resourceId('最低生活保障对象信息');
  const special = new Map<number, { basisKind: BasisKind; basisText: string; reason: string }>([
    [
      p.resourceId('第五次全国经济普查单位资料'),
      {
        basisKind: 'law',
        basisText:
          '《中华人民共和国统计法》第三十九条：统计调查中获得的能够识别或者推断单个统计调查对象身份的资料应当保密',
        reason: '普查单位资料仅用于统计目的，不得用于行政管理，不予共享；可提供汇总统计结果',
      },
    ],
    [
      p.resourceId('婚姻登记信息'),
      {
        basisKind: 'adminRegulation',
        basisText: '《婚姻登记条例》；《婚姻登记档案管理办法》第十六条（查阅婚姻登记档案的范围和条件）',
        reason: '婚姻登记信息涉及个人隐私，仅向依法履职需要的部门有条件共享，共享时须说明用途和所需信息项',
      },
    ],
  ]);
  const restricted = await ctx.db
    .selectFrom('resource')
    .select([
      'id',
      'provider_org_id',
      'share_type',
      'legal_basis',
      'legal_basis_kind',
      'share_conditions',
      'name',
    ])
    .where('share_type', 'in', ['conditional', 'none'])
    .where('status', '=', 'published')
    .orderBy('id')
    .execute();
  for (const r of restricted) {
    if (r.id === unlistedId) continue;
    const given = special.get(r.id);
    const officer = p.officerOf(r.provider_org_id);
    // an organisation without a department data officer (the authority's own data) keeps no list of its own
    if (!isOwnOfficer(officer, r.provider_org_id)) continue;
    const entry = await inv.proposeNegative(ctx, officer, {
      resourceId: r.id,
      basisKind: given?.basisKind ?? r.legal_basis_kind ?? 'law',
      basisText: given?.basisText ?? r.legal_basis ?? '相关法律法规',
      reason:
        given?.reason ??
        r.share_conditions ??
        (r.share_type === 'none' ? `${r.name}依法不予共享` : `${r.name}依法有条件共享`),
    });
    if (entry.status === 'proposed' && p.reviewer && r.id !== pendingId) {
      await inv.decideNegative(ctx, p.reviewer, entry.id, {
        approve: true,
        comment: '依据充分，同意列入负面清单',
      });
    }
  }
}
