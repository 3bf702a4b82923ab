import dayjs from 'dayjs';

export function fmtDate(v: string | null | undefined): string {
  return v ? dayjs(v).format('YYYY-MM-DD') : '-';
}

export function fmtTime(v: string | null | undefined): string {
  return v ? dayjs(v).format('YYYY-MM-DD HH:mm:ss') : '-';
}

/** A catalog class node's name in the console's language (the Chinese name where it has no English one). */
export function className(n: { name: string; nameEn?: string | null }, lang: string): string {
  return lang === 'en' && n.nameEn ? n.nameEn : n.name;
}

export function fmtNumber(n: number | null | undefined): string {
  return typeof n === 'number' ? n.toLocaleString('zh-CN') : '-';
}

/** Today as YYYY-MM-DD in the browser's zone: due dates are calendar days. */
export function isPast(date: string | null | undefined): boolean {
  return !!date && date.slice(0, 10) < dayjs().format('YYYY-MM-DD');
}
