import { maskedForConsumer } from '../../../src/dataapi/mask-class.js';
import type { Field, Grant } from '../shared/types.js';

/*
 * The curl commands of a grant's "try it" panel (GrantDocs.tsx), as plain text from the grant, its fields and the
 * platform's address: pure, so a test runs them against a server (test/grant-docs-curl.test.ts). Each names the key
 * `$API_KEY` (it is never shown again after the app's creation) and the grant's purpose id in X-Purpose.
 */

export type CallId = 'get' | 'list' | 'query' | 'verify' | 'export' | 'aggregate';

export function grantCalls(
  grant: Pick<Grant, 'rights' | 'accessMode' | 'purposeId'> & { resource: { code: string } },
  fields: Field[],
  origin: string,
  key: string,
): { id: CallId; cmd: string }[] {
  const base = `${origin}/api/v1/data/${encodeURIComponent(grant.resource.code)}`;
  const h = `-H "X-Api-Key: $API_KEY" -H "X-Purpose: ${grant.purposeId}"`;
  const k = key.trim() || '<KEY>';
  // a filter may name only a field that is not protected at all (src/dataapi/filter.ts maskedForConsumer)
  const filterable = fields.filter((f) => !maskedForConsumer(f));
  const sample = (f: Field) =>
    f.type === 'integer' || f.type === 'decimal'
      ? '0'
      : f.type === 'boolean'
        ? 'true'
        : f.type === 'date'
          ? '"2026-01-01"'
          : '"…"';
  const aggregate = grant.accessMode === 'aggregate';
  const firstPlain = filterable.find((f) => !f.isKey) ?? filterable[0];
  const firstOther = fields.find((f) => !f.isKey) ?? fields[0];
  const dimension = filterable.find((f) => !f.isKey && f.type !== 'decimal' && !f.encrypted);
  const calls: { id: CallId; cmd: string }[] = [];
  if (!aggregate && grant.rights.read) {
    calls.push({ id: 'get', cmd: `curl ${h} "${base}/records/${encodeURIComponent(k)}"` });
    calls.push({ id: 'list', cmd: `curl ${h} "${base}/records?limit=10"` });
    if (firstPlain)
      calls.push({
        id: 'query',
        cmd: `curl ${h} -H 'Content-Type: application/json' -d '{"where":{"${firstPlain.code}":{"eq":${sample(firstPlain)}}}}' "${base}/query"`,
      });
  }
  if (!aggregate && grant.rights.verify)
    calls.push({
      id: 'verify',
      cmd: `curl ${h} -H 'Content-Type: application/json' -d '{"key":"${k}","match":{"${firstOther?.code ?? 'field'}":${firstOther ? sample(firstOther) : '"…"'}}}' "${base}/verify"`,
    });
  if (!aggregate && grant.rights.export)
    calls.push({
      id: 'export',
      // --fail: an HTTP error (a refused key, purpose or quota) ends curl with exit code 22 and its status on stderr,
      // and writes nothing to export.csv; without it the error's JSON became the "CSV" and curl reported success.
      // Not --fail-with-body: curl before 7.76 (CentOS 7, older Kylin) refuses an option it does not know.
      cmd: `curl --fail ${h} -o export.csv "${base}/export?format=csv"`,
    });
  if (aggregate)
    calls.push({
      id: 'aggregate',
      // grouped by a field that may be a dimension (not protected, not decimal: src/dataapi/aggregate.ts), else a total
      cmd: `curl ${h} -H 'Content-Type: application/json' -d '{"measures":[{"fn":"count"}]${dimension ? `,"groupBy":["${dimension.code}"]` : ''}}' "${base}/aggregate"`,
    });
  return calls;
}
