import { UploadOutlined } from '@ant-design/icons';
import {
  Alert,
  App as AntApp,
  Button,
  Card,
  Input,
  Modal,
  Progress,
  Select,
  Space,
  Switch,
  Table,
  Tabs,
  Tag,
  Typography,
  Upload,
} from 'antd';
import { useEffect, useState } from 'react';
import { ApiError, api, errorText, post, toApiError, withQuery } from '../shared/api.js';
import { useAuth } from '../shared/auth.js';
import { ErrorAlert, OrgFilterTag } from '../shared/common.js';
import { fmtDate, fmtNumber, fmtTime } from '../shared/format.js';
import { useAsync, useUrlFilters } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';

/*
 * 数据汇聚 (issue 7): upload with detected encoding and a field-mapping preview, the import list with live progress,
 * rejection reports, the quarantine with inline correction, and the freshness board.
 */

interface Field {
  code: string;
  name: string;
}
interface Res {
  id: number;
  name: string;
  code: string;
  status: string;
  provider: { id: number; name: string };
  fields?: Field[];
}
interface Import {
  id: number;
  resourceId: number;
  resourceName: string;
  format: string;
  mode: string;
  onError: string;
  filename: string | null;
  status: string;
  encoding: string | null;
  rowsRead: number;
  rowsValid: number;
  rowsRejected: number;
  inserted: number;
  updated: number;
  deleted: number;
  errorCount: number;
  rate: number | null;
  fraction: number | null;
  etaSeconds: number | null;
  createdBy: string | null;
  createdAt: string;
}
interface Finding {
  row?: number;
  field?: string;
  code?: string;
  value?: string;
  reason: string;
  reasonZh?: string;
}

const STATUS_COLOR: Record<string, string> = {
  queued: 'default',
  running: 'processing',
  committed: 'success',
  rejected: 'error',
  failed: 'error',
  rolled_back: 'warning',
};

/** Same rule as the server (src/ingest/parse.ts detectEncoding): a BOM or valid UTF-8 is UTF-8, else GB18030. */
function detectEncoding(bytes: Uint8Array): 'utf-8' | 'gb18030' {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'utf-8';
  for (let cut = 0; cut <= 3; cut++) {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, bytes.length - cut));
      return 'utf-8';
    } catch {
      /* shorter */
    }
  }
  return 'gb18030';
}

/** The first rows of a CSV text for the preview (quotes and quoted line breaks respected). */
function previewRows(text: string, max: number): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let q = false;
  for (let i = 0; i < text.length && rows.length < max; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') q = false;
      else cell += c;
    } else if (c === '"') q = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      cell = '';
      if (row.some((x) => x !== '')) rows.push(row);
      row = [];
    } else cell += c;
  }
  if (rows.length < max && (cell || row.length)) rows.push([...row, cell]);
  return rows;
}

function useMyResources() {
  const { me } = useAuth();
  return useAsync(async () => {
    // every own resource with a data table that is not retired (a submitted entry is loaded before it is published)
    const lists = await Promise.all(
      ['published', 'submitted', 'returned', 'draft'].map((status) =>
        api<{ items: Res[] }>('/api/catalog/resources', {
          query: { providerOrgId: me?.user.org.id, status, pageSize: 100 },
        }),
      ),
    );
    return lists.flatMap((l) => l.items).filter((x) => x.provider.id === me?.user.org.id);
  }, [me?.user.org.id]);
}

