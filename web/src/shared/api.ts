import { type Lang, translate } from './i18n.js';
import type { IngestResult } from './types.js';

export interface ErrorDetail {
  row?: number;
  field?: string;
  reason: string;
  /** Chinese wording of the reason, when the server has one */
  reasonZh?: string;
  /** file imports: the sheet, column header and cell text at fault, and the problem's own code */
  sheet?: string;
  column?: string | null;
  value?: string | null;
  code?: string;
}

/** An error body of docs/API.md: `{ code, message, messageEn, details }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly messageEn: string,
    readonly details: ErrorDetail[],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The message to show a user, in the console's language. */
/** The message in the chosen language, followed by the first reasons unless the caller lists details itself. */
export function errorText(err: unknown, lang: Lang, withDetails = true): string {
  if (err instanceof ApiError) {
    const head = (lang === 'en' ? err.messageEn || err.message : err.message) || err.code;
    if (!withDetails || !err.details?.length) return head;
    const reasons = err.details.slice(0, 3).map((d) => (lang === 'zh' && d.reasonZh ? d.reasonZh : d.reason));
    return `${head}${translate(lang, 'punct.colon')}${reasons.join(translate(lang, 'punct.semicolon'))}`;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

let onUnauthenticated: () => void = () => {};

/** Called when a console call answers 401 UNAUTHENTICATED (the session ended). */
export function setUnauthenticatedHandler(fn: () => void): void {
  onUnauthenticated = fn;
}

export function toApiError(status: number, body: unknown, fallback: string): ApiError {
  const b = (body ?? {}) as Partial<{
    code: string;
    message: string;
    messageEn: string;
    details: ErrorDetail[];
  }>;
  return new ApiError(
    status,
    b.code ?? `HTTP_${status}`,
    b.message ?? fallback,
    b.messageEn ?? b.message ?? fallback,
    Array.isArray(b.details) ? b.details : [],
  );
}

type Scalar = string | number | boolean | null | undefined;
type Query = Record<string, Scalar | ReadonlyArray<string | number>>;

/** Builds `path?query`; an array value repeats its parameter (`provider=1&provider=2`), empty values are left out. */
export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (Array.isArray(v)) for (const x of v) qs.append(k, String(x));
    else if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  }
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

export interface CallOptions {
  method?: string;
  body?: unknown;
  query?: Query;
}

export async function api<T>(path: string, opts: CallOptions = {}): Promise<T> {
  const init: RequestInit = {
    method: opts.method ?? (opts.body === undefined ? 'GET' : 'POST'),
    credentials: 'same-origin',
  };
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  init.headers = headers;
  const res = await fetch(withQuery(path, opts.query), init);
  const text = await res.text();
  let body: unknown = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = { message: text };
    }
  }
  if (!res.ok) {
    const err = toApiError(res.status, body, res.statusText);
    if (res.status === 401 && err.code === 'UNAUTHENTICATED') onUnauthenticated();
    throw err;
  }
  return body as T;
}

export const post = <T>(path: string, body: unknown = {}) => api<T>(path, { method: 'POST', body });

/**
 * Sends a file's bytes unchanged with XHR (so the console can show upload progress) and answers the JSON body.
 */
export function uploadFile<T>(
  path: string,
  contentType: string,
  file: Blob,
  onProgress: (percent: number) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.setRequestHeader('Content-Type', contentType);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.withCredentials = true;
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(Math.round((e.loaded / e.total) * 100));
    };
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        body = { message: xhr.responseText };
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(100);
        resolve(body as T);
      } else {
        const err = toApiError(xhr.status, body, xhr.statusText);
        if (xhr.status === 401 && err.code === 'UNAUTHENTICATED') onUnauthenticated();
        reject(err);
      }
    };
    xhr.onerror = () => reject(new ApiError(0, 'NETWORK', '网络错误', 'Network error', []));
    xhr.send(file);
  });
}

/** Uploads a CSV's bytes unchanged (the server detects UTF-8 or GBK). */
export function uploadCsv(
  resourceId: number,
  filename: string,
  file: Blob,
  onProgress: (percent: number) => void,
): Promise<IngestResult> {
  return uploadFile(
    withQuery(`/api/ingest/resources/${resourceId}/csv`, { filename }),
    'text/csv',
    file,
    onProgress,
  );
}

/** POSTs JSON and saves the file the server answers (e.g. an error report workbook) under `filename`. */
export async function downloadPost(path: string, body: unknown, filename: string): Promise<void> {
  const res = await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) {
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { message: text };
    }
    throw toApiError(res.status, parsed, res.statusText);
  }
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
