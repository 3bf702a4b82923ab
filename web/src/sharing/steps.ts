import type { I18n } from '../shared/i18n.js';
import type { Deadline, ShareRequest, Step } from '../shared/types.js';

/** The step a pending request waits on; `currentStep` may be an index or a step key. */
export function currentStepOf(req: ShareRequest): Step | undefined {
  const c = req.currentStep;
  if (c === null || c === undefined) return undefined;
  if (typeof c === 'number') return req.steps.find((s) => s.index === c) ?? req.steps[c];
  return req.steps.find((s) => s.key === c) ?? req.steps.find((s) => String(s.index) === c);
}

export function stepName(step: Step | undefined, lang: I18n['lang']): string {
  if (!step) return '-';
  return (lang === 'en' ? step.nameEn : step.nameZh) || step.key;
}

/** "10个工作日" / "10 workdays", "5日" / "5 days". */
export function deadlineLabel(d: Deadline | null | undefined, i18n: I18n): string {
  if (!d) return '-';
  if (d.unit === 'WD') return i18n.t('unit.WD', { n: d.amount });
  if (d.unit === 'd') return i18n.t('unit.d', { n: d.amount });
  return `${d.amount} ${d.unit}`;
}

export function deadlineText(step: Step, i18n: I18n): string {
  return deadlineLabel(step.deadline, i18n);
}

export function personName(v: unknown): string {
  if (v === null || v === undefined || v === '') return '-';
  if (typeof v === 'object') {
    const o = v as { displayName?: string; username?: string; name?: string; id?: unknown };
    return o.displayName ?? o.username ?? o.name ?? String(o.id ?? '-');
  }
  return String(v);
}
