import { Alert, App, Button, Card, DatePicker, Descriptions, Space, Table, Tag, Typography } from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useState } from 'react';
import { api, errorText } from '../shared/api.js';
import { ErrorAlert } from '../shared/common.js';
import { fmtNumber, fmtTime } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';

interface Archive {
  id: number;
  until: string;
  periodFrom: string | null;
  fromSeq: number;
  toSeq: number;
  blocks: number;
  records: number;
  lastBlockHash: string;
  fileName: string;
  fileSha256: string;
  fileBytes: number;
  via: 'cli' | 'api';
  createdByName: string | null;
  createdAt: string;
  chain: 'linked' | 'gap' | 'mismatch';
  inDatabase: boolean;
}

interface Archives {
  retentionMonths: number;
  archives: Archive[];
  partitions: { name: string; from: string | null; to: string | null }[];
}

/** A file size in words a person reads: 12.3 MB, 512 KB. */
function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}

/**
 * The auditor's archives of the sealed audit log (issue 10 point 12): each archive's period, blocks and records, file,
 * who made it and when, and its place in the chain; a new archive up to a chosen moment; the file to download
 * (archives made on the command line stay where the command wrote them).
 */
export default function Archives() {
  const { t, tEnum, lang } = useI18n();
  const { message } = App.useApp();
  const list = useAsync(() => api<Archives>('/api/audit/archives'), []);
  const [until, setUntil] = useState<Dayjs | null>(dayjs().startOf('day'));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const create = async () => {
    if (!until) return;
    setBusy(true);
    setError(null);
    try {
      const s = await api<{ records: number; blocks: number }>('/api/audit/archives', {
        body: { until: until.toISOString() },
      });
      message.success(t('archive.created', { records: fmtNumber(s.records), blocks: fmtNumber(s.blocks) }));
      list.reload();
    } catch (e) {
      setError(errorText(e, lang));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div data-testid="page-audit-archives">
      <Card title={t('archive.title')}>
        <Typography.Paragraph type="secondary">{t('archive.intro')}</Typography.Paragraph>
        <Space wrap style={{ marginBottom: 12 }}>
          <span>{t('archive.until')}</span>
          <DatePicker
            data-testid="archive-until"
            showTime
            value={until}
            onChange={(v) => setUntil(v)}
            disabledDate={(d) => d.isAfter(dayjs())}
          />
          <Button
            type="primary"
            data-testid="archive-create"
            loading={busy}
            disabled={!until}
            onClick={create}
          >
            {t('archive.create')}
          </Button>
        </Space>
        {error && (
          <Alert
            data-testid="archive-error"
            type="error"
            showIcon
            title={error}
            closable
            onClose={() => setError(null)}
            style={{ marginBottom: 12 }}
          />
        )}
        <ErrorAlert error={list.error} />
        {list.data && (
          <Descriptions size="small" column={{ xs: 1, md: 2 }} style={{ marginBottom: 12 }}>
            <Descriptions.Item label={t('archive.retention')}>
              {list.data.retentionMonths > 0
                ? t('archive.retentionMonths', { n: list.data.retentionMonths })
                : t('archive.retentionNone')}
            </Descriptions.Item>
            <Descriptions.Item label={t('archive.partitions')}>
              {fmtNumber(list.data.partitions.length)}
            </Descriptions.Item>
          </Descriptions>
        )}
        <Table<Archive>
          data-testid="archive-table"
          rowKey="id"
          size="small"
          loading={list.loading}
          dataSource={list.data?.archives ?? []}
          pagination={{ pageSize: 20, hideOnSinglePage: true }}
          scroll={{ x: 'max-content' }}
          locale={{ emptyText: t('archive.none') }}
          columns={[
            {
              title: t('archive.period'),
              key: 'period',
              render: (_: unknown, a) =>
                `${a.periodFrom ? fmtTime(a.periodFrom) : t('archive.fromStart')} — ${fmtTime(a.until)}`,
            },
            {
              title: t('archive.blocks'),
              key: 'blocks',
              render: (_: unknown, a) =>
                t('archive.blockRange', { n: fmtNumber(a.blocks), from: a.fromSeq, to: a.toSeq }),
            },
            { title: t('archive.records'), dataIndex: 'records', render: (n: number) => fmtNumber(n) },
            { title: t('archive.fileSize'), dataIndex: 'fileBytes', render: (n: number) => fmtBytes(n) },
            {
              title: t('archive.createdBy'),
              key: 'created',
              render: (_: unknown, a) => (
                <>
                  {a.createdByName ?? tEnum('archiveVia', a.via)}
                  <br />
                  <Typography.Text type="secondary">{fmtTime(a.createdAt)}</Typography.Text>
                </>
              ),
            },
            {
              title: t('archive.chain'),
              key: 'chain',
              render: (_: unknown, a) => (
                <Space size={4} wrap>
                  <Tag color={a.chain === 'linked' ? 'green' : 'red'}>{tEnum('archiveChain', a.chain)}</Tag>
                  <Tag>{a.inDatabase ? t('archive.inDatabase') : t('archive.dropped')}</Tag>
                </Space>
              ),
            },
            {
              title: t('archive.file'),
              key: 'file',
              render: (_: unknown, a) =>
                a.via === 'api' ? (
                  <Button
                    size="small"
                    data-testid="archive-download"
                    href={`/api/audit/archives/${a.id}/file`}
                    download={a.fileName}
                  >
                    {t('archive.download')}
                  </Button>
                ) : (
                  <Typography.Text type="secondary">{t('archive.cliFile')}</Typography.Text>
                ),
            },
          ]}
        />
      </Card>
    </div>
  );
}
