import { UploadOutlined } from '@ant-design/icons';
import { Alert, Button, Modal, Progress, Table, Typography, Upload } from 'antd';
import { useState } from 'react';
import { ApiError, type ErrorDetail, errorText, uploadCsv } from '../shared/api.js';
import { useI18n } from '../shared/i18n.js';
import type { IngestResult, Resource } from '../shared/types.js';

/** 上传数据: the provider's data officer loads a CSV; one bad row rejects the whole file. */
export default function UploadModal({
  resource,
  open,
  onClose,
  onUploaded,
}: {
  resource: Resource;
  open: boolean;
  onClose: () => void;
  onUploaded: () => void;
}) {
  const { t, lang, colon } = useI18n();
  const [file, setFile] = useState<string | null>(null);
  const [percent, setPercent] = useState(0);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<IngestResult | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function send(f: File) {
    setFile(f.name);
    setPercent(0);
    setResult(null);
    setError(null);
    setBusy(true);
    try {
      const r = await uploadCsv(resource.id, f.name, f, setPercent);
      setResult(r);
      onUploaded();
    } catch (e) {
      setError(e);
      onUploaded();
    } finally {
      setBusy(false);
    }
  }

  const details: ErrorDetail[] = error instanceof ApiError ? error.details : [];

  return (
    <Modal
      open={open}
      title={`${t('upload.title')}${colon}${resource.name}`}
      onCancel={onClose}
      width={720}
      footer={
        <Button data-testid="upload-close" onClick={onClose}>
          {t('common.close')}
        </Button>
      }
    >
      <div data-testid="upload-panel">
        <Typography.Paragraph type="secondary">{t('upload.hint')}</Typography.Paragraph>
        <Upload
          accept=".csv,text/csv"
          showUploadList={false}
          multiple={false}
          disabled={busy}
          beforeUpload={(f) => {
            void send(f);
            return Upload.LIST_IGNORE;
          }}
        >
          <Button data-testid="upload-choose" icon={<UploadOutlined />} loading={busy}>
            {t('upload.choose')}
          </Button>
        </Upload>
        {file ? (
          <div style={{ marginTop: 16 }}>
            <Typography.Text>{t('upload.uploading', { name: file })}</Typography.Text>
            <Progress
              data-testid="upload-progress"
              percent={percent}
              status={error ? 'exception' : result ? 'success' : 'active'}
            />
          </div>
        ) : null}
        {result ? (
          <Alert
            data-testid="upload-result"
            style={{ marginTop: 16 }}
            type="success"
            showIcon
            title={t('upload.success', {
              total: result.rowsTotal,
              inserted: result.inserted,
              updated: result.updated,
            })}
          />
        ) : null}
        {error ? (
          <div style={{ marginTop: 16 }}>
            <Alert
              data-testid="upload-error"
              type="error"
              showIcon
              title={errorText(error, lang, false)}
              description={
                error instanceof ApiError && error.code === 'CSV_INVALID' ? t('upload.failed') : undefined
              }
            />
            {details.length > 0 ? (
              <Table<ErrorDetail & { k: number }>
                data-testid="upload-errors"
                style={{ marginTop: 12 }}
                size="small"
                rowKey="k"
                pagination={{ pageSize: 10, hideOnSinglePage: true }}
                dataSource={details.map((d, k) => ({ ...d, k }))}
                columns={[
                  { title: t('upload.row'), dataIndex: 'row', width: 80, render: (v) => v ?? '-' },
                  {
                    title: t('upload.field'),
                    dataIndex: 'field',
                    width: 200,
                    render: (v: string | undefined) => {
                      const f = resource.fields.find((x) => x.code === v);
                      return v ? (f ? `${f.name} (${v})` : v) : '-';
                    },
                  },
                  {
                    title: t('upload.reason'),
                    dataIndex: 'reason',
                    render: (v: string, d: { reasonZh?: string }) =>
                      lang === 'zh' && d.reasonZh ? d.reasonZh : v,
                  },
                ]}
              />
            ) : null}
          </div>
        ) : null}
      </div>
    </Modal>
  );
}
