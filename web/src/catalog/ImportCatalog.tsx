import { DownloadOutlined, UploadOutlined } from '@ant-design/icons';
import { Alert, Button, Checkbox, Modal, Progress, Space, Table, Tag, Typography, Upload } from 'antd';
import { useState } from 'react';
import { useNavigate } from 'react-router-dom';
import { ApiError, downloadPost, type ErrorDetail, errorText, uploadFile, withQuery } from '../shared/api.js';
import { EnumTag } from '../shared/common.js';
import { isKey, useI18n } from '../shared/i18n.js';
import type { CatalogImportResult } from '../shared/types.js';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/**
 * 批量导入目录 (issue 6 point 12): the department's officer downloads the 1272 template, uploads it filled in (or a CSV),
 * and sees either the entries created or every problem with its sheet, row and column — nothing is written then.
 */
export default function ImportCatalog({
  open,
  onClose,
  onImported,
}: {
  open: boolean;
  onClose: () => void;
  onImported: () => void;
}) {
  const { t, tEnum, lang } = useI18n();
  const navigate = useNavigate();
  const [file, setFile] = useState<string | null>(null);
  const [percent, setPercent] = useState(0);
  const [busy, setBusy] = useState(false);
  const [submit, setSubmit] = useState(false);
  const [result, setResult] = useState<CatalogImportResult | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function send(f: File) {
    setFile(f.name);
    setPercent(0);
    setResult(null);
    setError(null);
    setBusy(true);
    try {
      const isXlsx = /\.xlsx$/i.test(f.name);
      const r = await uploadFile<CatalogImportResult>(
        withQuery('/api/catalog/import', { filename: f.name, submit: submit ? 'true' : undefined }),
        isXlsx ? XLSX : 'text/csv',
        f,
        setPercent,
      );
      setResult(r);
      onImported();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  const problems: ErrorDetail[] =
    error instanceof ApiError && error.code === 'CATALOG_IMPORT_INVALID' ? error.details : [];
  const reason = (d: ErrorDetail) => (lang === 'zh' && d.reasonZh ? d.reasonZh : d.reason);

  return (
    <Modal
      open={open}
      title={t('import.title')}
      onCancel={onClose}
      width={960}
      footer={
        <Button data-testid="import-close" onClick={onClose}>
          {t('common.close')}
        </Button>
      }
    >
      <div data-testid="import-panel">
        <Typography.Paragraph type="secondary">{t('import.hint')}</Typography.Paragraph>
        <Space wrap>
          <Button data-testid="import-template" icon={<DownloadOutlined />} href="/api/catalog/template.xlsx">
            {t('import.template')}
          </Button>
          <Upload
            accept=".xlsx,.csv,text/csv"
            showUploadList={false}
            multiple={false}
            disabled={busy}
            beforeUpload={(f) => {
              void send(f);
              return Upload.LIST_IGNORE;
            }}
          >
            <Button data-testid="import-choose" type="primary" icon={<UploadOutlined />} loading={busy}>
              {t('import.choose')}
            </Button>
          </Upload>
          <Checkbox
            data-testid="import-submit"
            checked={submit}
            onChange={(e) => setSubmit(e.target.checked)}
          >
            {t('import.submit')}
          </Checkbox>
        </Space>
        {file ? (
          <div style={{ marginTop: 16 }}>
            <Typography.Text>{t('import.uploading', { name: file })}</Typography.Text>
            <Progress
              data-testid="import-progress"
              percent={percent}
              status={error ? 'exception' : result ? 'success' : 'active'}
            />
          </div>
        ) : null}
        {result ? (
          <div style={{ marginTop: 16 }}>
            <Alert
              data-testid="import-result"
              type="success"
              showIcon
              title={t('import.success', { n: result.created.length })}
            />
            <Table
              style={{ marginTop: 12 }}
              size="small"
              rowKey="id"
              pagination={{ pageSize: 10, hideOnSinglePage: true }}
              dataSource={result.created}
              columns={[
                { title: t('import.row'), dataIndex: 'row', width: 70 },
                {
                  title: t('catalog.name'),
                  dataIndex: 'name',
                  render: (v: string, r) => (
                    <Typography.Link
                      data-testid={`import-created-${r.row}`}
                      onClick={() => navigate(`/catalog/${r.id}`)}
                    >
                      {v}
                    </Typography.Link>
                  ),
                },
                {
                  title: t('res.status'),
                  dataIndex: 'status',
                  width: 110,
                  render: (v: string) => <EnumTag kind="resStatus" value={v} />,
                },
              ]}
            />
          </div>
        ) : null}
        {error ? (
          <div style={{ marginTop: 16 }}>
            <Alert
              data-testid="import-error"
              type="error"
              showIcon
              title={problems.length ? t('import.failed', { n: problems.length }) : errorText(error, lang)}
              action={
                problems.length ? (
                  <Button
                    size="small"
                    data-testid="import-report"
                    icon={<DownloadOutlined />}
                    onClick={() =>
                      void downloadPost(
                        '/api/catalog/import/report.xlsx',
                        { problems },
                        `${t('import.title')}-${t('import.report')}.xlsx`,
                      ).catch(setError)
                    }
                  >
                    {t('import.report')}
                  </Button>
                ) : undefined
              }
            />
            {problems.length ? (
              <Table<ErrorDetail & { k: number }>
                data-testid="import-problems"
                style={{ marginTop: 12 }}
                size="small"
                rowKey="k"
                pagination={{ pageSize: 10, hideOnSinglePage: true }}
                dataSource={problems.map((d, k) => ({ ...d, k }))}
                columns={[
                  { title: t('import.sheet'), dataIndex: 'sheet', width: 90 },
                  { title: t('import.row'), dataIndex: 'row', width: 70, render: (v) => v ?? '-' },
                  { title: t('import.column'), dataIndex: 'column', width: 120, render: (v) => v ?? '-' },
                  {
                    title: t('import.value'),
                    dataIndex: 'value',
                    width: 140,
                    ellipsis: true,
                    render: (v) => v ?? '',
                  },
                  {
                    title: t('import.kind'),
                    dataIndex: 'code',
                    width: 130,
                    render: (v: string | undefined) =>
                      v ? (
                        <Tag color={v === 'VALIDATION_FAILED' ? 'orange' : 'red'}>
                          {isKey(`importCode.${v}`) ? tEnum('importCode', v) : tEnum('error', v)}
                        </Tag>
                      ) : null,
                  },
                  { title: t('import.reason'), dataIndex: 'reason', render: (_v, d) => reason(d) },
                ]}
              />
            ) : null}
          </div>
        ) : null}
      </div>
    </Modal>
  );
}
