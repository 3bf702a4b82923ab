import { afterAll, describe, expect, it } from 'vitest';
import { ensureClassTree, listClasses } from '../src/catalog/classes.js';
import { getProfile } from '../src/profiles/index.js';
import { createTestEnv, type TestEnv } from './helpers.js';

/*
 * Issue 6 point 1 (classification tree): the themes a profile names (catalog.classTree.themes — XT Art 13, SY Art 26)
 * are nodes of the tree, found by key, with the profile's Chinese and English names and its article; the English name
 * is what the en-US console shows (web/src/shared/format.ts className). A tree made before the English names were
 * stored (migration 043) gets them at the next start. DG names no theme: the authority adds its own.
 */
describe('catalog themes named by the profile exist by key and name (XT Art 13, SY Art 26)', () => {
  const envs: TestEnv[] = [];
  afterAll(async () => {
    for (const e of envs) await e.close();
  });

  for (const id of ['xingtai-2024', 'shenyang-2019'] as const)
    it(`${id}: every theme by key with nameZh, nameEn and the article; roots and base libraries named in English`, async () => {
      const profile = getProfile(id);
      const tree = profile.catalog.classTree;
      expect(tree.themes.length, 'the profile names themes').toBeGreaterThan(0);
      const env = await createTestEnv({ profile: id, demo: false });
      envs.push(env);
      await ensureClassTree(env.ctx.db, profile);
      const check = async () => {
        const nodes = await listClasses(env.ctx.db);
        const themes = nodes.filter((n) => n.kind === 'theme' && n.depth === 2);
        expect(themes.length, 'one node per named theme, no more').toBe(tree.themes.length);
        for (const t of tree.themes) {
          const n = themes.filter((x) => x.libKey === t.key);
          expect(n, t.key).toHaveLength(1);
          expect(n[0]).toMatchObject({ name: t.nameZh, nameEn: t.nameEn, article: tree.themesArticle });
        }
        for (const r of nodes.filter((n) => n.depth === 1)) expect(r.nameEn, r.code).toMatch(/^[A-Z]/);
        for (const b of nodes.filter((n) => n.kind === 'base' && n.depth === 2))
          expect(b.nameEn, b.name).toMatch(/^[A-Z]/);
      };
      await check();
      // idempotent, and a tree from before migration 043 gets its English names back at the next start
      await env.ctx.db.updateTable('catalog_class').set({ name_en: null }).execute();
      await ensureClassTree(env.ctx.db, profile);
      await ensureClassTree(env.ctx.db, profile);
      await check();
    });

  it('dongguan-2020 names no theme: the tree has the 主题 root and no theme under it', async () => {
    expect(getProfile('dongguan-2020').catalog.classTree.themes).toEqual([]);
    const env = await createTestEnv({ profile: 'dongguan-2020', demo: false });
    envs.push(env);
    await ensureClassTree(env.ctx.db, getProfile('dongguan-2020'));
    const nodes = await listClasses(env.ctx.db);
    expect(nodes.some((n) => n.kind === 'theme' && n.depth === 1)).toBe(true);
    expect(nodes.filter((n) => n.kind === 'theme' && n.depth === 2)).toEqual([]);
  });
});
