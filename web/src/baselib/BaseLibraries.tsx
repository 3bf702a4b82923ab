import { MinusCircleOutlined, PlusOutlined } from '@ant-design/icons';
import {
  Alert,
  App,
  Button,
  Card,
  Descriptions,
  Drawer,
  Empty,
  Form,
  Input,
  Modal,
  Progress,
  Select,
  Space,
  Table,
  Tabs,
  Tag,
  Typography,
} from 'antd';
import { useEffect, useState } from 'react';
import { api, errorText, post } from '../shared/api.js';
import { ErrorAlert, PersonalNotice } from '../shared/common.js';
import { fmtNumber, fmtTime } from '../shared/format.js';
import { useAsync, usePaging } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';

/*
 * 基础库 (issue 7 point 7; DG Art 15/21, XT Art 18–19): library definitions with the source of every field, assembly
 * runs with progress, the conflicts list with drill-down and resolve, and the assembled records (masked, audited).
 */

interface SourceView {
  resourceId: number;
  resourceName: string;
  orgId: number;
  orgName: string;
  fieldCode: string;
  fieldName: string | null;
}
interface Run {
  id: number;
  status: string;
  requestedAt: string;
  finishedAt: string | null;
  stepsTotal: number;
  stepsDone: number;
  records: number;
  conflictsOpen: number;
  conflictsNew: number;
  conflictsCleared: number;
  error: string | null;
}
interface LibraryRow {
  id: number;
  name: string;
  kind: string;
  keyKind: string;
  version: number;
  className: string | null;
  assembledAt: string | null;
  records: number;
  sources: number;
  openConflicts: number;
}
interface Library {
  id: number;
  name: string;
  kind: string;
  keyKind: string;
  classId: number | null;
  className: string | null;
  description: string;
  version: number;
  canEdit: boolean;
  canReadRecords: boolean;
  fields: { code: string; name: string; authoritative: SourceView | null; secondary: SourceView[] }[];
  runs: Run[];
}
interface Side {
  resourceId: number;
  resourceName: string;
  orgName: string;
  value: string | null;
}
interface Conflict {
  id: number;
  library: { id: number; name: string };
  key: string;
  field: { code: string; name: string };
  authoritative: Side;
  secondary: Side;
  status: string;
  foundAt: string;
  resolution: string | null;
  note: string | null;
  resolvedAt: string | null;
  resolvedBy: string | null;
}
interface ConflictDetail extends Conflict {
  canResolve: boolean;
  record:
    | {
        code: string;
        name: string;
        value: string | null;
        source: { orgName: string; resourceName: string } | null;
      }[]
    | null;
  others: Conflict[];
}

const runColor: Record<string, string> = {
  queued: 'default',
  running: 'processing',
  done: 'success',
  failed: 'error',
};
const conflictColor: Record<string, string> = { open: 'warning', resolved: 'success', cleared: 'default' };

function sourceText(s: SourceView | null) {
  return s ? `${s.orgName} · ${s.resourceName} · ${s.fieldName ?? s.fieldCode}` : '-';
}

function RunProgress({ run }: { run: Run }) {
  const { t } = useI18n();
  const pct = run.stepsTotal ? Math.round((run.stepsDone / run.stepsTotal) * 100) : 0;
  return (
    <Space data-testid="baselib-run-progress">
      <Progress
        percent={run.status === 'done' ? 100 : pct}
        status={run.status === 'failed' ? 'exception' : run.status === 'done' ? 'success' : 'active'}
        size="small"
        style={{ width: 160 }}
      />
      <span>{t('baselib.steps', { done: run.stepsDone, total: run.stepsTotal })}</span>
    </Space>
  );
}

interface ResourceOption {
  id: number;
  name: string;
  provider: { name: string };
}

function useResources() {
  return useAsync(
    () => api<{ items: ResourceOption[] }>('/api/catalog/resources?status=published&pageSize=100'),
    [],
  );
}

