import { assembleNow, createLibrary } from '../baselib/service.js';
import type { Actor, AppContext } from '../context.js';

/*
 * The demo city's population base library (人口基础库, DG Art 21, XT Art 18): assembled by ID number from four
 * departments' resources. 市公安局's household register is the authoritative source of name, gender, birth date,
 * address and the rest (一数一源, DG Art 15); 市人社局's insured persons, 市民政局's assistance recipients and 市供水公司's
 * water accounts are secondary sources of name (and address, town). The generator gives a few insured persons a
 * name spelled differently and a few water accounts an old address, and the quality demo left one recipient's name
 * mistyped: those are the conflicts the authority coordinates on the 基础库 page. One set-based statement per step over
 * tables of a few hundred rows (100 000 for the register): a small part of the demo's load time.
 */
export async function loadDemoBaseLibrary(
  ctx: AppContext,
  who: { authority: Actor | null; resource: (name: string) => number | undefined },
): Promise<number | null> {
  if (!who.authority) return null;
  const published = async (name: string) => {
    const id = who.resource(name);
    if (!id) return null;
    const r = await ctx.db
      .selectFrom('resource')
      .select(['id', 'status', 'data_table'])
      .where('id', '=', id)
      .executeTakeFirst();
    return r?.status === 'published' && r.data_table ? r.id : null;
  };
  const population = await published('人口基础信息');
  if (!population) return null;
  const insured = await published('社会保险参保信息');
  const assistance = await published('最低生活保障对象信息');
  const water = await published('居民用水户信息');
  const src = (resourceId: number | null, fieldCode: string) =>
    resourceId ? [{ resourceId, fieldCode }] : [];
  const node = await ctx.db
    .selectFrom('catalog_class')
    .select('id')
    .where('kind', '=', 'base')
    .where('lib_key', '=', 'population')
    .executeTakeFirst();
  const { id } = await createLibrary(ctx, who.authority, {
    name: '人口基础库',
    kind: 'base',
    keyKind: 'idNumber',
    classId: node?.id ?? null,
    description:
      '以公安户籍人口信息为权威来源，汇聚人社参保、民政救助、供水开户等部门数据，按公民身份号码比对，不一致的列为冲突由主管部门协调。',
    fields: [
      {
        code: 'name',
        name: '姓名',
        authoritative: { resourceId: population, fieldCode: 'name' },
        secondary: [...src(insured, 'name'), ...src(assistance, 'name'), ...src(water, 'accountName')],
      },
      { code: 'gender', name: '性别', authoritative: { resourceId: population, fieldCode: 'gender' } },
      {
        code: 'birthDate',
        name: '出生日期',
        authoritative: { resourceId: population, fieldCode: 'birthDate' },
      },
      {
        code: 'address',
        name: '户籍地址',
        authoritative: { resourceId: population, fieldCode: 'address' },
        secondary: src(water, 'waterAddress'),
      },
      { code: 'phone', name: '联系电话', authoritative: { resourceId: population, fieldCode: 'phone' } },
      {
        code: 'countyCode',
        name: '户籍所在区县',
        authoritative: { resourceId: population, fieldCode: 'countyCode' },
      },
      {
        code: 'townCode',
        name: '户籍所在镇街',
        authoritative: { resourceId: population, fieldCode: 'townCode' },
        secondary: src(assistance, 'townCode'),
      },
    ],
  });
  await assembleNow(ctx, who.authority, id);
  return id;
}
