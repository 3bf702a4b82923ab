import { createHash } from 'node:crypto';

/*
 * Department evaluation (issue 12 point 5; DG Art 36, SY Art 12, NY 三(四)): what is measured is code (each indicator's
 * computation in service.ts), how much each counts is configuration (eval_model: the indicators used and their
 * weights). No profile defines a model, so the platform's default applies until the authority changes it.
 */
export const INDICATORS = ['catalog', 'freshness', 'quality', 'onTime', 'volume', 'applications'] as const;
export type Indicator = (typeof INDICATORS)[number];

export interface ModelIndicator {
  code: Indicator;
  weight: number;
}

export interface EvalModel {
  name: string;
  indicators: ModelIndicator[];
}

/** The default: data quality and timeliness first (DG Art 36 质量、共享程度、应用支撑). */
export const DEFAULT_MODEL: EvalModel = {
  name: '部门数据共享工作考核（默认）',
  indicators: [
    { code: 'catalog', weight: 20 },
    { code: 'freshness', weight: 20 },
    { code: 'quality', weight: 20 },
    { code: 'onTime', weight: 20 },
    { code: 'volume', weight: 10 },
    { code: 'applications', weight: 10 },
  ],
};

/** At most this many ids per evidence list (the counts are always complete). */
export const EVIDENCE_IDS = 50;

export interface Period {
  period: string;
  start: string;
  end: string;
}

/** 'YYYY' or 'YYYY-Qn' → its first and last day. */
export function parsePeriod(p: string): Period | null {
  const m = /^([0-9]{4})(?:-Q([1-4]))?$/.exec(p);
  if (!m) return null;
  const y = Number(m[1]);
  if (y < 2000 || y > 2100) return null;
  if (!m[2]) return { period: p, start: `${y}-01-01`, end: `${y}-12-31` };
  const q = Number(m[2]);
  const startMonth = (q - 1) * 3 + 1;
  const endMonth = startMonth + 2;
  const last = new Date(Date.UTC(y, endMonth, 0)).getUTCDate();
  const mm = (n: number) => String(n).padStart(2, '0');
  return { period: p, start: `${y}-${mm(startMonth)}-01`, end: `${y}-${mm(endMonth)}-${last}` };
}

/**
 * Weighted total over the indicators that apply (a null score: nothing to measure, e.g. no request was due): the
 * weights of those that apply are scaled to 100, so a department is not marked down for what it was never asked.
 */
export function weightedTotal(parts: { weight: number; score: number | null }[]): number {
  const applicable = parts.filter((p) => p.score !== null && p.weight > 0);
  const w = applicable.reduce((a, p) => a + p.weight, 0);
  if (!w) return 0;
  return Math.round((applicable.reduce((a, p) => a + p.weight * (p.score as number), 0) / w) * 100) / 100;
}

/** Competition ranking: equal totals share a rank, the next rank skips (1, 2, 2, 4). Input sorted by total desc. */
export function ranks(totals: number[]): number[] {
  const out: number[] = [];
  totals.forEach((t, i) => {
    out.push(i > 0 && t === totals[i - 1] ? out[i - 1] : i + 1);
  });
  return out;
}

/** A reproducible random sequence from a seed string (sfc32 seeded by SHA-256). */
export function seededRandom(seed: string): () => number {
  const h = createHash('sha256').update(seed).digest();
  let a = h.readUInt32LE(0);
  let b = h.readUInt32LE(4);
  let c = h.readUInt32LE(8);
  let d = h.readUInt32LE(12);
  return () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

/** Draws n of the candidates (sorted by id first, so the same seed over the same population draws the same ones). */
export function draw<T extends { id: number }>(candidates: T[], n: number, seed: string): T[] {
  const pool = [...candidates].sort((x, y) => x.id - y.id);
  const rnd = seededRandom(seed);
  const k = Math.min(n, pool.length);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rnd() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, k);
}