function FieldSelect({
  resourceId,
  value,
  onChange,
}: {
  resourceId?: number;
  value?: string;
  onChange?: (v: string) => void;
}) {
  const { t } = useI18n();
  const r = useAsync(
    () =>
      resourceId
        ? api<{ fields: { code: string; name: string }[] }>(`/api/catalog/resources/${resourceId}`)
        : Promise.resolve({ fields: [] }),
    [resourceId],
  );
  return (
    <Select
      style={{ width: 160 }}
      placeholder={t('baselib.chooseField')}
      value={value}
      onChange={onChange}
      options={(r.data?.fields ?? []).map((f) => ({ value: f.code, label: f.name }))}
    />
  );
}

function SourcePicker({
  name,
  rel,
  resources,
}: {
  name: (string | number)[];
  rel: (string | number)[];
  resources: ResourceOption[];
}) {
  const { t } = useI18n();
  const form = Form.useFormInstance();
  const resourceId = Form.useWatch([...name, 'resourceId'], form) as number | undefined;
  return (
    <Space.Compact>
      <Form.Item
        name={[...rel, 'resourceId']}
        noStyle
        rules={[{ required: true }]}
        // no label of its own (a compact pair): the message names it, not its path
        messageVariables={{ label: t('baselib.sourceResource') }}
      >
        <Select
          showSearch
          optionFilterProp="label"
          style={{ width: 260 }}
          placeholder={t('baselib.chooseResource')}
          options={resources.map((r) => ({ value: r.id, label: `${r.provider.name} · ${r.name}` }))}
        />
      </Form.Item>
      <Form.Item
        name={[...rel, 'fieldCode']}
        noStyle
        rules={[{ required: true }]}
        messageVariables={{ label: t('baselib.sourceField') }}
      >
        <FieldSelect resourceId={resourceId} />
      </Form.Item>
    </Space.Compact>
  );
}

function LibraryEditor({
  open,
  library,
  onClose,
  onSaved,
}: {
  open: boolean;
  library: Library | null;
  onClose: () => void;
  onSaved: (id: number) => void;
}) {
  const { t, tEnum, lang } = useI18n();
  const { message } = App.useApp();
  const [form] = Form.useForm();
  const resources = useResources();
  const [saving, setSaving] = useState(false);
  useEffect(() => {
    if (!open) return;
    form.setFieldsValue(
      library
        ? {
            name: library.name,
            kind: library.kind,
            keyKind: library.keyKind,
            description: library.description,
            fields: library.fields.map((f) => ({
              code: f.code,
              name: f.name,
              authoritative: {
                resourceId: f.authoritative?.resourceId,
                fieldCode: f.authoritative?.fieldCode,
              },
              secondary: f.secondary.map((s) => ({ resourceId: s.resourceId, fieldCode: s.fieldCode })),
            })),
          }
        : { kind: 'base', keyKind: 'idNumber', fields: [{ secondary: [] }] },
    );
  }, [open, library, form]);
  const save = async () => {
    // an invalid form shows its messages; the rejection is not an error of the page
    const v = await form.validateFields().catch(() => null);
    if (!v) return;
    setSaving(true);
    try {
      const body = { ...v, description: v.description ?? '', classId: library?.classId ?? null };
      const r = library
        ? await api<{ id: number }>(`/api/baselib/libraries/${library.id}`, { method: 'PUT', body })
        : await post<{ id: number }>('/api/baselib/libraries', body);
      message.success(t('baselib.saved'));
      onSaved(r.id);
    } catch (e) {
      message.error(errorText(e, lang));
    } finally {
      setSaving(false);
    }
  };
  const items = resources.data?.items ?? [];
  return (
    <Modal
      open={open}
      width={960}
      title={library ? t('baselib.edit') : t('baselib.new')}
      onCancel={onClose}
      onOk={save}
      confirmLoading={saving}
      destroyOnHidden
    >
      <Form form={form} layout="vertical" data-testid="baselib-editor">
        <Space wrap>
          <Form.Item name="name" label={t('baselib.name')} rules={[{ required: true, max: 100 }]}>
            <Input style={{ width: 240 }} />
          </Form.Item>
          <Form.Item name="kind" label={t('baselib.kind')}>
            <Select
              style={{ width: 140 }}
              options={['base', 'theme'].map((k) => ({ value: k, label: tEnum('libKind', k) }))}
            />
          </Form.Item>
          <Form.Item name="keyKind" label={t('baselib.keyKind')}>
            <Select
              style={{ width: 200 }}
              options={['idNumber', 'creditCode'].map((k) => ({ value: k, label: tEnum('keyKind', k) }))}
            />
          </Form.Item>
        </Space>
        <Form.Item name="description" label={t('baselib.description')} rules={[{ max: 1000 }]}>
          <Input.TextArea rows={2} />
        </Form.Item>
        <Form.List name="fields">
          {(fields, { add, remove }) => (
            <>
              {fields.map((f) => (
                <Card key={f.key} size="small" style={{ marginBottom: 8 }}>
                  <Space wrap align="start">
                    <Form.Item
                      name={[f.name, 'code']}
                      label={t('baselib.fieldCode')}
                      rules={[{ required: true }]}
                    >
                      <Input style={{ width: 120 }} />
                    </Form.Item>
                    <Form.Item
                      name={[f.name, 'name']}
                      label={t('baselib.fieldName')}
                      rules={[{ required: true }]}
                    >
                      <Input style={{ width: 120 }} />
                    </Form.Item>
                    <Form.Item label={t('baselib.authoritative')} required>
                      <SourcePicker
                        name={['fields', f.name, 'authoritative']}
                        rel={[f.name, 'authoritative']}
                        resources={items}
                      />
                    </Form.Item>
                    <MinusCircleOutlined onClick={() => remove(f.name)} style={{ marginTop: 36 }} />
                  </Space>
                  <Form.List name={[f.name, 'secondary']}>
                    {(subs, sub) => (
                      <div>
                        <Typography.Text type="secondary">{t('baselib.secondary')}</Typography.Text>
                        {subs.map((s) => (
                          <Space key={s.key} style={{ display: 'flex', marginTop: 4 }}>
                            <SourcePicker
                              name={['fields', f.name, 'secondary', s.name]}
                              rel={[s.name]}
                              resources={items}
                            />
                            <MinusCircleOutlined onClick={() => sub.remove(s.name)} />
                          </Space>
                        ))}
                        <Button
                          size="small"
                          type="dashed"
                          icon={<PlusOutlined />}
                          onClick={() => sub.add({})}
                        >
                          {t('baselib.addSecondary')}
                        </Button>
                      </div>
                    )}
                  </Form.List>
                </Card>
              ))}
              <Button type="dashed" icon={<PlusOutlined />} onClick={() => add({ secondary: [] })}>
                {t('baselib.addField')}
              </Button>
            </>
          )}
        </Form.List>
      </Form>
    </Modal>
  );
}

