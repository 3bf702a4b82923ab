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
