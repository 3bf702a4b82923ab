import { Descriptions, Drawer, Input, Space, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { fieldClass } from '../../../src/dataapi/mask-class.js';
import { api } from '../shared/api.js';
import { ErrorAlert } from '../shared/common.js';
import { fmtDate, fmtNumber } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { type Key, useI18n } from '../shared/i18n.js';
import type { Field, Grant, Resource } from '../shared/types.js';
import type { GrantUsage } from '../sharing/GrantCalls.js';
import { type CallId, grantCalls } from './grantCalls.js';
import { type ClassRule, maskRuleText } from './Masking.js';

const CALL_TITLES: Record<CallId, Key> = {
  get: 'docs.callGet',
  list: 'docs.callList',
  query: 'docs.callQuery',
  verify: 'docs.callVerify',
  export: 'docs.callExport',
  aggregate: 'docs.callAggregate',
};

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
  const aggregate = grant.accessMode === 'aggregate';
  const calls = grantCalls(grant, fields, window.location.origin, key).map((c) => ({
    ...c,
    title: t(CALL_TITLES[c.id]),
  }));
  // a read grant whose every field is protected has no filtered query to offer
  const noFilter = !aggregate && grant.rights.read && !calls.some((c) => c.id === 'query');
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
        {aggregate ? (
          <Descriptions.Item label={t('docs.epsilonPerDay')} span={2}>
            <span data-testid="grant-docs-epsilon">
              {quota(grant.quota.epsilonPerDay ?? null, defaults?.epsilonPerDay)}
              {' · '}
              {t('docs.epsilonHint')}
            </span>
          </Descriptions.Item>
        ) : null}
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
        {noFilter && !resource.loading ? (
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
            {c.id === 'export' ? (
              <Typography.Text type="secondary" data-testid="grant-docs-export-fail">
                {t('docs.exportFail')}
              </Typography.Text>
            ) : null}
          </div>
        ))}
        <Typography.Text type="secondary">{t('docs.keyNote')}</Typography.Text>
      </Space>
    </Drawer>
  );
}
