import { createClass, ensureClassTree, setThemeDepartments } from '../catalog/classes.js';
import type { Tx } from '../db/index.js';
import type { Profile } from '../profiles/model.js';

/*
 * The demo's theme entries under each profile. A demo topic is filed under the first theme the profile names among its
 * candidates (XT Art 13, SY Art 26); a profile that names none (DG Art 12, GD Art 17, NY) gets the theme created by the
 * authority, as those regulations leave it to. Each theme's lead is the provider of its first entry, the others
 * contribute (DG Art 12).
 */
const CANDIDATES: Record<string, { names: string[]; created: string; createdEn: string | null }> = {
  社会保障: { names: ['社会保障', '人力资源社会保障'], created: '社会保障', createdEn: 'Social security' },
  就业: { names: ['社会保障', '人力资源社会保障'], created: '社会保障', createdEn: 'Social security' },
  社会救助: { names: ['社会保障', '民政'], created: '社会保障', createdEn: 'Social security' },
  医疗健康: { names: ['健康保障', '卫生健康'], created: '健康保障', createdEn: 'Health care' },
  卫生健康: { names: ['健康保障', '卫生健康'], created: '健康保障', createdEn: 'Health care' },
  社会信用: {
    names: ['信用体系', '市场监管', '经济运行'],
    created: '信用监管',
    createdEn: 'Credit supervision',
  },
  生态环境: { names: ['生态环保', '生态环境'], created: '生态环境', createdEn: 'Ecology and environment' },
};

/**
 * Builds the tree and returns, per demo topic, the theme node its entries go under. `entries` are (topic, provider
 * org id) of every theme entry the demo registers, in registration order.
 */
export async function demoThemes(
  trx: Tx,
  profile: Pick<Profile, 'catalog'>,
  entries: { topic: string; providerOrgId: number }[],
): Promise<Map<string, number>> {
  await ensureClassTree(trx, profile);
  const nodes = await trx.selectFrom('catalog_class').select(['id', 'name', 'depth', 'kind']).execute();
  const themeRoot = nodes.find((n) => n.depth === 1 && n.kind === 'theme')!;
  const themes = () => nodes.filter((n) => n.depth === 2 && n.kind === 'theme');
  const byTopic = new Map<string, number>();
  const members = new Map<number, number[]>();
  for (const e of entries) {
    let id = byTopic.get(e.topic);
    if (id === undefined) {
      const c = CANDIDATES[e.topic] ?? { names: [e.topic], created: e.topic, createdEn: null };
      const found = c.names.map((n) => themes().find((t) => t.name === n)).find(Boolean);
      if (found) id = found.id;
      else {
        const existing = themes().find((t) => t.name === c.created);
        id =
          existing?.id ??
          (await createClass(trx, profile, {
            parentId: themeRoot.id,
            name: c.created,
            nameEn: c.createdEn,
            leadOrgId: e.providerOrgId,
          }));
        if (!existing) nodes.push({ id, name: c.created, depth: 2, kind: 'theme' });
      }
      byTopic.set(e.topic, id);
    }
    const m = members.get(id) ?? [];
    if (!m.includes(e.providerOrgId)) m.push(e.providerOrgId);
    members.set(id, m);
  }
  for (const [id, orgs] of members) await setThemeDepartments(trx, id, orgs[0], orgs.slice(1));
  return byTopic;
}