function UploadTab({ onStarted }: { onStarted: () => void }) {
  const { t, tEnum, colon, paren } = useI18n();
  const { message } = AntApp.useApp();
  const resources = useMyResources();
  const [resourceId, setResourceId] = useState<number>();
  const [fields, setFields] = useState<Field[]>([]);
  const [file, setFile] = useState<File | null>(null);
  const [encoding, setEncoding] = useState<string | null>(null);
  const [rows, setRows] = useState<string[][]>([]);
  const [mapping, setMapping] = useState<Record<string, string>>({});
  const [mode, setMode] = useState('upsert');
  const [onError, setOnError] = useState('reject');
  const [sheet, setSheet] = useState('');
  const [percent, setPercent] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const isXlsx = !!file && /\.xlsx$/i.test(file.name);

  useEffect(() => {
    if (!resourceId) return;
    void api<{ fields: Field[] }>(`/api/catalog/resources/${resourceId}`).then((r) => setFields(r.fields));
  }, [resourceId]);

  async function choose(f: File) {
    setFile(f);
    setError(null);
    setPercent(null);
    if (/\.xlsx$/i.test(f.name)) {
      setRows([]);
      setEncoding(null);
      return;
    }
    const head = new Uint8Array(await f.slice(0, 64 * 1024).arrayBuffer());
    const enc = detectEncoding(head);
    setEncoding(enc);
    const text = new TextDecoder(enc).decode(head);
    const r = previewRows(text.replace(/^\uFEFF/, ''), 21);
    setRows(r);
    const auto: Record<string, string> = {};
    for (const h of r[0] ?? []) {
      const f2 = fields.find((x) => x.code === h.trim() || x.name === h.trim());
      auto[h] = f2 ? f2.code : '';
    }
    setMapping(auto);
  }

  function start() {
    if (!file || !resourceId) return;
    const explicit = Object.fromEntries(Object.entries(mapping).filter(([, v]) => v));
    const unmapped = Object.entries(mapping).filter(([, v]) => !v);
    if (unmapped.length) {
      setError(new ApiError(400, 'VALIDATION_FAILED', '存在未映射的列', 'Some columns are not mapped', []));
      return;
    }
    const q = {
      mode,
      onError,
      filename: file.name,
      format: isXlsx ? 'xlsx' : 'csv',
      sheet: isXlsx && sheet ? sheet : undefined,
      mapping: !isXlsx && Object.keys(explicit).length ? JSON.stringify(explicit) : undefined,
    };
    const xhr = new XMLHttpRequest();
    xhr.open('POST', withQuery(`/api/ingest/resources/${resourceId}/imports`, q));
    xhr.setRequestHeader(
      'Content-Type',
      isXlsx ? 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' : 'text/csv',
    );
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.withCredentials = true;
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) setPercent(Math.round((e.loaded / e.total) * 100));
    };
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        body = { message: xhr.responseText };
      }
      if (xhr.status === 202) {
        message.success(t('ingest.started'));
        onStarted();
      } else setError(toApiError(xhr.status, body, xhr.statusText));
    };
    xhr.send(file);
  }

  const header = rows[0] ?? [];
  return (
    <Space direction="vertical" style={{ width: '100%' }} size="middle" data-testid="ingest-upload">
      <Space wrap>
        <Select
          data-testid="ingest-resource"
          style={{ width: 360 }}
          placeholder={t('ingest.chooseResource')}
          loading={resources.loading}
          value={resourceId}
          onChange={setResourceId}
          showSearch
          optionFilterProp="label"
          options={(resources.data ?? []).map((r) => ({ value: r.id, label: `${r.name}${paren(r.code)}` }))}
        />
        <Upload
          accept=".csv,.xlsx,.ndjson,text/csv"
          showUploadList={false}
          disabled={!resourceId}
          beforeUpload={(f) => {
            void choose(f);
            return Upload.LIST_IGNORE;
          }}
        >
          <Button data-testid="ingest-choose" icon={<UploadOutlined />} disabled={!resourceId}>
            {t('ingest.chooseFile')}
          </Button>
        </Upload>
        {file ? <Typography.Text>{file.name}</Typography.Text> : null}
        {encoding ? (
          <Tag data-testid="ingest-encoding" color="blue">
            {t('ingest.encoding')}
            {colon}
            {encoding === 'utf-8' ? 'UTF-8' : 'GBK / GB18030'}
          </Tag>
        ) : null}
      </Space>
      {isXlsx ? (
        <Input
          style={{ width: 300 }}
          addonBefore={t('ingest.sheet')}
          value={sheet}
          onChange={(e) => setSheet(e.target.value)}
          placeholder="Sheet1 / 1"
        />
      ) : null}
      {header.length ? (
        <Card size="small" title={t('ingest.preview')}>
          <Table
            data-testid="ingest-preview"
            size="small"
            scroll={{ x: true }}
            pagination={false}
            rowKey="k"
            dataSource={rows.slice(1, 21).map((r, k) => ({ k, r }))}
            columns={header.map((h, i) => ({
              key: String(i),
              title: (
                <Space direction="vertical" size={2}>
                  <Typography.Text type="secondary">{h}</Typography.Text>
                  <Select
                    size="small"
                    style={{ minWidth: 140 }}
                    value={mapping[h] ?? ''}
                    onChange={(v) => setMapping({ ...mapping, [h]: v })}
                    options={[
                      { value: '', label: t('ingest.unmapped') },
                      ...fields.map((f) => ({ value: f.code, label: f.name })),
                    ]}
                  />
                </Space>
              ),
              render: (_: unknown, x: { r: string[] }) => x.r[i] ?? '',
            }))}
          />
        </Card>
      ) : null}
      <Space wrap>
        <span>{t('ingest.modeLabel')}</span>
        <Select
          style={{ width: 200 }}
          value={mode}
          onChange={setMode}
          options={['upsert', 'replace', 'delete'].map((m) => ({ value: m, label: tEnum('ingestMode', m) }))}
        />
        <span>{t('ingest.onErrorLabel')}</span>
        <Select
          style={{ width: 260 }}
          value={onError}
          onChange={setOnError}
          options={['reject', 'quarantine'].map((m) => ({ value: m, label: tEnum('ingestOnError', m) }))}
        />
        <Button type="primary" data-testid="ingest-start" disabled={!file} onClick={start}>
          {t('ingest.start')}
        </Button>
      </Space>
      {percent !== null ? <Progress percent={percent} size="small" /> : null}
      {error ? <ErrorAlert error={error} /> : null}
    </Space>
  );
}

