import { App as AntApp, Button, Card, Popconfirm, Table, Tag, Typography } from 'antd';
import { api, errorText, post } from '../shared/api.js';
import { hasRole, useAuth } from '../shared/auth.js';
import { EnumTag, ErrorAlert } from '../shared/common.js';
import { fmtDate } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import type { Grant } from '../shared/types.js';

export default function Grants() {
  const { t, lang } = useI18n();
  const { me } = useAuth();
  const { message } = AntApp.useApp();
  const grants = useAsync(() => api<Grant[]>('/api/sharing/grants'), []);

  // The grants a user sees are their org's as consumer or as provider; a provider's data officer may revoke.
  const canRevoke = (g: Grant) =>
    g.status === 'active' &&
    (hasRole(me, 'platform_admin') || (hasRole(me, 'data_officer') && me?.user.org.id !== g.consumerOrg.id));

  async function revoke(g: Grant) {
    try {
      await post(`/api/sharing/grants/${g.id}/revoke`);
      message.success(t('grant.revoked'));
      grants.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  }

  return (
    <Card data-testid="page-grants" title={t('grant.title')}>
      <ErrorAlert error={grants.error} />
      <Table<Grant>
        data-testid="grants-table"
        rowKey="id"
        size="middle"
        loading={grants.loading}
        dataSource={grants.data ?? []}
        pagination={{ pageSize: 20, hideOnSinglePage: true, showTotal: (n) => t('common.total', { n }) }}
        columns={[
          {
            title: t('grant.resource'),
            render: (_, g) => (
              <span>
                {g.resource.name}
                <br />
                <Typography.Text type="secondary" code>
                  {g.resource.code}
                </Typography.Text>
              </span>
            ),
          },
          { title: t('grant.consumer'), render: (_, g) => g.consumerOrg.name },
          { title: t('grant.app'), render: (_, g) => g.app.name },
          {
            title: t('grant.fields'),
            render: (_, g) => (g.fieldNames ?? g.fields).map((f) => <Tag key={f}>{f}</Tag>),
          },
          {
            title: t('grant.purpose'),
            render: (_, g) => (
              <span>
                <Typography.Paragraph ellipsis={{ rows: 2 }} style={{ marginBottom: 4 }}>
                  {g.purpose}
                </Typography.Paragraph>
                <Typography.Text type="secondary">{t('grant.purposeId')}：</Typography.Text>
                <Typography.Text code copyable data-testid={`grant-purpose-id-${g.id}`}>
                  {g.purposeId}
                </Typography.Text>
              </span>
            ),
          },
          {
            title: t('grant.rights'),
            render: (_, g) => (
              <span>
                {g.rights.read && <Tag>{t('grant.rightRead')}</Tag>}
                {g.rights.verify && <Tag color="blue">{t('grant.rightVerify')}</Tag>}
              </span>
            ),
          },
          {
            title: t('grant.validity'),
            render: (_, g) => `${fmtDate(g.validFrom)} ~ ${fmtDate(g.validUntil)}`,
          },
          {
            title: t('quota.title'),
            render: (_, g) => (
              <span data-testid={`grant-quota-${g.id}`}>
                {t('quota.callsPerDay')}：{g.quota.callsPerDay?.toLocaleString() ?? t('quota.default')}
                <br />
                {t('quota.rowsPerCall')}：{g.quota.rowsPerCall?.toLocaleString() ?? t('quota.default')}
                {g.rights.verify && (
                  <>
                    <br />
                    {t('quota.verificationsPerDay')}：
                    {g.quota.verificationsPerDay?.toLocaleString() ?? t('quota.default')}
                  </>
                )}
              </span>
            ),
          },
          {
            title: t('common.status'),
            dataIndex: 'status',
            render: (v: string) => <EnumTag kind="grantStatus" value={v} />,
          },
          {
            title: t('common.actions'),
            render: (_, g) =>
              canRevoke(g) ? (
                <Popconfirm title={t('common.confirmRevoke')} onConfirm={() => revoke(g)}>
                  <Button data-testid={`grant-revoke-${g.id}`} size="small" danger>
                    {t('common.revoke')}
                  </Button>
                </Popconfirm>
              ) : null,
          },
        ]}
      />
    </Card>
  );
}
