import { Card, Table, Tag, Typography } from 'antd';
import { Link, useNavigate } from 'react-router-dom';
import { api } from '../shared/api.js';
import { EnumTag, ErrorAlert } from '../shared/common.js';
import { fmtTime } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import type { ReviewItem } from '../shared/types.js';

/** Catalog entries waiting for *my* review (DG Art 11: the level decides who reviews), oldest submission first. */
export default function ReviewInbox() {
  const { t } = useI18n();
  const navigate = useNavigate();
  const inbox = useAsync(() => api<{ items: ReviewItem[] }>('/api/catalog/review-inbox'), []);
  return (
    <Card data-testid="page-review" title={t('review.title')}>
      <Typography.Paragraph type="secondary">{t('review.inboxHint')}</Typography.Paragraph>
      <ErrorAlert error={inbox.error} />
      <Table<ReviewItem>
        data-testid="review-table"
        size="small"
        rowKey={(r) => `${r.resourceId}-${r.versionNo}`}
        loading={inbox.loading}
        dataSource={inbox.data?.items ?? []}
        locale={{ emptyText: t('review.empty') }}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        onRow={(r) => ({ onClick: () => navigate(`/catalog/${r.resourceId}`), style: { cursor: 'pointer' } })}
        columns={[
          {
            title: t('catalog.name'),
            dataIndex: 'name',
            render: (v: string, r) => (
              <Link data-testid={`review-link-${r.code}`} to={`/catalog/${r.resourceId}`}>
                {v}
              </Link>
            ),
          },
          {
            title: t('catalog.code'),
            dataIndex: 'code',
            render: (v: string) => <Typography.Text code>{v}</Typography.Text>,
          },
          {
            title: t('review.kind'),
            render: (_, r) =>
              r.newVersion ? (
                <Tag color="blue">
                  {t('review.newVersion')} · {t('review.version')} {r.versionNo}
                </Tag>
              ) : (
                <Tag>{t('review.newEntry')}</Tag>
              ),
          },
          { title: t('catalog.provider'), render: (_, r) => r.provider.name },
          {
            title: t('catalog.catalogLevel'),
            dataIndex: 'catalogLevel',
            render: (v: string) => <EnumTag kind="catalogLevel" value={v} />,
          },
          {
            title: t('catalog.shareType'),
            dataIndex: 'shareType',
            render: (v: string) => <EnumTag kind="shareType" value={v} />,
          },
          { title: t('review.submittedBy'), render: (_, r) => r.submittedBy?.displayName ?? '-' },
          { title: t('review.submittedAt'), dataIndex: 'submittedAt', render: (v: string) => fmtTime(v) },
        ]}
      />
    </Card>
  );
}