function LibraryPanel({ id, onChanged }: { id: number; onChanged: () => void }) {
  const { t, tEnum, lang } = useI18n();
  const { message } = App.useApp();
  const lib = useAsync(() => api<Library>(`/api/baselib/libraries/${id}`), [id]);
  const [editing, setEditing] = useState(false);
  const [starting, setStarting] = useState(false);
  const active = lib.data?.runs.find((r) => r.status === 'queued' || r.status === 'running');
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => lib.reload(), 1500);
    return () => clearInterval(timer);
  }, [active, lib.reload]);
  // refresh the list (records, open conflicts) when a run ends
  const activeId = active?.id;
  const [watched, setWatched] = useState<number | undefined>();
  useEffect(() => {
    if (activeId) setWatched(activeId);
    else if (watched) {
      setWatched(undefined);
      onChanged();
    }
  }, [activeId, watched, onChanged]);
  const run = async () => {
    setStarting(true);
    try {
      await post(`/api/baselib/libraries/${id}/runs`);
      message.success(t('baselib.runStarted'));
      lib.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    } finally {
      setStarting(false);
    }
  };
  const l = lib.data;
  if (!l)
    return (
      <Card loading={lib.loading}>
        <ErrorAlert error={lib.error} />
      </Card>
    );
  return (
    <Card
      data-testid="baselib-library"
      title={l.name}
      extra={
        l.canEdit ? (
          <Space>
            <Button onClick={() => setEditing(true)} data-testid="baselib-edit">
              {t('baselib.edit')}
            </Button>
            <Button type="primary" loading={starting || !!active} onClick={run} data-testid="baselib-run">
              {t('baselib.run')}
            </Button>
          </Space>
        ) : null
      }
    >
      <Descriptions size="small" column={3}>
        <Descriptions.Item label={t('baselib.kind')}>{tEnum('libKind', l.kind)}</Descriptions.Item>
        <Descriptions.Item label={t('baselib.keyKind')}>{tEnum('keyKind', l.keyKind)}</Descriptions.Item>
        <Descriptions.Item label={t('baselib.version')}>{l.version}</Descriptions.Item>
        <Descriptions.Item label={t('baselib.class')}>{l.className ?? '-'}</Descriptions.Item>
        <Descriptions.Item label={t('baselib.description')} span={2}>
          {l.description || '-'}
        </Descriptions.Item>
      </Descriptions>
      <Typography.Title level={5}>{t('baselib.fields')}</Typography.Title>
      <Table
        data-testid="baselib-fields"
        size="small"
        rowKey="code"
        pagination={false}
        dataSource={l.fields}
        columns={[
          { title: t('baselib.fieldName'), dataIndex: 'name' },
          {
            title: t('baselib.authoritative'),
            render: (_: unknown, f: Library['fields'][number]) => (
              <Tag color="blue">{sourceText(f.authoritative)}</Tag>
            ),
          },
          {
            title: t('baselib.secondary'),
            render: (_: unknown, f: Library['fields'][number]) =>
              f.secondary.length
                ? f.secondary.map((s) => <Tag key={s.resourceId}>{sourceText(s)}</Tag>)
                : '-',
          },
        ]}
      />
      <Typography.Title level={5} style={{ marginTop: 16 }}>
        {t('baselib.runs')}
      </Typography.Title>
      <Table
        data-testid="baselib-runs"
        size="small"
        rowKey="id"
        pagination={false}
        dataSource={l.runs}
        columns={[
          {
            title: t('baselib.assembledAt'),
            render: (_: unknown, r: Run) => fmtTime(r.finishedAt ?? r.requestedAt),
          },
          {
            title: t('baselib.status'),
            render: (_: unknown, r: Run) => (
              <Tag color={runColor[r.status]}>{tEnum('libRunStatus', r.status)}</Tag>
            ),
          },
          { title: t('baselib.progress'), render: (_: unknown, r: Run) => <RunProgress run={r} /> },
          { title: t('baselib.records'), render: (_: unknown, r: Run) => fmtNumber(r.records) },
          { title: t('baselib.openConflicts'), dataIndex: 'conflictsOpen' },
          { title: t('baselib.newConflicts'), dataIndex: 'conflictsNew' },
          { title: t('baselib.clearedConflicts'), dataIndex: 'conflictsCleared' },
        ]}
      />
      <LibraryEditor
        open={editing}
        library={l}
        onClose={() => setEditing(false)}
        onSaved={() => {
          setEditing(false);
          lib.reload();
          onChanged();
        }}
      />
    </Card>
  );
}

