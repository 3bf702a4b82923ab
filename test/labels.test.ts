import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/*
 * Brief: people see words, not codes. Every audit action the server writes has a zh-CN/en-US label in the console's
 * one label table, so the auditor never reads `inventory.duty_done`. The actions are found in the source itself, so a
 * new action without a label fails here.
 */
function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

describe('labels', () => {
  it('every audit action written by the server has a console label (words, not codes)', () => {
    const actions = new Set<string>();
    for (const file of sources('src')) {
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/action: '([a-zA-Z_]+\.[a-zA-Z_.]+)'/g)) actions.add(m[1]);
      for (const m of text.matchAll(/action: [a-zA-Z.]+ \? '([a-zA-Z_.]+)' : '([a-zA-Z_.]+)'/g)) {
        actions.add(m[1]);
        actions.add(m[2]);
      }
      for (const m of text.matchAll(/audit\(trx, actor, '([a-zA-Z_.]+)'/g)) actions.add(m[1]);
      for (const m of text.matchAll(/auditExport\(ctx, actor, '([a-zA-Z_.]+)'/g)) actions.add(m[1]);
      for (const m of text.matchAll(/auditInsert\(\s*'([a-zA-Z_.]+)'/g)) actions.add(m[1]);
      for (const m of text.matchAll(/, '(data\.[a-z]+)', \$4/g)) actions.add(m[1]);
    }
    expect(actions.size).toBeGreaterThan(30);
    expect(actions).toContain('data.get');
    expect(actions).toContain('data.list');
    const i18n = fs.readFileSync('src/shared/labels.ts', 'utf8');
    const missing = [...actions].filter((a) => !i18n.includes(`'action.${a}'`));
    expect(missing).toEqual([]);
  });
});

describe('English is English (the console in en-US)', () => {
  it('no English label carries Chinese characters or full-width punctuation', async () => {
    const { LABELS } = await import('../src/shared/labels.js');
    // the search box's hint names Chinese search words as examples of what to type: data, not UI text
    const examples = new Set(['catalog.searchHint']);
    const chinese = /[\u3000-\u303f\u4e00-\u9fff\uff01-\uff5e《》]/;
    const bad = Object.entries(LABELS)
      .filter(([k, v]) => !examples.has(k) && chinese.test((v as readonly string[])[1]))
      .map(([k, v]) => `${k}: ${(v as readonly string[])[1]}`);
    expect(bad).toEqual([]);
  });

  it('console components take their punctuation from the label table (colon, list, paren), never hard-coded ：、（）', () => {
    const tsx = (dir: string): string[] =>
      fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) return tsx(p);
        return p.endsWith('.tsx') || p.endsWith('.ts') ? [p] : [];
      });
    const hits: string[] = [];
    for (const file of tsx('web/src')) {
      fs.readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          const code = line.replace(/\/\/.*$|\/\*.*?\*\/|^\s*\*.*$/g, '');
          // parsing what a person types accepts both (tokenSeparators, split): that is input, not display
          if (/tokenSeparators|\.split\(|\.replace\(/.test(code)) return;
          if (/[：；、（），]/.test(code)) hits.push(`${file}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(hits).toEqual([]);
  });
});

describe('audit target types', () => {
  it('every audit target type written by the server has a console label (the auditor reads 负面清单条目, not negative_list_entry)', () => {
    const types = new Set<string>();
    for (const file of sources('src')) {
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:targetType|target_type)(?: =|:) '([a-zA-Z_]+)'/g)) types.add(m[1]);
      // the data API's governed statements name theirs positionally (src/dataapi/store.ts auditInsert)
      for (const m of text.matchAll(/auditInsert\(\s*'[^']+',\s*'([a-zA-Z_]+)'/g)) types.add(m[1]);
    }
    expect(types.size).toBeGreaterThan(30);
    expect(types).toContain('negative_list_entry');
    expect(types).toContain('feed');
    const i18n = fs.readFileSync('src/shared/labels.ts', 'utf8');
    expect([...types].filter((t) => !i18n.includes(`'targetType.${t}'`))).toEqual([]);
  });
});

describe('article citations in Chinese text (words, not codes)', () => {
  it('renders each regulation, article, item and task, and joins lists with 、', async () => {
    const { articleText, zhCitations } = await import('../src/shared/labels.js');
    expect(zhCitations('基础库数据项一律无条件共享（GD Art 17）')).toBe(
      '基础库数据项一律无条件共享（广东办法第十七条）',
    );
    expect(articleText('DG Art 13, DG Art 22', 'zh')).toBe('东莞办法第十三条、东莞办法第二十二条');
    expect(articleText('XT Art 23.5', 'zh')).toBe('邢台办法第二十三条第（五）项');
    expect(articleText('NY task 8', 'zh')).toBe('南阳方案任务八');
    expect(articleText('SY Art 47', 'en')).toBe('SY Art 47');
    // every article text the five profiles use reads as words: no code, no English left in Chinese
    expect(articleText('DG Art 19, 23', 'zh')).toBe('东莞办法第十九条、东莞办法第二十三条');
    expect(articleText('DG Art 20; deadline GD Art 19', 'zh')).toBe(
      '东莞办法第二十条；期限依据广东办法第十九条',
    );
    expect(articleText('GD Art 11, 15; levels as DG Art 11', 'zh')).toBe(
      '广东办法第十一条、广东办法第十五条；目录分级参照东莞办法第十一条',
    );
    expect(articleText('levels as DG Art 11', 'zh')).toBe('目录分级参照东莞办法第十一条');
    const profiles = fs.readdirSync('src/profiles').filter((f) => /^[a-z]+-\d{4}\.ts$/.test(f));
    const texts = profiles.flatMap((f) =>
      [...fs.readFileSync(path.join('src/profiles', f), 'utf8').matchAll(/rticle: '([^']*)'/g)].map(
        (m) => m[1],
      ),
    );
    expect(texts.length).toBeGreaterThan(20);
    for (const a of texts) expect(articleText(a, 'zh'), a).not.toMatch(/[A-Za-z]/);
  });

  it('an API error cites the active profile article in Chinese in reasonZh, in English in reason', async () => {
    const { AppError } = await import('../src/shared/errors.js');
    const e = new AppError('VALIDATION_FAILED', [
      { reason: 'a theme has a lead (SY Art 26)', reasonZh: '主题须明确牵头部门（SY Art 26）' },
    ]);
    expect(e.details[0].reasonZh).toBe('主题须明确牵头部门（沈阳条例第二十六条）');
    expect(e.details[0].reason).toContain('SY Art 26');
  });
});
