import { sql } from 'kysely';
import type { Actor } from '../context.js';
import { hasRole } from '../context.js';
import type { Db, Tx } from '../db/index.js';
import type { Profile } from '../profiles/model.js';
import { AppError, type ErrorDetail } from '../shared/errors.js';
import { CLASSIFICATIONS } from './model.js';

/*
 * The catalog's classification tree (1272 guideline 信息资源分类 类/项/目/细目; REFERENCE "Catalog classes"): 类 is
 * 基础 (1) / 主题 (2) / 部门 (3); 项 under 基础 are the five base libraries (always, DG Art 12, XT Art 13, SY Art 26),
 * under 主题 the theme domains the profile names (and those the authority adds), under 部门 one per organisation
 * that compiles a catalog (departments, the authority, public-service enterprises, XT Art 12). 目 and
 * 细目 refine a 项. A node's `full_code` is its 分类码: 类 1 digit + 项 2 + 目 3 + 细目 3.
 */

export type ClassKind = (typeof CLASSIFICATIONS)[number];

export const ROOTS: Record<ClassKind, { code: string; nameZh: string; nameEn: string }> = {
  base: { code: '1', nameZh: '基础信息资源', nameEn: 'Base information resources' },
  theme: { code: '2', nameZh: '主题信息资源', nameEn: 'Theme information resources' },
  department: { code: '3', nameZh: '部门信息资源', nameEn: 'Department information resources' },
};

/** The five base libraries (REFERENCE "Catalog classes"; DG Art 12/21, XT Art 13, SY Art 26, GD Art 17). */
export const BASE_LIBRARIES = [
  { key: 'population', nameZh: '人口', nameEn: 'Population', code: '01' },
  { key: 'legalEntity', nameZh: '法人单位', nameEn: 'Legal entities', code: '02' },
  {
    key: 'naturalResources',
    nameZh: '自然资源和空间地理',
    nameEn: 'Natural resources and geospatial',
    code: '03',
  },
  { key: 'socialCredit', nameZh: '社会信用', nameEn: 'Social credit', code: '04' },
  { key: 'eLicence', nameZh: '电子证照', nameEn: 'Electronic licences', code: '05' },
] as const;

const SEGMENT_WIDTH = [1, 2, 3, 3];

export interface ClassNode {
  id: number;
  parentId: number | null;
  depth: number;
  kind: ClassKind;
  code: string;
  name: string;
  /** English name where one is known (roots, base libraries, the profile's themes); the console falls back to name */
  nameEn: string | null;
  libKey: string | null;
  orgId: number | null;
  lead: { id: number; name: string } | null;
  contributors: { id: number; name: string }[];
  article: string | null;
}

/** Locks one parent's children while a new code is chosen (one node per code, no duplicates under concurrency). */
async function lockParent(trx: Tx, parentId: number) {
  await sql`SELECT id FROM catalog_class WHERE id = ${parentId} FOR UPDATE`.execute(trx);
}

async function nextChildCode(trx: Tx, parent: { id: number; full_code: string; depth: number }) {
  const width = SEGMENT_WIDTH[parent.depth];
  const rows = await trx
    .selectFrom('catalog_class')
    .select('full_code')
    .where('parent_id', '=', parent.id)
    .execute();
  const used = new Set(rows.map((r) => Number(r.full_code.slice(parent.full_code.length))));
  let n = 1;
  while (used.has(n)) n++;
  if (String(n).length > width)
    throw new AppError('CATALOG_RULE_VIOLATED', [
      { field: 'parentId', reason: 'no free code under this class', reasonZh: '该分类下的编码已用尽' },
    ]);
  return parent.full_code + String(n).padStart(width, '0');
}

async function rootsOf(trx: Tx) {
  const rows = await trx.selectFrom('catalog_class').selectAll().where('depth', '=', 1).execute();
  return new Map(rows.map((r) => [r.kind, r]));
}

/**
 * Creates the roots, the base libraries, the profile's themes and one node per department that lacks one. Idempotent;
 * run at start-up, by the demo loader, and (for a new department) before a registration.
 */