function ConflictDrawer({
  id,
  onClose,
  onResolved,
}: {
  id: number | null;
  onClose: () => void;
  onResolved: () => void;
}) {
  const { t, tEnum, lang, colon, paren } = useI18n();
  const { message } = App.useApp();
  const c = useAsync(
    () => (id ? api<ConflictDetail>(`/api/baselib/conflicts/${id}`) : Promise.resolve(null)),
    [id],
  );
  const [form] = Form.useForm();
  const [saving, setSaving] = useState(false);
  const resolve = async () => {
    // an invalid form shows its messages; the rejection is not an error of the page
    const v = await form.validateFields().catch(() => null);
    if (!v) return;
    setSaving(true);
    try {
      await post(`/api/baselib/conflicts/${id}/resolve`, v);
      message.success(t('baselib.resolved'));
      form.resetFields();
      c.reload();
      onResolved();
    } catch (e) {
      message.error(errorText(e, lang));
    } finally {
      setSaving(false);
    }
  };
  const d = c.data;
  return (
    <Drawer open={id !== null} onClose={onClose} width={640} title={t('baselib.detail')} destroyOnHidden>
      <ErrorAlert error={c.error} />
      {d ? (
        <div data-testid="baselib-conflict-detail">
          <Descriptions size="small" column={1} bordered>
            <Descriptions.Item label={t('baselib.key')}>{d.key}</Descriptions.Item>
            <Descriptions.Item label={t('baselib.fieldName')}>{d.field.name}</Descriptions.Item>
            <Descriptions.Item label={t('baselib.authValue')}>
              {d.authoritative.value ?? '-'}
              {paren(`${d.authoritative.orgName} · ${d.authoritative.resourceName}`)}
            </Descriptions.Item>
            <Descriptions.Item label={t('baselib.secValue')}>
              {d.secondary.value ?? '-'}
              {paren(`${d.secondary.orgName} · ${d.secondary.resourceName}`)}
            </Descriptions.Item>
            <Descriptions.Item label={t('baselib.status')}>
              <Tag color={conflictColor[d.status]}>{tEnum('conflictStatus', d.status)}</Tag>
              {d.resolution ? tEnum('resolution', d.resolution) : null}
            </Descriptions.Item>
            {d.note ? <Descriptions.Item label={t('baselib.note')}>{d.note}</Descriptions.Item> : null}
          </Descriptions>
          {d.record ? (
            <>
              <Typography.Title level={5} style={{ marginTop: 16 }}>
                {t('baselib.record')}
              </Typography.Title>
              <Table
                size="small"
                rowKey="code"
                pagination={false}
                dataSource={d.record}
                columns={[
                  { title: t('baselib.fieldName'), dataIndex: 'name' },
                  { title: t('baselib.value'), dataIndex: 'value' },
                  {
                    title: t('baselib.source'),
                    render: (_: unknown, r: NonNullable<ConflictDetail['record']>[number]) =>
                      r.source ? `${r.source.orgName} · ${r.source.resourceName}` : '-',
                  },
                ]}
              />
            </>
          ) : null}
          {d.others.length ? (
            <>
              <Typography.Title level={5} style={{ marginTop: 16 }}>
                {t('baselib.otherConflicts')}
              </Typography.Title>
              {d.others.map((o) => (
                <div key={o.id}>
                  {o.field.name}
                  {colon}
                  {o.authoritative.value} / {o.secondary.value}
                  {paren(o.secondary.orgName)}
                  <Tag color={conflictColor[o.status]}>{tEnum('conflictStatus', o.status)}</Tag>
                </div>
              ))}
            </>
          ) : null}
          {d.canResolve ? (
            <Form form={form} layout="vertical" style={{ marginTop: 16 }} data-testid="baselib-resolve-form">
              <Form.Item name="resolution" label={t('baselib.resolution')} rules={[{ required: true }]}>
                <Select
                  data-testid="baselib-resolution"
                  options={['authoritative', 'secondary', 'neither'].map((r) => ({
                    value: r,
                    label: tEnum('resolution', r),
                  }))}
                />
              </Form.Item>
              <Form.Item name="note" label={t('baselib.note')} rules={[{ required: true, max: 2000 }]}>
                <Input.TextArea rows={3} data-testid="baselib-note" />
              </Form.Item>
              <Button type="primary" loading={saving} onClick={resolve} data-testid="baselib-resolve">
                {t('baselib.resolve')}
              </Button>
            </Form>
          ) : null}
        </div>
      ) : null}
    </Drawer>
  );
}