function ReportModal({ imp, onClose }: { imp: Import; onClose: () => void }) {
  const { t, tEnum, lang } = useI18n();
  const r = useAsync(() => api<{ errors: Finding[] }>(`/api/ingest/imports/${imp.id}/report`), [imp.id]);
  return (
    <Modal
      open
      title={`${t('ingest.report')} · ${imp.filename ?? imp.resourceName}`}
      onCancel={onClose}
      footer={null}
      width={900}
    >
      <Space style={{ marginBottom: 12 }}>
        <Button href={`/api/ingest/imports/${imp.id}/report?format=csv`} data-testid="report-csv">
          {t('ingest.downloadCsv')}
        </Button>
        <Button href={`/api/ingest/imports/${imp.id}/report?format=xlsx`}>{t('ingest.downloadXlsx')}</Button>
      </Space>
      {r.error ? <ErrorAlert error={r.error} /> : null}
      <Table<Finding & { k: number }>
        data-testid="report-table"
        size="small"
        rowKey="k"
        loading={r.loading}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        dataSource={(r.data?.errors ?? []).map((e, k) => ({ ...e, k }))}
        columns={[
          { title: t('upload.row'), dataIndex: 'row', width: 70, render: (v) => v ?? '-' },
          { title: t('upload.field'), dataIndex: 'field', width: 140, render: (v) => v ?? '-' },
          { title: t('ingest.value'), dataIndex: 'value', width: 160, render: (v) => v ?? '' },
          {
            title: t('ingest.reasonCode'),
            dataIndex: 'code',
            width: 150,
            render: (v: string | undefined) => (v ? <Tag>{tEnum('reason', v)}</Tag> : '-'),
          },
          {
            title: t('upload.reason'),
            dataIndex: 'reason',
            render: (v: string, e: Finding) => (lang === 'zh' && e.reasonZh ? e.reasonZh : v),
          },
        ]}
      />
    </Modal>
  );
}