export async function ensureClassTree(db: Db | Tx, profile: Pick<Profile, 'catalog'>): Promise<void> {
  const run = async (trx: Tx) => {
    const tree = profile.catalog.classTree;
    for (const kind of CLASSIFICATIONS) {
      const r = ROOTS[kind];
      await trx
        .insertInto('catalog_class')
        .values({ depth: 1, kind, full_code: r.code, name: r.nameZh, name_en: r.nameEn })
        .onConflict((oc) => oc.column('full_code').doNothing())
        .execute();
    }
    const roots = await rootsOf(trx);
    const base = roots.get('base')!;
    for (const b of BASE_LIBRARIES)
      await trx
        .insertInto('catalog_class')
        .values({
          parent_id: base.id,
          depth: 2,
          kind: 'base',
          full_code: base.full_code + b.code,
          name: b.nameZh,
          name_en: b.nameEn,
          lib_key: b.key,
          article: tree.baseArticle,
        })
        .onConflict((oc) => oc.column('full_code').doNothing())
        .execute();
    const theme = roots.get('theme')!;
    const themes = await trx
      .selectFrom('catalog_class')
      .select('lib_key')
      .where('kind', '=', 'theme')
      .where('depth', '=', 2)
      .execute();
    const have = new Set(themes.map((t) => t.lib_key));
    const missing = tree.themes.filter((t) => !have.has(t.key));
    if (missing.length) {
      await lockParent(trx, theme.id);
      for (const t of missing)
        await trx
          .insertInto('catalog_class')
          .values({
            parent_id: theme.id,
            depth: 2,
            kind: 'theme',
            full_code: await nextChildCode(trx, theme),
            name: t.nameZh,
            name_en: t.nameEn,
            lib_key: t.key,
            article: tree.themesArticle,
          })
          .execute();
    }
    // a tree made before migration 043 has no English names: give them from code (a name set since is kept)
    const named = [
      ...CLASSIFICATIONS.map((k) => ({ where: { depth: 1, kind: k, key: null }, en: ROOTS[k].nameEn })),
      ...BASE_LIBRARIES.map((b) => ({
        where: { depth: 2, kind: 'base' as const, key: b.key },
        en: b.nameEn,
      })),
      ...tree.themes.map((t) => ({ where: { depth: 2, kind: 'theme' as const, key: t.key }, en: t.nameEn })),
    ];
    const unnamed = await trx
      .selectFrom('catalog_class')
      .select(['id', 'depth', 'kind', 'lib_key'])
      .where('name_en', 'is', null)
      .where((eb) =>
        eb.or([eb('depth', '=', 1), eb.and([eb('depth', '=', 2), eb('kind', '<>', 'department')])]),
      )
      .execute();
    for (const u of unnamed) {
      const n = named.find(
        (x) =>
          x.where.depth === u.depth &&
          x.where.kind === u.kind &&
          (u.depth === 1 || x.where.key === u.lib_key),
      );
      if (n) await trx.updateTable('catalog_class').set({ name_en: n.en }).where('id', '=', u.id).execute();
    }
    const dept = roots.get('department')!;
    const orgs = await trx
      .selectFrom('org')
      .select(['id', 'name'])
      .where((eb) =>
        eb.not(
          eb.exists(eb.selectFrom('catalog_class as c').select('c.id').whereRef('c.org_id', '=', 'org.id')),
        ),
      )
      .orderBy('id')
      .execute();
    if (orgs.length) {
      await lockParent(trx, dept.id);
      for (const o of orgs)
        await trx
          .insertInto('catalog_class')
          .values({
            parent_id: dept.id,
            depth: 2,
            kind: 'department',
            full_code: await nextChildCode(trx, dept),
            name: o.name,
            org_id: o.id,
          })
          .onConflict((oc) => oc.column('org_id').where('org_id', 'is not', null).doNothing())
          .execute();
    }
  };
  if ('isTransaction' in db && db.isTransaction) await run(db as Tx);
  else await (db as Db).transaction().execute(run);
}

/**
 * Files entries registered before the tree existed (migration 008) under their provider's department node, or the base
 * library / theme their topic names. Idempotent; run at start-up after ensureClassTree.
 */