function Conflicts({ libraries }: { libraries: LibraryRow[] }) {
  const { t, tEnum } = useI18n();
  const paging = usePaging(20);
  const [libraryId, setLibraryId] = useState<number | undefined>();
  const [status, setStatus] = useState<string | undefined>('open');
  const [fieldCode, setFieldCode] = useState<string | undefined>();
  const [open, setOpen] = useState<number | null>(null);
  const list = useAsync(
    () =>
      api<{ total: number; counts: Record<string, number>; items: Conflict[] }>('/api/baselib/conflicts', {
        query: { libraryId, status, fieldCode, page: paging.page, pageSize: paging.pageSize },
      }),
    [libraryId, status, fieldCode, paging.page, paging.pageSize],
  );
  const lib = useAsync(
    () => (libraryId ? api<Library>(`/api/baselib/libraries/${libraryId}`) : Promise.resolve(null)),
    [libraryId],
  );
  return (
    <div data-testid="baselib-conflicts">
      <Space wrap style={{ marginBottom: 12 }}>
        <Select
          allowClear
          style={{ width: 200 }}
          placeholder={t('baselib.allLibraries')}
          value={libraryId}
          onChange={(v) => {
            setLibraryId(v);
            setFieldCode(undefined);
            paging.reset();
          }}
          options={libraries.map((l) => ({ value: l.id, label: l.name }))}
          data-testid="baselib-conflict-library"
        />
        <Select
          allowClear
          style={{ width: 160 }}
          placeholder={t('baselib.allStatuses')}
          value={status}
          onChange={(v) => {
            setStatus(v);
            paging.reset();
          }}
          options={['open', 'resolved', 'cleared'].map((s) => ({
            value: s,
            label: `${tEnum('conflictStatus', s)}${list.data?.counts[s] !== undefined && !fieldCode ? ` (${list.data.counts[s]})` : ''}`,
          }))}
          data-testid="baselib-conflict-status"
        />
        {lib.data ? (
          <Select
            allowClear
            style={{ width: 160 }}
            placeholder={t('baselib.fieldName')}
            value={fieldCode}
            onChange={(v) => {
              setFieldCode(v);
              paging.reset();
            }}
            options={lib.data.fields.map((f) => ({ value: f.code, label: f.name }))}
          />
        ) : null}
      </Space>
      <ErrorAlert error={list.error} />
      <Table
        size="small"
        rowKey="id"
        loading={list.loading}
        dataSource={list.data?.items ?? []}
        pagination={paging.pagination(list.data?.total, (n) => t('baselib.total', { n }))}
        onRow={(r) => ({ onClick: () => setOpen(r.id), style: { cursor: 'pointer' } })}
        columns={[
          { title: t('baselib.name'), render: (_: unknown, c: Conflict) => c.library.name },
          { title: t('baselib.key'), dataIndex: 'key' },
          { title: t('baselib.fieldName'), render: (_: unknown, c: Conflict) => c.field.name },
          {
            title: t('baselib.authValue'),
            render: (_: unknown, c: Conflict) => (
              <span>
                {c.authoritative.value}
                <br />
                <Typography.Text type="secondary">{c.authoritative.orgName}</Typography.Text>
              </span>
            ),
          },
          {
            title: t('baselib.secValue'),
            render: (_: unknown, c: Conflict) => (
              <span>
                {c.secondary.value}
                <br />
                <Typography.Text type="secondary">
                  {c.secondary.orgName} · {c.secondary.resourceName}
                </Typography.Text>
              </span>
            ),
          },
          {
            title: t('baselib.status'),
            render: (_: unknown, c: Conflict) => (
              <Tag color={conflictColor[c.status]}>{tEnum('conflictStatus', c.status)}</Tag>
            ),
          },
          { title: t('baselib.foundAt'), render: (_: unknown, c: Conflict) => fmtTime(c.foundAt) },
        ]}
      />
      <ConflictDrawer id={open} onClose={() => setOpen(null)} onResolved={() => list.reload()} />
    </div>
  );
}