function ImportsTab({ tick }: { tick: number }) {
  const { t, tEnum, paren } = useI18n();
  const { me } = useAuth();
  const { message } = AntApp.useApp();
  const [page, setPage] = useState(1);
  const [refresh, setRefresh] = useState(0);
  const [report, setReport] = useState<Import | null>(null);
  const list = useAsync(
    () => api<{ total: number; items: Import[] }>('/api/ingest/imports', { query: { page, pageSize: 20 } }),
    [page, tick, refresh],
  );
  const active = (list.data?.items ?? []).some((i) => i.status === 'queued' || i.status === 'running');
  // biome-ignore lint/correctness/useExhaustiveDependencies: each new list re-arms the one-second refresh
  useEffect(() => {
    if (!active) return;
    const h = setTimeout(() => setRefresh((x) => x + 1), 1000);
    return () => clearTimeout(h);
  }, [active, list.data]);
  const isAuthority = me?.user.org.kind === 'authority';

  function rollback(i: Import) {
    let reason = '';
    Modal.confirm({
      title: `${t('ingest.rollback')} #${i.id}`,
      content: (
        <Input.TextArea
          placeholder={t('ingest.rollbackReason')}
          onChange={(e) => (reason = e.target.value)}
        />
      ),
      onOk: async () => {
        try {
          await post(`/api/ingest/imports/${i.id}/rollback`, { reason: reason || '—' });
          setRefresh((x) => x + 1);
        } catch (e) {
          message.error(errorText(e, 'zh'));
        }
      },
    });
  }

  return (
    <>
      {list.error ? <ErrorAlert error={list.error} /> : null}
      <Table<Import>
        data-testid="ingest-imports"
        rowKey="id"
        size="small"
        loading={list.loading && !list.data}
        dataSource={list.data?.items ?? []}
        pagination={{ current: page, total: list.data?.total ?? 0, pageSize: 20, onChange: setPage }}
        columns={[
          { title: t('ingest.resource'), dataIndex: 'resourceName' },
          {
            title: t('ingest.file'),
            dataIndex: 'filename',
            render: (v, i) => v ?? tEnum('ingestFormat', i.format),
          },
          { title: t('ingest.modeLabel'), dataIndex: 'mode', render: (v) => tEnum('ingestMode', v) },
          {
            title: t('ingest.status'),
            dataIndex: 'status',
            render: (v: string) => (
              <Tag color={STATUS_COLOR[v]} data-testid={`import-status-${v}`}>
                {tEnum('ingestStatus', v)}
              </Tag>
            ),
          },
          {
            title: t('ingest.progress'),
            width: 220,
            render: (_, i) => (
              <Space direction="vertical" size={0} style={{ width: '100%' }}>
                <Progress
                  size="small"
                  percent={Math.round((i.fraction ?? (i.status === 'running' ? 0 : 1)) * 100)}
                  status={
                    i.status === 'rejected' || i.status === 'failed'
                      ? 'exception'
                      : i.status === 'running'
                        ? 'active'
                        : undefined
                  }
                />
                <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                  {t('ingest.rowsRead')} {fmtNumber(i.rowsRead)} · {t('ingest.rowsValid')}{' '}
                  {fmtNumber(i.rowsValid)} · {t('ingest.rowsRejected')} {fmtNumber(i.rowsRejected)}
                  {i.rate ? ` · ${fmtNumber(i.rate)} ${t('ingest.rate')}` : ''}
                  {i.etaSeconds ? ` · ${t('ingest.eta')} ${t('ingest.seconds', { n: i.etaSeconds })}` : ''}
                </Typography.Text>
              </Space>
            ),
          },
          {
            title: `${t('ingest.inserted')} / ${t('ingest.updated')} / ${t('ingest.deleted')}`,
            render: (_, i) => `${fmtNumber(i.inserted)} / ${fmtNumber(i.updated)} / ${fmtNumber(i.deleted)}`,
          },
          { title: t('ingest.createdBy'), dataIndex: 'createdBy', render: (v) => v ?? '-' },
          { title: t('ingest.createdAt'), dataIndex: 'createdAt', render: (v) => fmtTime(v) },
          {
            title: '',
            render: (_, i) => (
              <Space>
                {i.errorCount > 0 ? (
                  <Button size="small" data-testid={`import-report-${i.id}`} onClick={() => setReport(i)}>
                    {t('ingest.report')}
                    {paren(i.errorCount)}
                  </Button>
                ) : null}
                {isAuthority && i.status === 'committed' ? (
                  <Button size="small" danger onClick={() => rollback(i)}>
                    {t('ingest.rollback')}
                  </Button>
                ) : null}
              </Space>
            ),
          },
        ]}
      />
      {report ? <ReportModal imp={report} onClose={() => setReport(null)} /> : null}
    </>
  );
}