export async function backfillEntryClasses(db: Db): Promise<void> {
  await sql`
    UPDATE resource r SET class_id = c.id, class_code = c.full_code
    FROM catalog_class c
    WHERE r.class_id IS NULL AND c.depth = 2 AND c.kind = r.classification
      AND ((r.classification = 'department' AND c.org_id = r.provider_org_id)
        OR (r.classification <> 'department' AND c.name = r.topic))`.execute(db);
}

/** The whole tree with leads and contributors (small: a few hundred nodes). */
export async function listClasses(db: Db | Tx): Promise<ClassNode[]> {
  const rows = await db
    .selectFrom('catalog_class as c')
    .leftJoin('org as l', 'l.id', 'c.lead_org_id')
    .select([
      'c.id',
      'c.parent_id',
      'c.depth',
      'c.kind',
      'c.full_code',
      'c.name',
      'c.name_en',
      'c.lib_key',
      'c.org_id',
      'c.lead_org_id',
      'l.name as lead_name',
      'c.article',
    ])
    .orderBy('c.full_code')
    .execute();
  const contrib = await db
    .selectFrom('catalog_class_contributor as k')
    .innerJoin('org as o', 'o.id', 'k.org_id')
    .select(['k.class_id', 'o.id', 'o.name'])
    .orderBy('o.id')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    parentId: r.parent_id,
    depth: r.depth,
    kind: r.kind,
    code: r.full_code,
    name: r.name,
    nameEn: r.name_en,
    libKey: r.lib_key,
    orgId: r.org_id,
    lead: r.lead_org_id ? { id: r.lead_org_id, name: r.lead_name ?? '' } : null,
    contributors: contrib.filter((c) => c.class_id === r.id).map((c) => ({ id: c.id, name: c.name })),
    article: r.article,
  }));
}

export interface ResolvedClass {
  classId: number;
  classCode: string;
  classification: ClassKind;
  /** the 项's name (library, theme or department), kept as the entry's topic */
  topic: string;
}

/**
 * The node an entry is filed under, checked: it exists below a 类; its class matches the entry's classification; a
 * department-class entry sits under its provider's own department; a theme entry's provider is the theme's lead or a
 * contributing department (DG Art 12: the lead organises the departments that build the theme together). Without a
 * node the entry is filed under the base library or theme its topic names, or its provider's department.
 */
export async function resolveClass(
  trx: Tx,
  profile: Pick<Profile, 'catalog'>,
  providerOrgId: number,
  input: { classId?: number | null; classification: ClassKind; topic?: string },
): Promise<{ resolved: ResolvedClass | null; errors: ErrorDetail[] }> {
  const tree = profile.catalog.classTree;
  let node = input.classId
    ? await trx.selectFrom('catalog_class').selectAll().where('id', '=', input.classId).executeTakeFirst()
    : undefined;
  if (input.classId && (!node || node.depth < 2))
    return {
      resolved: null,
      errors: [
        {
          field: 'classId',
          reason: 'choose a class of the catalog tree below 基础/主题/部门',
          reasonZh: '请在目录分类树中选择具体的类目（基础库、主题或部门下）',
        },
      ],
    };
  if (!node) {
    const q = trx
      .selectFrom('catalog_class')
      .selectAll()
      .where('depth', '=', 2)
      .where('kind', '=', input.classification);
    node =
      input.classification === 'department'
        ? await q.where('org_id', '=', providerOrgId).executeTakeFirst()
        : await q.where('name', '=', (input.topic ?? '').trim()).executeTakeFirst();
    if (!node)
      return {
        resolved: null,
        errors: [
          {
            field: 'classId',
            reason:
              input.classification === 'department'
                ? 'the department has no class node yet'
                : `choose the ${input.classification === 'base' ? 'base library' : 'theme'} the entry belongs to (${input.classification === 'base' ? tree.baseArticle : tree.themesArticle})`,
            reasonZh:
              input.classification === 'base'
                ? `请选择所属基础库（${tree.baseArticle}）`
                : input.classification === 'theme'
                  ? `请选择所属主题（${tree.themesArticle}）`
                  : '本部门尚无目录分类',
          },
        ],
      };
  }
  const errors: ErrorDetail[] = [];
  if (node.kind !== input.classification)
    errors.push({
      field: 'classification',
      reason: `the chosen class belongs to ${node.kind}, not ${input.classification}`,
      reasonZh: '所选类目与目录类别不一致',
    });
  const item =
    node.depth === 2
      ? node
      : await trx
          .selectFrom('catalog_class')
          .selectAll()
          .where('full_code', '=', node.full_code.slice(0, 3))
          .executeTakeFirstOrThrow();
  if (item.kind === 'department' && item.org_id !== providerOrgId)
    errors.push({
      field: 'classId',
      reason: "a department-class entry is filed under its provider's own department",
      reasonZh: '部门类目录只能编入本部门的类目',
    });
  if (item.kind === 'theme' && item.lead_org_id !== null && item.lead_org_id !== providerOrgId) {
    const c = await trx
      .selectFrom('catalog_class_contributor')
      .select('org_id')
      .where('class_id', '=', item.id)
      .where('org_id', '=', providerOrgId)
      .executeTakeFirst();
    if (!c)
      errors.push({
        field: 'classId',
        reason: `only the theme's lead and contributing departments compile its entries (${item.article ?? tree.themesArticle})`,
        reasonZh: `主题目录由牵头部门组织相关部门共同编制，非牵头或共建部门不能编入该主题（${item.article ?? tree.themesArticle}）`,
      });
  }
  return {
    resolved: errors.length
      ? null
      : { classId: node.id, classCode: node.full_code, classification: node.kind, topic: item.name },
    errors,
  };
}

