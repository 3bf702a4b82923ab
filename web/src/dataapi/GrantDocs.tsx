import { Descriptions, Drawer, Input, Space, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { fieldClass } from '../../../src/dataapi/mask-class.js';
import { api } from '../shared/api.js';
import { ErrorAlert } from '../shared/common.js';
import { fmtDate, fmtNumber } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import type { Field, Grant, Resource } from '../shared/types.js';
import type { GrantUsage } from '../sharing/GrantCalls.js';
import { type ClassRule, maskRuleText } from './Masking.js';

/**
 * The consumer's API documentation for one grant (issue 9 point 9): its endpoints (by the grant's rights), its fields with
 * their Chinese names and whether they leave masked or in clear, its quotas, and a "try it" panel that builds the curl
 * command of each call with the headers the grant needs (X-Api-Key, X-Purpose = the grant's purpose id). The key itself is
 * never shown again after the app's creation: the command names it `$API_KEY`.
 */
export default function GrantDocs({
  grant,
  defaults,
  onClose,
}: {
  grant: Grant | null;
  /** the platform's quotas for a grant that sets none of its own (GET /api/usage/grants) */
  defaults?: GrantUsage['quotaDefaults'];
  onClose: () => void;
}) {
  const { t, tEnum, paren } = useI18n();
  const [key, setKey] = useState('');
  const resource = useAsync(
    () => (grant ? api<Resource>(`/api/catalog/resources/${grant.resource.id}`) : Promise.resolve(null)),
    [grant?.id],
  );
  // the rules in force by field class: what each granted field is returned as
  const classes = useAsync(() => api<ClassRule[]>('/api/masking/classes'), []);
  if (!grant) return null;
  const base = `${window.location.origin}/api/v1/data/${encodeURIComponent(grant.resource.code)}`;
  const h = `-H "X-Api-Key: $API_KEY" -H "X-Purpose: ${grant.purposeId}"`;
  const k = key.trim() || '<KEY>';
  const fields: Field[] = (resource.data?.fields ?? []).filter((f) => grant.fields.includes(f.code));
  // as the data API shapes a record (src/dataapi/masking.ts recordMasker): a field of no class, or in the grant's
  // clear-value right, leaves in clear; otherwise its class's rule in force, and a personal date beside an ID number
  // that shows some of its digits leaves as ****-**-** (those digits are the birth date)
  const clear = (f: Field) => fieldClass(f) === null || grant.clearFields.includes(f.code);
  const ruleOf = (f: Field) => classes.data?.find((c) => c.fieldClass === fieldClass(f))?.rule;
  const idShown =
    classes.data?.find((c) => c.fieldClass === 'idNumber')?.rule.strategy === 'keepEnds' &&
    fields.some((f) => fieldClass(f) === 'idNumber' && !clear(f));
  const returned = (f: Field): { clear: boolean; how?: string } => {
    const rule = ruleOf(f);
    if (clear(f) || rule?.strategy === 'keep') return { clear: true };
    if (!rule) return { clear: false };
    if (
      fieldClass(f) === 'personalDate' &&
      idShown &&
      rule.strategy !== 'hash' &&
      rule.strategy !== 'suppress'
    )
      return { clear: false, how: t('docs.dateBesideId') };
    return { clear: false, how: maskRuleText(rule, { t, tEnum, paren }) };
  };
  // a filter may name only a field that is not protected at all (src/dataapi/filter.ts maskedForConsumer)
  const filterable = fields.filter((f) => !(f.personal || f.sensitive || f.masking !== 'none'));
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
  const calls: { id: string; title: string; cmd: string }[] = [];
  if (!aggregate && grant.rights.read) {
    calls.push({
      id: 'get',
      title: t('docs.callGet'),
      cmd: `curl ${h} "${base}/records/${encodeURIComponent(k)}"`,
    });
    calls.push({ id: 'list', title: t('docs.callList'), cmd: `curl ${h} "${base}/records?limit=10"` });
    if (firstPlain)
      calls.push({
        id: 'query',
        title: t('docs.callQuery'),
        cmd: `curl ${h} -H 'Content-Type: application/json' -d '{"where":{"${firstPlain.code}":{"eq":${sample(firstPlain)}}}}' "${base}/query"`,
      });
  }
  if (!aggregate && grant.rights.verify)
    calls.push({
      id: 'verify',
      title: t('docs.callVerify'),
      cmd: `curl ${h} -H 'Content-Type: application/json' -d '{"key":"${k}","match":{"${firstOther?.code ?? 'field'}":${firstOther ? sample(firstOther) : '"…"'}}}' "${base}/verify"`,
    });
  if (!aggregate && grant.rights.export)
    calls.push({
      id: 'export',
      title: t('docs.callExport'),
      cmd: `curl ${h} -o export.csv "${base}/export?format=csv"`,
    });
  if (aggregate)
    calls.push({
      id: 'aggregate',
      title: t('docs.callAggregate'),
      // grouped by a field that may be a dimension (not protected, not decimal: src/dataapi/aggregate.ts), else a total
      cmd: `curl ${h} -H 'Content-Type: application/json' -d '{"measures":[{"fn":"count"}]${dimension ? `,"groupBy":["${dimension.code}"]` : ''}}' "${base}/aggregate"`,
    });
  const quota = (v: number | null, fallback: number | undefined) =>
    v !== null
      ? fmtNumber(v)
      : fallback !== undefined
        ? `${fmtNumber(fallback)}${paren(t('docs.platformDefault'))}`
        : t('docs.platformDefault');
  return (
    <Drawer
      open
      width={820}
      onClose={onClose}
      title={t('docs.title', { resource: grant.resource.name })}
      data-testid="grant-docs"
    >
      <ErrorAlert error={resource.error} />
      <Descriptions size="small" column={2} bordered>
        <Descriptions.Item label={t('grant.app')}>{grant.app.name}</Descriptions.Item>
        <Descriptions.Item label={t('docs.validity')}>
          {`${fmtDate(grant.validFrom)} ~ ${fmtDate(grant.validUntil)}`}
        </Descriptions.Item>
        <Descriptions.Item label={t('docs.purposeHeader')} span={2}>
          <Typography.Text code copyable data-testid="grant-docs-purpose">
            {grant.purposeId}
          </Typography.Text>{' '}
          {grant.purpose}
        </Descriptions.Item>
        <Descriptions.Item label={t('docs.callsPerDay')}>
          {quota(grant.quota.callsPerDay, defaults?.callsPerDay)}
        </Descriptions.Item>
        <Descriptions.Item label={t('docs.rowsPerCall')}>
          {quota(grant.quota.rowsPerCall, defaults?.rowsPerCall)}
        </Descriptions.Item>
        <Descriptions.Item label={t('docs.verificationsPerDay')}>
          {quota(grant.quota.verificationsPerDay, defaults?.verificationsPerDay)}
        </Descriptions.Item>
        <Descriptions.Item label={t('docs.exportRowsPerDay')}>
          {quota(grant.quota.exportRowsPerDay, defaults?.exportRowsPerDay)}
        </Descriptions.Item>
      </Descriptions>
      <Typography.Title level={5} style={{ marginTop: 16 }}>
        {t('docs.fields')}
      </Typography.Title>
      <Table<Field>
        size="small"
        rowKey="code"
        pagination={false}
        loading={resource.loading || classes.loading}
        dataSource={fields}
        data-testid="grant-docs-fields"
        columns={[
          { title: t('docs.fieldCode'), render: (_, f) => <Typography.Text code>{f.code}</Typography.Text> },
          { title: t('docs.fieldName'), dataIndex: 'name' },
          {
            title: t('docs.fieldMask'),
            render: (_, f) => {
              const r = returned(f);
              return r.clear ? (
                <Tag color="green" data-testid={`grant-docs-clear-${f.code}`}>
                  {t('docs.clear')}
                </Tag>
              ) : (
                <span data-testid={`grant-docs-masked-${f.code}`}>
                  <Tag color="orange">{t('docs.masked')}</Tag>
                  {r.how ? <Typography.Text type="secondary">{r.how}</Typography.Text> : null}
                </span>
              );
            },
          },
        ]}
      />
      <Typography.Title level={5} style={{ marginTop: 16 }}>
        {t('docs.tryIt')}
      </Typography.Title>
      <Space direction="vertical" style={{ width: '100%' }}>
        <Input
          data-testid="grant-docs-key"
          placeholder={t('docs.keyPlaceholder')}
          value={key}
          maxLength={100}
          onChange={(e) => setKey(e.target.value)}
        />
        {calls.length === 0 ? <Typography.Text type="secondary">{t('docs.noCalls')}</Typography.Text> : null}
        {!aggregate && grant.rights.read && !firstPlain && !resource.loading ? (
          <Typography.Text type="secondary" data-testid="grant-docs-no-filter">
            {t('docs.noFilter')}
          </Typography.Text>
        ) : null}
        {calls.map((c) => (
          <div key={c.id} data-testid={`grant-docs-call-${c.id}`}>
            <Typography.Text strong>{c.title}</Typography.Text>
            <Typography.Paragraph copyable={{ text: c.cmd }} code style={{ whiteSpace: 'pre-wrap' }}>
              {c.cmd}
            </Typography.Paragraph>
          </div>
        ))}
        <Typography.Text type="secondary">{t('docs.keyNote')}</Typography.Text>
      </Space>
    </Drawer>
  );
}
