import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isEnforced, NOT_ENFORCED } from '../src/profiles/enforcement.js';
import { PROFILES } from '../src/profiles/index.js';

/*
 * Brief rule 5 / issue 8 point 1: a profile field that no code acts on is a defect. Every field of the five profiles is
 * either read by the platform's code (server src/, or the console for descriptive fields such as the regulation's
 * title) or listed in src/profiles/enforcement.ts NOT_ENFORCED, which the rules page shows as "尚未执行". A field read
 * nowhere and not listed fails here; so does a listed field that code has started reading (update the list).
 */
function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return p === path.join('src', 'profiles') ? [] : sources(p);
    return /\.tsx?$/.test(p) && !p.endsWith('.test.ts') ? [p] : [];
  });
}

function fieldPaths(): string[] {
  const paths = new Set<string>();
  const walk = (v: unknown, p: string) => {
    if (Array.isArray(v)) {
      if (v.length && typeof v[0] === 'object') for (const x of v) walk(x, `${p}[]`);
      else paths.add(p);
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) walk(x, p ? `${p}.${k}` : k);
    } else paths.add(p);
  };
  for (const p of Object.values(PROFILES)) walk(p, '');
  return [...paths].sort();
}

// The property names code must read for a field: every segment below the section, except a deadline's amount/unit and a
// rule's article (read with their parent: `deadline`, `sh.disputes.article`) and record keys read by index
// (`levels[level]`, `sharing[shareType]`). `sharing.emergency.mode` needs both `.emergency` and `.mode`.
const GENERIC = new Set([
  'amount',
  'unit',
  'article',
  'city',
  'department',
  'section',
  'conditional',
  'unconditional',
]);
const SECTIONS = new Set(['sharing', 'catalog', 'quality', 'opening', 'regulation']);
function readKeys(p: string): string[] {
  const parts = p.replace(/\[\]/g, '').split('.');
  const keys = parts.filter((k, i) => !(i === 0 && SECTIONS.has(k) && parts.length > 1) && !GENERIC.has(k));
  return keys.length ? keys : [parts[parts.length - 1]];
}

// the label table (src/shared/labels.ts) names rules in words (`prof.purposeLimited`): wording, not code acting on them
const server = sources('src')
  .filter((f) => f !== path.join('src', 'shared', 'labels.ts'))
  .map((f) => fs.readFileSync(f, 'utf8'));
const web = sources('web/src').map((f) => fs.readFileSync(f, 'utf8'));
const readIn = (texts: string[], keys: string[]) =>
  keys.every((key) => texts.some((t) => new RegExp(`\\.${key}\\b`).test(t)));

describe('profile fields (brief rule 5: every field acted on, or shown as not enforced)', () => {
  const paths = fieldPaths();
  it('the five profiles have the sharing fields this test is about', () => {
    expect(paths).toContain('sharing.conditional.steps[].onTimeout');
    expect(paths).toContain('sharing.conditional.steps[].coActors');
    expect(paths).toContain('sharing.conditional.overallDeadline.amount');
  });

  it('every field is read by code or listed as not enforced yet', () => {
    const unread = paths.filter((p) => isEnforced(p) && !readIn([...server, ...web], readKeys(p)));
    expect(unread).toEqual([]);
  });

  it('sharing and catalog rules that are enforced are read by the server, not only shown by the console', () => {
    const shownOnly = paths
      .filter((p) => (p.startsWith('sharing.') || p.startsWith('catalog.')) && isEnforced(p))
      .filter((p) => !readIn(server, readKeys(p)));
    expect(shownOnly).toEqual([]);
  });

  it('every not-enforced entry names existing fields that the server does not read (else take it off the list)', () => {
    for (const n of NOT_ENFORCED) {
      const covered = paths.filter((p) => !isEnforced(p) && (p === n || p.startsWith(`${n}.`)));
      expect(covered.length, n).toBeGreaterThan(0);
      if (n.startsWith('sharing.')) expect(readIn(server, [n.split('.').pop()!]), n).toBe(false);
    }
  });
});
