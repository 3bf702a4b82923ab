import { SafetyCertificateOutlined } from '@ant-design/icons';
import {
  Alert,
  Button,
  Card,
  Descriptions,
  InputNumber,
  Space,
  Statistic,
  Table,
  Tag,
  Typography,
} from 'antd';
import { useState } from 'react';
import type { SealStatus, VerifyReport } from '../../../src/audit/seal.js';
import { api, errorText } from '../shared/api.js';
import { ErrorAlert } from '../shared/common.js';
import { fmtTime } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';

type Status = Omit<SealStatus, 'lastSealedAt' | 'keys'> & {
  lastSealedAt: string | null;
  keys: { keyId: string; node: string; createdAt: string }[];
};

/**
 * The auditor's integrity check of the sealed audit chain (issue 10 point 1): how much is sealed, which keys sign,
 * and a verification of any block range that names each altered, removed or inserted record.
 */
export default function Integrity() {
  const { t, tEnum, lang } = useI18n();
  const status = useAsync(() => api<Status>('/api/audit/seal'), []);
  const [fromSeq, setFromSeq] = useState<number | null>(null);
  const [toSeq, setToSeq] = useState<number | null>(null);
  const [report, setReport] = useState<VerifyReport | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const s = status.data;

  const verify = async () => {
    setBusy(true);
    setError(null);
    try {
      setReport(
        await api<VerifyReport>('/api/audit/verify', {
          body: { ...(fromSeq ? { fromSeq } : {}), ...(toSeq ? { toSeq } : {}) },
        }),
      );
    } catch (e) {
      setError(errorText(e, lang));
    } finally {
      setBusy(false);
    }
  };
  const exportFrom = fromSeq ?? 1;
  const exportTo = toSeq ?? s?.lastSeq ?? 1;

  return (
    <Card
      data-testid="audit-integrity"
      title={
        <Space>
          <SafetyCertificateOutlined />
          {t('seal.title')}
        </Space>
      }
      style={{ marginBottom: 16 }}
    >
      <ErrorAlert error={status.error} />
      {s && (
        <>
          <Space size="large" wrap style={{ marginBottom: 12 }}>
            <Statistic title={t('seal.blocks')} value={s.blocks} />
            <Statistic title={t('seal.sealedRecords')} value={s.sealedRecords} />
            <Statistic title={t('seal.pendingRecords')} value={s.pendingRecords} />
          </Space>
          <Descriptions size="small" column={{ xs: 1, md: 2 }} style={{ marginBottom: 12 }}>
            <Descriptions.Item label={t('seal.lastSealedAt')}>
              {s.lastSealedAt ? fmtTime(s.lastSealedAt) : t('seal.never')}
            </Descriptions.Item>
            <Descriptions.Item label={t('seal.hashAlg')}>{tEnum('hashAlg', s.hashAlg)}</Descriptions.Item>
            <Descriptions.Item label={t('seal.lastBlockHash')}>
              <Typography.Text code copyable={!!s.lastBlockHash}>
                {s.lastBlockHash ? `${s.lastBlockHash.slice(0, 16)}…` : '—'}
              </Typography.Text>
            </Descriptions.Item>
            <Descriptions.Item label={t('seal.keys')}>
              <Space wrap>
                {s.keys.map((k) => (
                  <Tag key={k.keyId}>
                    {k.node} · <Typography.Text copyable>{k.keyId}</Typography.Text>
                  </Tag>
                ))}
              </Space>
            </Descriptions.Item>
          </Descriptions>
        </>
      )}
      <Space wrap>
        <span>{t('seal.range')}</span>
        <InputNumber
          data-testid="seal-from"
          min={1}
          placeholder={t('seal.fromSeq')}
          value={fromSeq}
          onChange={(v) => setFromSeq(v)}
        />
        <span>—</span>
        <InputNumber
          data-testid="seal-to"
          min={1}
          placeholder={t('seal.toSeq')}
          value={toSeq}
          onChange={(v) => setToSeq(v)}
        />
        <Button type="primary" data-testid="seal-verify" loading={busy} onClick={verify}>
          {t('seal.verify')}
        </Button>
        <Button
          data-testid="seal-export"
          disabled={!s?.lastSeq}
          href={`/api/audit/export?fromSeq=${exportFrom}&toSeq=${Math.max(exportFrom, exportTo)}`}
        >
          {t('seal.export')}
        </Button>
      </Space>
      <Typography.Paragraph type="secondary" style={{ marginTop: 8, marginBottom: 0 }}>
        {t('seal.hint')}
      </Typography.Paragraph>
      {error && <Alert type="error" showIcon message={error} style={{ marginTop: 12 }} />}
      {report && (
        <div style={{ marginTop: 12 }} data-testid="seal-report">
          <Alert
            type={report.ok ? 'success' : 'error'}
            showIcon
            message={report.ok ? t('seal.ok') : t('seal.failed', { n: report.findingCount })}
            description={t('seal.checked', {
              from: report.fromSeq,
              to: report.toSeq,
              blocks: report.blocksChecked,
              records: report.recordsChecked,
            })}
          />
          {!report.ok && (
            <Table
              size="small"
              style={{ marginTop: 8 }}
              rowKey={(f) => `${f.kind}-${f.blockSeq}-${f.recordId ?? ''}`}
              dataSource={report.findings}
              pagination={{ pageSize: 10, hideOnSinglePage: true }}
              columns={[
                {
                  title: t('seal.finding'),
                  dataIndex: 'kind',
                  render: (k: string) => <Tag color="red">{tEnum('sealFinding', k)}</Tag>,
                },
                { title: t('seal.block'), dataIndex: 'blockSeq' },
                { title: t('seal.record'), dataIndex: 'recordId', render: (v?: number) => v ?? '—' },
              ]}
            />
          )}
        </div>
      )}
    </Card>
  );
}