function Records({ libraries }: { libraries: LibraryRow[] }) {
  const { t } = useI18n();
  const [libraryId, setLibraryId] = useState<number | undefined>(libraries[0]?.id);
  const [key, setKey] = useState<string>('');
  const [after, setAfter] = useState<number[]>([0]);
  const page = useAsync(
    () =>
      libraryId
        ? api<{
            fields: { code: string; name: string }[];
            items: {
              key: string;
              values: Record<string, string | null>;
              sources: Record<string, { orgName: string } | null>;
            }[];
            next: number | null;
          }>(`/api/baselib/libraries/${libraryId}/records`, {
            query: key ? { key, limit: 20 } : { after: after[after.length - 1], limit: 20 },
          })
        : Promise.resolve(null),
    [libraryId, key, after],
  );
  const d = page.data;
  return (
    <div data-testid="baselib-records">
      <Space wrap style={{ marginBottom: 12 }}>
        <Select
          style={{ width: 200 }}
          value={libraryId}
          onChange={(v) => {
            setLibraryId(v);
            setAfter([0]);
          }}
          options={libraries.map((l) => ({ value: l.id, label: l.name }))}
        />
        <Input.Search
          allowClear
          placeholder={t('baselib.searchKey')}
          style={{ width: 280 }}
          onSearch={(v) => setKey(v.trim())}
        />
        {!key && d?.next ? (
          <Button onClick={() => setAfter([...after, d.next!])}>{t('baselib.more')}</Button>
        ) : null}
      </Space>
      <ErrorAlert error={page.error} />
      {d && d.items.length === 0 ? <Empty description={t('baselib.noRecords')} /> : null}
      {d && d.items.length > 0 ? (
        <Table
          size="small"
          rowKey="key"
          loading={page.loading}
          pagination={false}
          scroll={{ x: 'max-content' }}
          dataSource={d.items}
          columns={[
            { title: t('baselib.key'), dataIndex: 'key', fixed: 'left' },
            ...d.fields.map((f) => ({
              title: f.name,
              render: (_: unknown, r: (typeof d.items)[number]) => (
                <span title={r.sources[f.code]?.orgName ?? ''}>
                  {r.values[f.code] ?? '-'}
                  {r.sources[f.code] ? (
                    <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                      {' '}
                      · {r.sources[f.code]!.orgName}
                    </Typography.Text>
                  ) : null}
                </span>
              ),
            })),
          ]}
        />
      ) : null}
    </div>
  );
}

