import { Descriptions, Drawer, Input, Space, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { api } from '../shared/api.js';
import { ErrorAlert } from '../shared/common.js';
import { fmtDate } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import type { Field, Grant, Resource } from '../shared/types.js';

/**
 * The consumer's API documentation for one grant (issue 9 point 9): its endpoints (by the grant's rights), its fields with
 * their Chinese names and whether they leave masked or in clear, its quotas, and a "try it" panel that builds the curl
 * command of each call with the headers the grant needs (X-Api-Key, X-Purpose = the grant's purpose id). The key itself is
 * never shown again after the app's creation: the command names it `$API_KEY`.
 */
export default function GrantDocs({ grant, onClose }: { grant: Grant | null; onClose: () => void }) {
  const { t } = useI18n();
  const [key, setKey] = useState('');
  const resource = useAsync(
    () => (grant ? api<Resource>(`/api/catalog/resources/${grant.resource.id}`) : Promise.resolve(null)),
    [grant?.id],
  );
  if (!grant) return null;
  const base = `${window.location.origin}/api/v1/data/${encodeURIComponent(grant.resource.code)}`;
  const h = `-H "X-Api-Key: $API_KEY" -H "X-Purpose: ${grant.purposeId}"`;
  const k = key.trim() || '<KEY>';
  const fields: Field[] = (resource.data?.fields ?? []).filter((f) => grant.fields.includes(f.code));
  const masked = (f: Field) =>
    (f.personal || f.sensitive || f.masking !== 'none') && !grant.clearFields.includes(f.code);
  const aggregate = grant.accessMode === 'aggregate';
  const firstPlain = fields.find((f) => !masked(f) && !f.isKey)?.code ?? fields[0]?.code ?? 'field';
  const calls: { id: string; title: string; cmd: string }[] = [];
  if (!aggregate && grant.rights.read) {
    calls.push({
      id: 'get',
      title: t('docs.callGet'),
      cmd: `curl ${h} "${base}/records/${encodeURIComponent(k)}"`,
    });
    calls.push({ id: 'list', title: t('docs.callList'), cmd: `curl ${h} "${base}/records?limit=10"` });
    calls.push({
      id: 'query',
      title: t('docs.callQuery'),
      cmd: `curl ${h} -H 'Content-Type: application/json' -d '{"where":{"${firstPlain}":{"eq":"…"}}}' "${base}/query"`,
    });
  }
  if (!aggregate && grant.rights.verify)
    calls.push({
      id: 'verify',
      title: t('docs.callVerify'),
      cmd: `curl ${h} -H 'Content-Type: application/json' -d '{"key":"${k}","match":{"${firstPlain}":"…"}}' "${base}/verify"`,
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
      cmd: `curl ${h} -H 'Content-Type: application/json' -d '{"measures":[{"fn":"count"}],"groupBy":["${firstPlain}"]}' "${base}/aggregate"`,
    });
  const quota = (v: number | null) => (v === null ? t('docs.platformDefault') : String(v));
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
        <Descriptions.Item label={t('docs.callsPerDay')}>{quota(grant.quota.callsPerDay)}</Descriptions.Item>
        <Descriptions.Item label={t('docs.rowsPerCall')}>{quota(grant.quota.rowsPerCall)}</Descriptions.Item>
        <Descriptions.Item label={t('docs.verificationsPerDay')}>
          {quota(grant.quota.verificationsPerDay)}
        </Descriptions.Item>
        <Descriptions.Item label={t('docs.exportRowsPerDay')}>
          {quota(grant.quota.exportRowsPerDay)}
        </Descriptions.Item>
      </Descriptions>
      <Typography.Title level={5} style={{ marginTop: 16 }}>
        {t('docs.fields')}
      </Typography.Title>
      <Table<Field>
        size="small"
        rowKey="code"
        pagination={false}
        loading={resource.loading}
        dataSource={fields}
        data-testid="grant-docs-fields"
        columns={[
          { title: t('docs.fieldCode'), render: (_, f) => <Typography.Text code>{f.code}</Typography.Text> },
          { title: t('docs.fieldName'), dataIndex: 'name' },
          {
            title: t('docs.fieldMask'),
            render: (_, f) =>
              masked(f) ? (
                <Tag color="orange">{t('docs.masked')}</Tag>
              ) : (
                <Tag color="green">{t('docs.clear')}</Tag>
              ),
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