/** The authority organises base and theme catalogs (DG Art 12, XT Art 13). */
export function canManageClasses(actor: Actor): boolean {
  return hasRole(actor, 'authority_reviewer', 'platform_admin');
}

/** A node the authority adds (a theme, or a 目/细目). */
export interface NewClass {
  parentId: number;
  name: string;
  /** shown in the English console; without it the Chinese name is */
  nameEn?: string | null;
  leadOrgId?: number | null;
  contributorOrgIds?: number[];
}

/**
 * Adds a node: a theme (项 under 主题, with its lead and contributing departments) or a 目/细目 under an existing 项/目.
 */
export async function createClass(
  trx: Tx,
  profile: Pick<Profile, 'catalog'>,
  input: NewClass,
): Promise<number> {
  const parent = await trx
    .selectFrom('catalog_class')
    .selectAll()
    .where('id', '=', input.parentId)
    .executeTakeFirst();
  if (!parent || parent.depth >= 4 || (parent.depth === 1 && parent.kind !== 'theme'))
    throw new AppError('VALIDATION_FAILED', [
      {
        field: 'parentId',
        reason: 'a new class goes under 主题 (a theme) or under a 项/目 (a 目/细目)',
        reasonZh: '新类目须建在“主题信息资源”下（新主题），或某一项、目之下',
      },
    ]);
  const isTheme = parent.depth === 1;
  if (isTheme && !input.leadOrgId)
    throw new AppError('VALIDATION_FAILED', [
      {
        field: 'leadOrgId',
        reason: `a theme has a lead department (${profile.catalog.classTree.themesArticle})`,
        reasonZh: `主题须明确牵头部门（${profile.catalog.classTree.themesArticle}）`,
      },
    ]);
  await lockParent(trx, parent.id);
  const { id } = await trx
    .insertInto('catalog_class')
    .values({
      parent_id: parent.id,
      depth: parent.depth + 1,
      kind: parent.kind,
      full_code: await nextChildCode(trx, parent),
      name: input.name,
      name_en: input.nameEn || null,
      lead_org_id: isTheme ? (input.leadOrgId ?? null) : null,
      article: isTheme ? profile.catalog.classTree.themesArticle : null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  if (isTheme) await setThemeDepartments(trx, id, input.leadOrgId!, input.contributorOrgIds ?? []);
  return id;
}

/** Sets a theme's lead and contributing departments (DG Art 12). */
export async function setThemeDepartments(
  trx: Tx,
  classId: number,
  leadOrgId: number,
  contributors: number[],
) {
  const node = await trx.selectFrom('catalog_class').selectAll().where('id', '=', classId).executeTakeFirst();
  if (node?.kind !== 'theme' || node.depth !== 2)
    throw new AppError('NOT_FOUND', [{ field: 'id', reason: 'no such theme', reasonZh: '主题不存在' }]);
  const ids = [...new Set([leadOrgId, ...contributors])];
  const orgs = await trx
    .selectFrom('org')
    .select('id')
    .where('id', 'in', ids)
    .where('kind', '!=', 'enterprise')
    .execute();
  const known = new Set(orgs.map((o) => o.id));
  const bad = ids.filter((i) => !known.has(i));
  if (bad.length)
    throw new AppError('VALIDATION_FAILED', [
      {
        field: 'contributorOrgIds',
        reason: `not a government department: ${bad.join(', ')}`,
        reasonZh: '所选单位不是政务部门',
      },
    ]);
  await trx.updateTable('catalog_class').set({ lead_org_id: leadOrgId }).where('id', '=', classId).execute();
  await trx.deleteFrom('catalog_class_contributor').where('class_id', '=', classId).execute();
  const rest = contributors.filter((c) => c !== leadOrgId);
  if (rest.length)
    await trx
      .insertInto('catalog_class_contributor')
      .values([...new Set(rest)].map((org_id) => ({ class_id: classId, org_id })))
      .execute();
}

// ---- GB/T 21063.5 resource codes ----

/** Position 3 of a front code below province level: A–Z without I and O (GB/T 21063.5). */
export const LEVEL_CHARS = 'ABCDEFGHJKLMNPQRSTUVWXYZ';

/**
 * The provider's front code (前段码): province code (first 2 digits of its jurisdiction's GB/T 2260 code) + `0` for a
 * province-level jurisdiction or, below it, the letter stored for its jurisdiction (the next free one of its province,
 * in order of first use) + its department number 001–999 (the next free one under that prefix, in order of first use).
 * Created once, stored in catalog_code_front, never changed.
 */
async function frontCodeRow(trx: Tx, orgId: number) {
  const have = await sql<{ front_code: string }>`
    SELECT front_code FROM catalog_code_front WHERE org_id = ${orgId} FOR UPDATE`.execute(trx);
  if (have.rows.length) return;
  const org = await trx
    .selectFrom('org as o')
    .innerJoin('jurisdiction as j', 'j.code', 'o.jurisdiction_code')
    .select(['j.code', 'j.level', 'j.code_char'])
    .where('o.id', '=', orgId)
    .executeTakeFirstOrThrow();
  const province = org.code.slice(0, 2);
  // one assignment at a time per province: letters and department numbers are chosen from what is stored
  await sql`SELECT pg_advisory_xact_lock(hashtext(${`gbt21063.5:${province}`}))`.execute(trx);
  const again = await trx
    .selectFrom('catalog_code_front')
    .select('front_code')
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  if (again) return;
  let ch = org.level === 'province' ? '0' : org.code_char;
  if (!ch) {
    const used = await trx
      .selectFrom('jurisdiction')
      .select('code_char')
      .where(sql<boolean>`left(code, 2) = ${province}`)
      .where('code_char', 'is not', null)
      .execute();
    const taken = new Set(used.map((u) => u.code_char));
    ch = [...LEVEL_CHARS].find((c) => !taken.has(c)) ?? null;
    if (!ch)
      throw new AppError('CATALOG_RULE_VIOLATED', [
        {
          reason: 'no free GB/T 21063.5 level character left in this province',
          reasonZh: '本省可用的层级码已用尽',
        },
      ]);
    await trx.updateTable('jurisdiction').set({ code_char: ch }).where('code', '=', org.code).execute();
  }
  const prefix = `${province}${ch}`;
  const { n } = await trx
    .selectFrom('catalog_code_front')
    .select(sql<number>`coalesce(max(right(front_code, 3)::int), 0)::int`.as('n'))
    .where('front_code', 'like', `${prefix}%`)
    .executeTakeFirstOrThrow();
  if (n >= 999)
    throw new AppError('CATALOG_RULE_VIOLATED', [
      {
        reason: 'department numbers 001–999 are used up under this prefix',
        reasonZh: '部门编号（001–999）已用尽',
      },
    ]);
  await trx
    .insertInto('catalog_code_front')
    .values({ org_id: orgId, front_code: `${prefix}${String(n + 1).padStart(3, '0')}` })
    .execute();
}

/**
 * The next resource code of a provider: front code + `/` + its sequence number (6 digits). The counter only grows, in
 * the registering transaction: a committed number is never issued again, retired entries included; a registration
 * that rolls back issued nothing, so its number is the next one's (no code was ever visible).
 */
export async function nextResourceCode(trx: Tx, orgId: number): Promise<string> {
  await frontCodeRow(trx, orgId);
  const r = await trx
    .updateTable('catalog_code_front')
    .set({ last_seq: sql`last_seq + 1` })
    .where('org_id', '=', orgId)
    .returning(['front_code', 'last_seq'])
    .executeTakeFirstOrThrow();
  return `${r.front_code}/${String(r.last_seq).padStart(6, '0')}`;
}

/** The codes of published entries per class node, counted into every ancestor (the tree browser's counts). */
export function rollUpCounts(nodes: ClassNode[], perCode: Map<string, number>): Map<number, number> {
  const out = new Map<number, number>();
  for (const n of nodes) {
    let c = 0;
    for (const [code, k] of perCode) if (code.startsWith(n.code)) c += k;
    out.set(n.id, c);
  }
  return out;
}

// ---- codes from before GB/T 21063.5 (before migration 008) ----

/** A GB/T 21063.5 resource code as nextResourceCode issues it: front code (6), `/`, sequence (6). */
export const GBT_CODE_PATTERN = '^[0-9]{2}[0ABCDEFGHJKLMNPQRSTUVWXYZ][0-9]{3}/[0-9]{6}$';

/**
 * Gives every entry whose code is not in GB/T 21063.5 form (the foundation's `<org code>-NNN`, e.g. `LJ-GAJ-002`, and
 * the first demo's `446000-GAJ-001`) the next code of its provider, in order of id, and keeps the old one as an
 * alias (resource_code_alias: never issued again, still resolved by resolveResourceCodes). Related-code lists naming
 * an old code are rewritten; the entry's search document is cleared so start-up rebuilds it (backfillSearchDocuments)
 * with the new code and the alias. Idempotent: a second run finds nothing. Migration 045 runs it once.
 */
export async function recodeLegacyResources(trx: Tx): Promise<{ id: number; from: string; to: string }[]> {
  const rows = await sql<{ id: number; code: string; provider_org_id: number }>`
    SELECT id, code, provider_org_id FROM resource WHERE code !~ ${GBT_CODE_PATTERN} ORDER BY id`.execute(
    trx,
  );
  const out: { id: number; from: string; to: string }[] = [];
  for (const r of rows.rows) {
    const to = await nextResourceCode(trx, Number(r.provider_org_id));
    await sql`INSERT INTO resource_code_alias (code, resource_id) VALUES (${r.code}, ${r.id})`.execute(trx);
    await sql`UPDATE resource SET code = ${to}, search_doc = NULL WHERE id = ${r.id}`.execute(trx);
    await sql`UPDATE resource SET related_codes = array_replace(related_codes, ${r.code}, ${to})
      WHERE ${r.code} = ANY(related_codes)`.execute(trx);
    out.push({ id: Number(r.id), from: r.code, to });
  }
  return out;
}

/** The current code of each given code that is an old one (an alias); codes that are not aliases are left out. */
export async function resolveResourceCodes(
  db: Db | Tx,
  codes: readonly string[],
): Promise<Map<string, string>> {
  if (!codes.length) return new Map();
  const rows = await db
    .selectFrom('resource_code_alias as a')
    .innerJoin('resource as r', 'r.id', 'a.resource_id')
    .select(['a.code as alias', 'r.code'])
    .where('a.code', 'in', [...codes])
    .execute();
  return new Map(rows.map((r) => [r.alias, r.code]));
}
