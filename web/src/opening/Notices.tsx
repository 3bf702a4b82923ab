import { Alert, Card, Empty, Space, Table, Tag, Typography } from 'antd';
import { Link } from 'react-router-dom';
import { articleText } from '../../../src/shared/labels.js';
import { api } from '../shared/api.js';
import { ErrorAlert } from '../shared/common.js';
import { fmtDate } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';

/*
 * The portal's public lists (issue 11 points 5–7; server: src/opening/governance.ts): each department's open list
 * (XT Art 28), the basis of every not-open resource where the regulation asks it to be public (SY Art 34), published
 * decisions on misuse (XT Art 33) and approved authorised operations (SY Art 39–40). A list the active regulation does
 * not provide is not shown.
 */

interface Lists {
  article: string | null;
  departments: {
    org: { id: number; name: string };
    items: {
      resource: { id: number; name: string; code: string };
      openType: string;
      conditions: string | null;
    }[];
  }[];
  notOpen: {
    article: string;
    items: { id: number; code: string; name: string; org: { name: string }; basis: string | null }[];
  } | null;
}
interface Violations {
  article?: string;
  items: {
    id: number;
    account: string;
    accountType: string;
    measure: string;
    reason: string;
    until: string | null;
    decidedAt: string;
    status: string;
  }[];
}
interface Operations {
  article?: string;
  items: {
    id: number;
    org: string;
    operatorName: string;
    operatorCode: string;
    resources: string[];
    scope: string;
    termFrom: string;
    termTo: string;
    approvalRef: string | null;
    approvedOn: string | null;
    status: string;
    filings: number;
  }[];
}

export default function Notices() {
  const { t, tEnum, lang, paren } = useI18n();
  const lists = useAsync(() => api<Lists>('/api/open/lists'), []);
  const violations = useAsync(() => api<Violations>('/api/open/violations'), []);
  const operations = useAsync(() => api<Operations>('/api/open/operations'), []);
  const openRows = (lists.data?.departments ?? []).flatMap((d) =>
    d.items.map((i) => ({ key: `${d.org.id}-${i.resource.id}`, org: d.org.name, ...i })),
  );
  return (
    <Space direction="vertical" size={16} style={{ width: '100%' }} data-testid="portal-notices">
      <Typography.Title level={2} style={{ margin: 0, fontSize: 22 }}>
        {t('open.notices.title')}
      </Typography.Title>
      <ErrorAlert error={lists.error ?? violations.error ?? operations.error} />
      <Card title={t('open.notices.openList')} size="small">
        {lists.data && (
          <Typography.Paragraph type="secondary">
            {lists.data.article
              ? t('open.notices.openListNote', { article: articleText(lists.data.article, lang) })
              : t('open.notices.openListPlain')}
          </Typography.Paragraph>
        )}
        <Table
          size="small"
          rowKey="key"
          loading={lists.loading}
          dataSource={openRows}
          pagination={{ pageSize: 20, hideOnSinglePage: true }}
          locale={{ emptyText: <Empty description={t('open.notices.none')} /> }}
          columns={[
            { title: t('open.notices.department'), dataIndex: 'org' },
            {
              title: t('open.notices.dataset'),
              render: (_, r) => <Link to={`/open/dataset/${r.resource.id}`}>{r.resource.name}</Link>,
            },
            { title: t('open.notices.openType'), render: (_, r) => tEnum('openType', r.openType) },
            { title: t('open.notices.conditions'), render: (_, r) => r.conditions ?? '—' },
          ]}
        />
      </Card>
      {lists.data?.notOpen && (
        <Card title={t('open.notices.notOpen')} size="small" data-testid="portal-not-open">
          <Typography.Paragraph type="secondary">
            {t('open.notices.notOpenNote', { article: articleText(lists.data.notOpen.article, lang) })}
          </Typography.Paragraph>
          <Table
            size="small"
            rowKey="id"
            dataSource={lists.data.notOpen.items}
            pagination={{ pageSize: 20, hideOnSinglePage: true }}
            locale={{ emptyText: <Empty description={t('open.notices.none')} /> }}
            columns={[
              { title: t('open.notices.department'), render: (_, r) => r.org.name },
              { title: t('open.notices.dataset'), dataIndex: 'name' },
              {
                title: t('open.notices.basis'),
                render: (_, r) =>
                  r.basis ?? <Typography.Text type="secondary">{t('open.notices.noBasis')}</Typography.Text>,
              },
            ]}
          />
        </Card>
      )}
      {violations.data?.article && (
        <Card title={t('open.notices.violations')} size="small" data-testid="portal-violations">
          <Typography.Paragraph type="secondary">
            {t('open.notices.violationsNote', { article: articleText(violations.data.article, lang) })}
          </Typography.Paragraph>
          <Table
            size="small"
            rowKey="id"
            dataSource={violations.data.items}
            pagination={{ pageSize: 20, hideOnSinglePage: true }}
            locale={{ emptyText: <Empty description={t('open.notices.none')} /> }}
            columns={[
              { title: t('open.notices.decidedAt'), render: (_, r) => fmtDate(r.decidedAt) },
              {
                title: t('open.notices.account'),
                render: (_, r) => `${r.account}${paren(tEnum('openAccountType', r.accountType))}`,
              },
              { title: t('open.notices.measure'), render: (_, r) => tEnum('openMeasure', r.measure) },
              { title: t('open.notices.reason'), dataIndex: 'reason' },
              {
                title: t('open.notices.status'),
                render: (_, r) => (
                  <Tag color={r.status === 'active' ? 'red' : 'default'}>
                    {tEnum('openMeasureStatus', r.status)}
                    {r.until && r.status === 'active'
                      ? ` · ${t('open.notices.until', { date: r.until })}`
                      : ''}
                  </Tag>
                ),
              },
            ]}
          />
        </Card>
      )}
      {operations.data?.article && (
        <Card title={t('open.notices.operations')} size="small" data-testid="portal-operations">
          <Typography.Paragraph type="secondary">
            {t('open.notices.operationsNote', { article: articleText(operations.data.article, lang) })}
          </Typography.Paragraph>
          <Table
            size="small"
            rowKey="id"
            dataSource={operations.data.items}
            pagination={{ pageSize: 20, hideOnSinglePage: true }}
            locale={{ emptyText: <Empty description={t('open.notices.none')} /> }}
            columns={[
              {
                title: t('open.notices.operator'),
                render: (_, r) => `${r.operatorName}${paren(r.operatorCode)}`,
              },
              { title: t('open.notices.department'), dataIndex: 'org' },
              { title: t('open.notices.datasets'), render: (_, r) => r.resources.join(t('punct.list')) },
              { title: t('open.notices.term'), render: (_, r) => `${r.termFrom} ~ ${r.termTo}` },
              {
                title: t('open.notices.approval'),
                render: (_, r) => (r.approvalRef ? `${r.approvalRef}${paren(r.approvedOn)}` : '—'),
              },
              { title: t('open.notices.status'), render: (_, r) => tEnum('openOperationStatus', r.status) },
            ]}
          />
        </Card>
      )}
      {!lists.loading && !lists.data?.notOpen && !violations.data?.article && !operations.data?.article && (
        <Alert type="info" showIcon message={t('open.notices.onlyOpenList')} />
      )}
    </Space>
  );
}