interface QRow {
  id: number;
  batchId: number;
  row: number;
  values: Record<string, string | null>;
  errors: Finding[];
}

function QuarantineTab() {
  const { t, tEnum, lang } = useI18n();
  const { message } = AntApp.useApp();
  const resources = useMyResources();
  const [resourceId, setResourceId] = useState<number>();
  const [refresh, setRefresh] = useState(0);
  const [edits, setEdits] = useState<Record<number, Record<string, string>>>({});
  const [selected, setSelected] = useState<number[]>([]);
  const q = useAsync(
    async () =>
      resourceId
        ? api<{ total: number; fields: (Field & { personal: boolean })[]; items: QRow[] }>(
            `/api/ingest/resources/${resourceId}/quarantine`,
            { query: { pageSize: 100 } },
          )
        : null,
    [resourceId, refresh],
  );
  async function act(fn: () => Promise<unknown>) {
    try {
      await fn();
      setEdits({});
      setSelected([]);
      setRefresh((x) => x + 1);
    } catch (e) {
      message.error(errorText(e, lang));
    }
  }
  const bad = (r: QRow, code: string) => r.errors.some((e) => e.field === code);
  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      <Space>
        <Select
          style={{ width: 360 }}
          placeholder={t('ingest.chooseResource')}
          value={resourceId}
          onChange={setResourceId}
          options={(resources.data ?? []).map((r) => ({ value: r.id, label: r.name }))}
        />
        <Button
          type="primary"
          disabled={!selected.length}
          onClick={() =>
            act(async () => {
              for (const id of selected)
                if (edits[id])
                  await api(`/api/ingest/quarantine/${id}`, { method: 'PUT', body: { values: edits[id] } });
              await post(`/api/ingest/resources/${resourceId}/quarantine/resubmit`, { ids: selected });
            })
          }
        >
          {t('ingest.resubmit')}
        </Button>
        <Button
          danger
          disabled={!selected.length}
          onClick={() =>
            act(() => post(`/api/ingest/resources/${resourceId}/quarantine/discard`, { ids: selected }))
          }
        >
          {t('ingest.discard')}
        </Button>
      </Space>
      {q.error ? <ErrorAlert error={q.error} /> : null}
      {q.data ? (
        <Table<QRow>
          size="small"
          rowKey="id"
          scroll={{ x: true }}
          rowSelection={{ selectedRowKeys: selected, onChange: (k) => setSelected(k as number[]) }}
          dataSource={q.data.items}
          pagination={{ pageSize: 20, hideOnSinglePage: true }}
          columns={[
            { title: t('upload.row'), dataIndex: 'row', width: 60 },
            ...q.data.fields.map((f) => ({
              title: f.name,
              key: f.code,
              render: (_: unknown, r: QRow) =>
                bad(r, f.code) ? (
                  <Input
                    size="small"
                    status="error"
                    style={{ minWidth: 120 }}
                    defaultValue={f.personal ? '' : (r.values[f.code] ?? '')}
                    placeholder={r.values[f.code] ?? ''}
                    onChange={(e) =>
                      setEdits({ ...edits, [r.id]: { ...edits[r.id], [f.code]: e.target.value } })
                    }
                  />
                ) : (
                  (r.values[f.code] ?? '')
                ),
            })),
            {
              title: t('upload.reason'),
              render: (_: unknown, r: QRow) =>
                r.errors.map((e, i) => (
                  <div key={String(i)}>
                    <Tag color="red">{tEnum('reason', e.code)}</Tag>
                    {lang === 'zh' && e.reasonZh ? e.reasonZh : e.reason}
                  </div>
                )),
            },
          ]}
        />
      ) : null}
    </Space>
  );
}

interface Fresh {
  resourceId: number;
  name: string;
  provider: { name: string };
  updateCycle: string;
  lastIngestAt: string | null;
  nextDue: string | null;
  daysOverdue: number;
  overdue: boolean;
}

