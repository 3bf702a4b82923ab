/*
 * Opening (开放, issue 11): what the public portal may show and hand out. Pure rules, each citing its article.
 *
 * XT Art 27–29 / SY Art 32–34: public data is opened as 无条件开放 (open), 依申请开放 (onApplication; XT 有条件开放)
 * or not opened (closed). Only published catalog entries of the first two kinds exist on the portal; a closed or
 * unpublished entry is "not found" there, never "forbidden" (its existence is not disclosed).
 */

export const PUBLIC_OPEN_TYPES = ['open', 'onApplication'] as const;
export type PublicOpenType = (typeof PUBLIC_OPEN_TYPES)[number];

export interface OpenCandidate {
  status: string;
  open_type: string;
  catalog_level: string;
}

/**
 * Listed on the portal: published, open or on application (XT Art 27, SY Art 33–34), at a catalog level every
 * department sees (DG Art 11: a section-level entry stays inside its department, so it is not published to society).
 */
export function isListedOpen(r: OpenCandidate, visibleLevels: readonly string[]): boolean {
  return (
    r.status === 'published' &&
    (PUBLIC_OPEN_TYPES as readonly string[]).includes(r.open_type) &&
    visibleLevels.includes(r.catalog_level)
  );
}

/**
 * Data (preview, download, API rows) without an application: unconditional open data only (SY Art 33 "无条件开放的
 * 公共数据…通过开放平台直接获取"); on-application data needs an approved application (SY Art 34), not built yet.
 */
export function mayTakeDataWithoutApplication(r: OpenCandidate, visibleLevels: readonly string[]): boolean {
  return isListedOpen(r, visibleLevels) && r.open_type === 'open';
}

/**
 * SY Art 36's priority domains (信用、交通、医疗卫生、就业、社保、教育、环境、气象、市场监管…). A catalog entry's domain is
 * its free-text topic (领域); a priority domain gathers the topics containing one of its words.
 */
export const PRIORITY_DOMAINS = [
  { key: 'credit', words: ['信用'] },
  { key: 'transport', words: ['交通', '运输'] },
  { key: 'health', words: ['卫生', '健康', '医疗'] },
  { key: 'employment', words: ['就业'] },
  { key: 'socialSecurity', words: ['社会保障', '社保'] },
  { key: 'education', words: ['教育'] },
  { key: 'environment', words: ['环境', '生态', '环保'] },
  { key: 'weather', words: ['气象'] },
  { key: 'marketRegulation', words: ['市场监管', '市场监督'] },
] as const;
export type PriorityDomain = (typeof PRIORITY_DOMAINS)[number]['key'];

/** The priority domains a topic belongs to (usually none or one). */
export function domainsOfTopic(topic: string): PriorityDomain[] {
  return PRIORITY_DOMAINS.filter((d) => d.words.some((w) => topic.includes(w))).map((d) => d.key);
}

/** Download formats (SY Art 33: machine-readable). */
export const DOWNLOAD_FORMATS = ['csv', 'csv-gbk', 'xlsx', 'json'] as const;
export type DownloadFormat = (typeof DOWNLOAD_FORMATS)[number];

export const DOWNLOAD_MEDIA: Record<DownloadFormat, { type: string; ext: string }> = {
  csv: { type: 'text/csv; charset=utf-8', ext: 'csv' },
  'csv-gbk': { type: 'text/csv; charset=gbk', ext: 'csv' },
  xlsx: { type: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', ext: 'xlsx' },
  json: { type: 'application/json; charset=utf-8', ext: 'json' },
};

/** Rows a preview shows. */
export const PREVIEW_ROWS = 10;

/**
 * DCAT-AP access rights (EU access-right authority list) for the three open types: 无条件 PUBLIC, 依申请 RESTRICTED,
 * 不予开放 NON_PUBLIC.
 */
export const ACCESS_RIGHTS: Record<string, string> = {
  open: 'http://publications.europa.eu/resource/authority/access-right/PUBLIC',
  onApplication: 'http://publications.europa.eu/resource/authority/access-right/RESTRICTED',
  closed: 'http://publications.europa.eu/resource/authority/access-right/NON_PUBLIC',
};

/** dct:accrualPeriodicity from the update cycle (EU frequency authority list). */
export const FREQUENCIES: Record<string, string> = {
  realtime: 'http://publications.europa.eu/resource/authority/frequency/UPDATE_CONT',
  daily: 'http://publications.europa.eu/resource/authority/frequency/DAILY',
  weekly: 'http://publications.europa.eu/resource/authority/frequency/WEEKLY',
  monthly: 'http://publications.europa.eu/resource/authority/frequency/MONTHLY',
  quarterly: 'http://publications.europa.eu/resource/authority/frequency/QUARTERLY',
  yearly: 'http://publications.europa.eu/resource/authority/frequency/ANNUAL',
  irregular: 'http://publications.europa.eu/resource/authority/frequency/IRREG',
};
