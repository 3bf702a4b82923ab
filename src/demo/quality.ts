import { sql } from 'kysely';
import { addDays, shanghaiDate } from '../calendar/model.js';
import { dataTableName } from '../catalog/model.js';
import type { Actor, AppContext } from '../context.js';
import { actOnObjection, type NewObjection, raiseObjection } from '../quality/objections.js';

/**
 * A few objections (issue 12 point 1) so the quality pages and the departments' to-do are not empty on first start:
 * one corrected and one rejected weeks ago, one being verified, one paused for expert review (where the profile
 * excludes that time, DG Art 28; elsewhere it simply waits, and may already be overdue), one raised today by the
 * authority. Raised through the same use cases, on the dates they happened (a clock set back for each step).
 */
export async function loadDemoObjections(
  ctx: AppContext,
  who: {
    officer: (orgCode: string) => Actor;
    staff: (orgCode: string) => Actor | null;
    authority: Actor;
    resource: (name: string) => number | undefined;
  },
): Promise<number> {
  const today = shanghaiDate(ctx.clock.now());
  const at = (daysAgo: number): AppContext => {
    const d = new Date(`${addDays(today, -daysAgo)}T10:00:00+08:00`);
    return { ...ctx, clock: { now: () => d } };
  };
  const published = async (name: string) => {
    const id = who.resource(name);
    if (!id) return null;
    const r = await ctx.db
      .selectFrom('resource')
      .select(['id', 'status'])
      .where('id', '=', id)
      .executeTakeFirst();
    return r?.status === 'published' ? id : null;
  };
  const firstKey = async (resourceId: number) => {
    const { rows } = await sql
      .raw<{ k: string }>(`SELECT _key AS k FROM ${dataTableName(resourceId)} ORDER BY _seq LIMIT 1`)
      .execute(ctx.db)
      .catch(() => ({ rows: [] as { k: string }[] }));
    return rows[0]?.k ?? null;
  };
  const raise = async (
    c: AppContext,
    a: Actor | null,
    o: Omit<NewObjection, 'resourceId'> & { name: string },
  ) => {
    const resourceId = await published(o.name);
    if (!a || !resourceId) return null;
    const { name: _n, ...rest } = o;
    return raiseObjection(c, a, { ...rest, resourceId });
  };
  let n = 0;
  const population = await published('人口基础信息');
  const key = population ? await firstKey(population) : null;
  // 1. a record found wrong, corrected
  const o1 = key
    ? await raise(at(30), who.staff('LJ-RSJ'), {
        name: '人口基础信息',
        target: 'record',
        recordKey: key,
        problem: 'wrong',
        description: '办理社保待遇资格认证时发现该居民户籍地址与本人提供的户口簿不一致。',
        evidence: '户口簿首页及本人页复印件（经办窗口已核验原件）',
      })
    : null;
  if (o1) {
    await actOnObjection(at(29), who.officer('LJ-GAJ'), o1.id, { action: 'start' });
    await actOnObjection(at(24), who.officer('LJ-GAJ'), o1.id, {
      action: 'correct',
      resolution: '经核实为迁移登记后未同步，已在户籍系统更正并于次日随日更数据推送至平台。',
    });
    n++;
  }
  // 2. a field said stale, rejected with its reason
  const insured = await published('社会保险参保信息');
  const field = insured
    ? await ctx.db
        .selectFrom('resource_field')
        .select('code')
        .where('resource_id', '=', insured)
        .where('is_key', '=', false)
        .orderBy('ordinal', 'desc')
        .limit(1)
        .executeTakeFirst()
    : undefined;
  const o2 = field
    ? await raise(at(21), who.officer('LJ-MZJ'), {
        name: '社会保险参保信息',
        target: 'field',
        fieldCode: field.code,
        problem: 'stale',
        description: '参保状态与本局掌握的低保对象就业情况不符，疑似未及时更新。',
      })
    : null;
  if (o2) {
    await actOnObjection(at(16), who.officer('LJ-RSJ'), o2.id, {
      action: 'reject',
      reason: '参保状态按月与税务部门征缴数据同步，核对无误；就业情况变化须由参保人申报后变更。',
    });
    n++;
  }
  // 3. the whole resource, being verified
  const o3 = await raise(at(3), who.staff('LJ-RSJ'), {
    name: '法人单位基础信息',
    target: 'resource',
    problem: 'missing',
    description: '近一个月新设立的个体工商户未出现在法人单位基础信息中，影响就业登记核验。',
  });
  if (o3) {
    await actOnObjection(at(2), who.officer('LJ-SCJGJ'), o3.id, { action: 'start' });
    n++;
  }
  // 4. paused for expert review where the regulation allows it (DG Art 28); elsewhere it waits
  const o4 = await raise(at(8), who.officer('LJ-WJJ'), {
    name: '人口基础信息',
    target: 'resource',
    problem: 'stale',
    description: '新生儿落户信息滞后，出生医学证明签发两周后仍查询不到户籍记录。',
  });
  if (o4) {
    if (ctx.profile.quality.objectionExcludesExpertTime)
      await actOnObjection(at(2), who.officer('LJ-GAJ'), o4.id, {
        action: 'pause',
        reason: '涉及跨省迁入人员，已函请户籍地公安机关协查比对',
      });
    n++;
  }
  // 5. raised today by the authority
  const o5 = await raise(ctx, who.authority, {
    name: '婚姻登记信息',
    target: 'resource',
    problem: 'wrong',
    description: '抽查发现部分登记记录的登记机关代码与行政区划代码不一致。',
  });
  if (o5) n++;
  return n;
}