function FreshnessTab() {
  const { t, tEnum } = useI18n();
  const { me } = useAuth();
  // filters in the address (?tab=freshness&overdue=1&orgId=): the cockpit's 数据逾期 links here (issue 12)
  const filters = useUrlFilters();
  const overdueOnly = filters.flag('overdue');
  const orgId = filters.num('orgId');
  const [refresh, setRefresh] = useState(0);
  const f = useAsync(
    () => api<Fresh[]>('/api/ingest/freshness', { query: { overdueOnly, orgId } }),
    [overdueOnly, orgId, refresh],
  );
  const max = Math.max(1, ...(f.data ?? []).map((r) => r.daysOverdue));
  const overdue = (f.data ?? []).filter((r) => r.overdue).length;
  return (
    <Space direction="vertical" style={{ width: '100%' }} data-testid="ingest-freshness">
      <Space>
        <Switch
          data-testid="freshness-overdue-only"
          checked={overdueOnly}
          onChange={(v) => filters.set({ overdue: v || undefined })}
        />{' '}
        {t('ingest.overdueOnly')}
        {orgId && <OrgFilterTag orgId={orgId} onClose={() => filters.set({ orgId: undefined })} />}
        {me?.user.org.kind === 'authority' ? (
          <Button
            onClick={() => void post('/api/ingest/freshness/check').then(() => setRefresh((x) => x + 1))}
          >
            {t('ingest.checkNow')}
          </Button>
        ) : null}
        {overdue ? (
          <Alert type="warning" showIcon message={t('ingest.overdueCount', { n: overdue })} />
        ) : null}
      </Space>
      {f.error ? <ErrorAlert error={f.error} /> : null}
      <Table<Fresh>
        size="small"
        rowKey="resourceId"
        loading={f.loading}
        dataSource={f.data ?? []}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        columns={[
          { title: t('ingest.resource'), dataIndex: 'name' },
          { title: t('ingest.provider'), render: (_, r) => r.provider.name },
          {
            title: t('ingest.updateCycle'),
            dataIndex: 'updateCycle',
            render: (v) => tEnum('updateCycle', v),
          },
          { title: t('ingest.lastIngest'), dataIndex: 'lastIngestAt', render: (v) => fmtTime(v) },
          { title: t('ingest.nextDue'), dataIndex: 'nextDue', render: (v) => fmtDate(v) },
          {
            title: t('ingest.daysOverdue'),
            dataIndex: 'daysOverdue',
            width: 240,
            render: (v: number) =>
              v > 0 ? (
                <Progress
                  percent={Math.round((v / max) * 100)}
                  status="exception"
                  format={() => `${v}`}
                  size="small"
                />
              ) : (
                <Tag color="green">{t('ingest.onTime')}</Tag>
              ),
          },
        ]}
      />
    </Space>
  );
}

export default function IngestPage() {
  const { t } = useI18n();
  const { me } = useAuth();
  const filters = useUrlFilters();
  const tab = filters.str('tab') ?? 'imports';
  const setTab = (k: string) => filters.set({ tab: k });
  const [tick, setTick] = useState(0);
  const officer = !!me?.user.roles.includes('data_officer');
  return (
    <Card title={t('ingest.title')}>
      <Tabs
        activeKey={tab}
        onChange={setTab}
        items={[
          ...(officer
            ? [
                {
                  key: 'upload',
                  label: <span data-testid="tab-upload">{t('ingest.tab.upload')}</span>,
                  children: (
                    <UploadTab
                      onStarted={() => {
                        setTick((x) => x + 1);
                        setTab('imports');
                      }}
                    />
                  ),
                },
              ]
            : []),
          { key: 'imports', label: t('ingest.tab.imports'), children: <ImportsTab tick={tick} /> },
          ...(officer
            ? [{ key: 'quarantine', label: t('ingest.tab.quarantine'), children: <QuarantineTab /> }]
            : []),
          { key: 'freshness', label: t('ingest.tab.freshness'), children: <FreshnessTab /> },
        ]}
      />
    </Card>
  );
}
