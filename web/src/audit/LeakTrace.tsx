import { UploadOutlined } from '@ant-design/icons';
import { Alert, Button, Card, Descriptions, Progress, Space, Table, Tag, Typography, Upload } from 'antd';
import { useState } from 'react';
import { errorText, uploadFile } from '../shared/api.js';
import { fmtTime } from '../shared/format.js';
import { useI18n } from '../shared/i18n.js';

interface Named {
  id: number;
  name: string | null;
}
interface TraceExport {
  exportId: number;
  app: Named;
  consumerOrg: Named | null;
  grantId: number;
  resource: { id: number; code: string | null; name: string | null };
  fields: string[];
  fieldNames: Record<string, string>;
  startedAt: string;
  rowsExplained: number;
  share: number;
  matchedColumns: string[];
  columns: { field: string; fileRows: number; rowsMatched: number }[];
  columnsNotInExport: string[];
  sampleRows: number[];
  watermark: {
    verdict: string;
    cellsChecked: number;
    distinctChecked: number;
    matches: number;
    matchRate: number | null;
    pValue: number | null;
  };
}
interface TraceResult {
  file: { format: string; encoding: string | null; rows: number; skippedRows: number; columns: string[] };
  recipients: {
    app: Named;
    consumerOrg: Named | null;
    grantIds: number[];
    exportIds: number[];
    rowsExplained: number;
    share: number;
    watermarkMatch: boolean;
  }[];
  exports: TraceExport[];
}

const pct = (x: number) => `${(x * 100).toFixed(x === 1 || x === 0 ? 0 : 1)}%`;
/** A probability for people: below 10⁻⁴ as a bound by a power of ten (10⁻¹⁷). */
const SUP = '⁻⁰¹²³⁴⁵⁶⁷⁸⁹';
const prob = (p: number) =>
  p >= 1e-4
    ? p.toPrecision(2)
    : `< 10${String(Math.ceil(Math.log10(Math.max(p, 1e-300)))).replace(/[-0-9]/g, (c) => SUP['-0123456789'.indexOf(c)])}`;

/**
 * 泄露溯源 (issue 10 point 2): the auditor uploads a leaked file and sees the recipients ranked by the share of its rows
 * their exports explain, with the evidence per export. The file is compared in memory by the server and not kept.
 */