export default function BaseLibraries() {
  const { t, tEnum } = useI18n();
  const list = useAsync(
    () => api<{ canDefine: boolean; canReadRecords: boolean; items: LibraryRow[] }>('/api/baselib/libraries'),
    [],
  );
  const [selected, setSelected] = useState<number | null>(null);
  const [creating, setCreating] = useState(false);
  const items = list.data?.items ?? [];
  const current = selected ?? items[0]?.id ?? null;
  const tabs = [
    {
      key: 'libraries',
      label: t('baselib.tab.libraries'),
      children: (
        <div>
          <Table
            data-testid="baselib-list"
            size="small"
            rowKey="id"
            loading={list.loading}
            pagination={false}
            dataSource={items}
            rowClassName={(r) => (r.id === current ? 'ant-table-row-selected' : '')}
            onRow={(r) => ({ onClick: () => setSelected(r.id), style: { cursor: 'pointer' } })}
            columns={[
              { title: t('baselib.name'), dataIndex: 'name' },
              { title: t('baselib.kind'), render: (_: unknown, r: LibraryRow) => tEnum('libKind', r.kind) },
              {
                title: t('baselib.keyKind'),
                render: (_: unknown, r: LibraryRow) => tEnum('keyKind', r.keyKind),
              },
              { title: t('baselib.sources'), dataIndex: 'sources' },
              { title: t('baselib.records'), render: (_: unknown, r: LibraryRow) => fmtNumber(r.records) },
              {
                title: t('baselib.openConflicts'),
                render: (_: unknown, r: LibraryRow) => (
                  <Tag color={r.openConflicts ? 'warning' : 'default'}>{r.openConflicts}</Tag>
                ),
              },
              {
                title: t('baselib.assembledAt'),
                render: (_: unknown, r: LibraryRow) =>
                  r.assembledAt ? fmtTime(r.assembledAt) : t('baselib.neverAssembled'),
              },
            ]}
          />
          <div style={{ marginTop: 16 }}>
            {current ? <LibraryPanel key={current} id={current} onChanged={list.reload} /> : null}
          </div>
        </div>
      ),
    },
    { key: 'conflicts', label: t('baselib.tab.conflicts'), children: <Conflicts libraries={items} /> },
  ];
  if (list.data?.canReadRecords)
    tabs.push({ key: 'records', label: t('baselib.tab.records'), children: <Records libraries={items} /> });
  return (
    <div data-testid="page-baselib">
      <PersonalNotice />
      <Card
        title={t('baselib.title')}
        extra={
          list.data?.canDefine ? (
            <Button icon={<PlusOutlined />} onClick={() => setCreating(true)} data-testid="baselib-new">
              {t('baselib.new')}
            </Button>
          ) : null
        }
      >
        <Alert type="info" showIcon title={t('baselib.intro')} style={{ marginBottom: 12 }} />
        {list.data && !list.data.canDefine ? (
          <Alert type="warning" title={t('baselib.readOnly')} style={{ marginBottom: 12 }} />
        ) : null}
        <ErrorAlert error={list.error} />
        <Tabs items={tabs} />
      </Card>
      <LibraryEditor
        open={creating}
        library={null}
        onClose={() => setCreating(false)}
        onSaved={(id) => {
          setCreating(false);
          setSelected(id);
          list.reload();
        }}
      />
    </div>
  );
}
