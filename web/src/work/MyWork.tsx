import { Card, Empty, List, Space, Tag, Typography } from 'antd';
import { useNavigate } from 'react-router-dom';
import type { WorkItem } from '../../../src/work/service.js';
import { api } from '../shared/api.js';
import { ErrorAlert } from '../shared/common.js';
import { fmtDate } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { type Key, useI18n } from '../shared/i18n.js';

interface Work {
  today: string;
  items: WorkItem[];
  inventories: Record<string, number> | null;
}

const INVENTORY_LINKS: { key: string; label: Key; to: string }[] = [
  { key: 'negativePending', label: 'inbox.negativePending', to: '/negative-list' },
  { key: 'dutiesOverdue', label: 'inbox.dutiesOverdue', to: '/duties' },
  { key: 'systemsNotReady', label: 'inbox.systemsNotReady', to: '/systems' },
  { key: 'demandsToConfirm', label: 'inbox.demandsToConfirm', to: '/double-lists' },
  { key: 'demandsUnmatched', label: 'inbox.demandsUnmatched', to: '/double-lists' },
  { key: 'openPending', label: 'inbox.openPending', to: '/open-list' },
];

/** The home page's first card: what waits for me, due when, and how many working days are left (GET /api/work). */
/** Where each kind of work item opens, and its colour. */
const WORK_LINK: Record<WorkItem['kind'], (id: number) => string> = {
  shareRequest: (id) => `/requests?box=incoming&open=${id}`,
  catalogReview: (id) => `/catalog/${id}`,
  objection: (id) => `/objections?box=all&status=open&open=${id}`,
  rectification: (id) => `/rectifications?open=${id}`,
  dispute: (id) => `/sharing-cases?tab=disputes&open=${id}`,
  openApplication: (id) => `/open-applications?open=${id}`,
  openOperation: (id) => `/open-governance?tab=operations&operation=${id}`,
  openReevaluation: () => '/open-governance?tab=reevaluation',
  shareReevaluation: (id) => `/sharing-cases?tab=reevaluation&resource=${id}`,
  openReview: (id) => `/open-applications?open=${id}`,
};
const WORK_COLOR: Record<WorkItem['kind'], string> = {
  shareRequest: 'blue',
  catalogReview: 'purple',
  objection: 'orange',
  rectification: 'red',
  dispute: 'magenta',
  openApplication: 'cyan',
  openOperation: 'geekblue',
  openReevaluation: 'lime',
  shareReevaluation: 'gold',
  openReview: 'geekblue',
};

export default function MyWork() {
  const { t, lang } = useI18n();
  const navigate = useNavigate();
  const work = useAsync(() => api<Work>('/api/work'), []);
  const due = (w: WorkItem) => {
    if (w.overdue)
      return (
        <Tag color="error" data-testid={`work-overdue-${w.kind}-${w.id}`}>
          {t('work.overdue', { n: w.workdaysOverdue ?? 0 })}
        </Tag>
      );
    if (w.workdaysLeft === 0) return <Tag color="warning">{t('work.dueToday')}</Tag>;
    if (w.workdaysLeft !== null)
      return (
        <Tag color={w.workdaysLeft <= 2 ? 'warning' : 'processing'}>
          {t('work.left', { n: w.workdaysLeft })}
        </Tag>
      );
    return null;
  };
  const counts = INVENTORY_LINKS.filter((l) => (work.data?.inventories?.[l.key] ?? 0) > 0);
  return (
    <Card
      data-testid="my-work"
      title={t('work.title')}
      style={{ marginBottom: 16 }}
      loading={work.loading && !work.data}
      extra={
        work.data ? (
          <Typography.Text type="secondary">{t('work.count', { n: work.data.items.length })}</Typography.Text>
        ) : null
      }
    >
      <ErrorAlert error={work.error} />
      {work.data && work.data.items.length === 0 && counts.length === 0 ? (
        <Empty description={t('work.empty')} />
      ) : work.data && work.data.items.length === 0 ? null : (
        // only the list-wide reminders below: no bare "暂无数据" list above them
        <List<WorkItem>
          size="small"
          dataSource={work.data?.items.slice(0, 8) ?? []}
          renderItem={(w) => (
            <List.Item
              data-testid={`work-${w.kind}-${w.id}`}
              style={{ cursor: 'pointer' }}
              onClick={() => navigate(WORK_LINK[w.kind](w.id))}
            >
              <Space wrap>
                <Tag color={WORK_COLOR[w.kind]}>{t(`work.kind.${w.kind}`)}</Tag>
                <Typography.Text strong>{w.title}</Typography.Text>
                <Typography.Text type="secondary">{w.party}</Typography.Text>
                {w.stepZh ? (
                  <Typography.Text type="secondary">{lang === 'en' ? w.stepEn : w.stepZh}</Typography.Text>
                ) : null}
              </Space>
              <Space>
                {w.dueDate ? (
                  <Typography.Text type="secondary">
                    {t('work.due', { date: fmtDate(w.dueDate) })}
                    {w.dueDateProvisional ? ` ${t('req.provisional')}` : ''}
                  </Typography.Text>
                ) : w.since ? (
                  <Typography.Text type="secondary">
                    {t('work.since', { date: fmtDate(w.since) })}
                  </Typography.Text>
                ) : null}
                {due(w)}
              </Space>
            </List.Item>
          )}
        />
      )}
      {counts.length ? (
        <Space wrap style={{ marginTop: 8 }} data-testid="work-inventories">
          {counts.map((l) => (
            <Tag key={l.key} color="gold" style={{ cursor: 'pointer' }} onClick={() => navigate(l.to)}>
              {t(l.label, { n: work.data?.inventories?.[l.key] ?? 0 })}
            </Tag>
          ))}
        </Space>
      ) : null}
    </Card>
  );
}