export default function LeakTrace() {
  const { t, tEnum, lang, paren } = useI18n();
  const [busy, setBusy] = useState(false);
  const [percent, setPercent] = useState(0);
  const [result, setResult] = useState<TraceResult | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function send(f: File) {
    setBusy(true);
    setError(null);
    setResult(null);
    setPercent(0);
    try {
      setResult(
        await uploadFile<TraceResult>(
          '/api/audit/leak-trace/file',
          'application/octet-stream',
          f,
          setPercent,
        ),
      );
    } catch (e) {
      setError(errorText(e, lang));
    } finally {
      setBusy(false);
    }
  }

  const nameOf = (e: TraceExport, f: string) => e.fieldNames[f] ?? f;

  return (
    <div data-testid="page-leak-trace">
      <Card title={t('leakTrace.fileTitle')}>
        <Typography.Paragraph type="secondary">{t('leakTrace.fileHint')}</Typography.Paragraph>
        <Upload
          accept=".csv,.xlsx,.json,.ndjson,.jsonl,.txt"
          showUploadList={false}
          multiple={false}
          disabled={busy}
          beforeUpload={(f) => {
            void send(f);
            return Upload.LIST_IGNORE;
          }}
        >
          <Button data-testid="leak-choose" type="primary" icon={<UploadOutlined />} loading={busy}>
            {t('leakTrace.choose')}
          </Button>
        </Upload>
        {busy ? <Progress percent={percent} status="active" style={{ marginTop: 12 }} /> : null}
        {error ? (
          <Alert data-testid="leak-error" style={{ marginTop: 12 }} type="error" showIcon title={error} />
        ) : null}
      </Card>
      {result ? (
        <div data-testid="leak-result">
          <Card style={{ marginTop: 16 }} title={t('leakTrace.recipients')}>
            <Typography.Paragraph data-testid="leak-file-summary">
              {t('leakTrace.fileSummary', {
                format: tEnum('leakFormat', result.file.format),
                rows: result.file.rows,
                cols: result.file.columns.length,
              })}
              {result.file.skippedRows > 0
                ? ` ${t('leakTrace.skipped', { n: result.file.skippedRows })}`
                : ''}
            </Typography.Paragraph>
            {result.recipients.length === 0 ? (
              <Alert data-testid="leak-none" type="info" showIcon title={t('leakTrace.noMatch')} />
            ) : (
              <Table
                data-testid="leak-recipients"
                size="small"
                rowKey={(r) => r.app.id}
                pagination={false}
                dataSource={result.recipients}
                columns={[
                  { title: t('leakTrace.rank'), key: 'rank', width: 70, render: (_v, _r, i) => i + 1 },
                  {
                    title: t('leakTrace.app'),
                    key: 'app',
                    render: (_v, r) => (
                      <Space size={4}>
                        {r.app.name}
                        {r.watermarkMatch ? <Tag color="red">{t('leakTrace.watermarkTag')}</Tag> : null}
                      </Space>
                    ),
                  },
                  {
                    title: t('leakTrace.consumerOrg'),
                    key: 'org',
                    render: (_v, r) => r.consumerOrg?.name ?? '',
                  },
                  {
                    title: t('leakTrace.grants'),
                    key: 'grants',
                    render: (_v, r) => r.grantIds.join(t('punct.list')),
                  },
                  {
                    title: t('leakTrace.exports'),
                    key: 'exports',
                    render: (_v, r) => r.exportIds.join(t('punct.list')),
                  },
                  { title: t('leakTrace.rowsExplained'), dataIndex: 'rowsExplained', width: 110 },
                  { title: t('leakTrace.share'), key: 'share', width: 110, render: (_v, r) => pct(r.share) },
                ]}
              />
            )}
          </Card>
          {result.exports.length ? (
            <Card style={{ marginTop: 16 }} title={t('leakTrace.evidence')}>
              <Space direction="vertical" style={{ width: '100%' }}>
                {result.exports.map((e) => (
                  <Descriptions
                    key={e.exportId}
                    data-testid="leak-export"
                    size="small"
                    bordered
                    column={2}
                    title={`${t('leakTrace.export')} ${e.exportId} · ${e.app.name ?? ''}`}
                    items={[
                      { key: 'res', label: t('leakTrace.resource'), children: e.resource.name },
                      { key: 'at', label: t('leakTrace.exportedAt'), children: fmtTime(e.startedAt) },
                      { key: 'org', label: t('leakTrace.consumerOrg'), children: e.consumerOrg?.name ?? '' },
                      { key: 'grant', label: t('leakTrace.grants'), children: e.grantId },
                      {
                        key: 'rows',
                        label: t('leakTrace.rowsExplained'),
                        children: `${e.rowsExplained}${paren(pct(e.share))}`,
                      },
                      {
                        key: 'sample',
                        label: t('leakTrace.sampleRows'),
                        children: e.sampleRows.join(t('punct.list')),
                      },
                      {
                        key: 'cols',
                        label: t('leakTrace.matchedColumns'),
                        span: 2,
                        children: (
                          <Space wrap>
                            {e.columns.map((c) => (
                              <Tag
                                key={c.field}
                                color={c.rowsMatched === c.fileRows && c.fileRows > 0 ? 'green' : 'default'}
                              >
                                {t('leakTrace.columnDetail', {
                                  field: nameOf(e, c.field),
                                  matched: c.rowsMatched,
                                  rows: c.fileRows,
                                })}
                              </Tag>
                            ))}
                          </Space>
                        ),
                      },
                      ...(e.columnsNotInExport.length
                        ? [
                            {
                              key: 'missing',
                              label: t('leakTrace.columnsNotInExport'),
                              span: 2,
                              children: e.columnsNotInExport.map((f) => nameOf(e, f)).join(t('punct.list')),
                            },
                          ]
                        : []),
                      {
                        key: 'watermark',
                        label: t('leakTrace.watermark'),
                        span: 2,
                        children: (
                          <span data-testid="leak-watermark" data-verdict={e.watermark.verdict}>
                            {e.watermark.distinctChecked > 0 && e.watermark.matchRate !== null
                              ? t('leakTrace.watermarkDetail', {
                                  verdict: tEnum('leakWatermark', e.watermark.verdict),
                                  matches: e.watermark.matches,
                                  distinct: e.watermark.distinctChecked,
                                  rate: pct(e.watermark.matchRate),
                                  cells: e.watermark.cellsChecked,
                                })
                              : tEnum('leakWatermark', e.watermark.verdict)}
                            {e.watermark.pValue !== null
                              ? ` · ${t('leakTrace.watermarkP', { p: prob(e.watermark.pValue) })}`
                              : ''}
                          </span>
                        ),
                      },
                    ]}
                  />
                ))}
              </Space>
            </Card>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
