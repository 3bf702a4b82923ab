import {
  App,
  Button,
  Card,
  DatePicker,
  Descriptions,
  Input,
  Select,
  Space,
  Table,
  Tag,
  Tooltip,
  Typography,
} from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { LABELS } from '../../../src/shared/labels.js';
import { api, errorText, withQuery } from '../shared/api.js';
import { EnumTag, ErrorAlert, PersonalNotice } from '../shared/common.js';
import { fmtNumber, fmtTime } from '../shared/format.js';
import { useAsync, usePaging } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import type { AuditEntry, Page } from '../shared/types.js';
import Integrity from './Integrity.js';

interface Filters {
  action: string;
  decision: string;
  targetKey: string;
  range: [Dayjs | null, Dayjs | null] | null;
  orgId?: number;
  userId?: number;
  appId?: number;
  resourceId?: number;
  grantId?: number;
}

const EMPTY: Filters = { action: '', decision: '', targetKey: '', range: null };

interface Options {
  orgs: { id: number; name: string }[];
  users: { id: number; name: string; orgName: string }[];
  apps: { id: number; name: string; orgName: string }[];
  resources: { id: number; name: string; code: string }[];
}

interface SavedQuery {
  id: number;
  name: string;
  filter: Partial<Omit<Filters, 'range'>> & { from?: string; to?: string };
}

/** What a saved query stores: the filters, dates as ISO strings, nothing empty. */
function toSaved(f: Filters): SavedQuery['filter'] {
  const out: SavedQuery['filter'] = {};
  for (const k of ['action', 'decision', 'targetKey'] as const) if (f[k]) out[k] = f[k];
  for (const k of ['orgId', 'userId', 'appId', 'resourceId', 'grantId'] as const) if (f[k]) out[k] = f[k];
  if (f.range?.[0]) out.from = f.range[0].startOf('day').toISOString();
  if (f.range?.[1]) out.to = f.range[1].endOf('day').toISOString();
  return out;
}

function fromSaved(q: SavedQuery['filter']): Filters {
  const { from, to, ...rest } = q;
  return {
    ...EMPTY,
    ...rest,
    range: from || to ? [from ? dayjs(from) : null, to ? dayjs(to) : null] : null,
  };
}

/**
 * Every action the server audits has its label in the one label table (test/labels.test.ts finds each one the server
 * writes), so the filter offers them all, in code order (grouped by feature), searchable by their names.
 */
const ACTIONS = Object.keys(LABELS)
  .filter((k) => k.startsWith('action.'))
  .map((k) => k.slice('action.'.length))
  .sort();

/** Detail entries worth a line of their own; codes are shown by their label, never raw. */
function DetailView({ e, onGrant }: { e: AuditEntry; onGrant: (grantId: number) => void }) {
  const { t, tEnum } = useI18n();
  const detail = (e.detail ?? {}) as Record<string, unknown>;
  const items = [
    { key: 'target', label: t('audit.target'), children: targetText(e, tEnum) },
    { key: 'purpose', label: t('audit.purpose'), children: e.purpose || '-' },
    {
      key: 'fields',
      label: t('audit.fields'),
      children: (e.fieldNames ?? e.fields)?.join(t('punct.list')) || '-',
    },
    {
      key: 'grant',
      label: t('menu.grants'),
      children: e.grantId ? (
        <Button
          size="small"
          type="link"
          data-testid={`audit-grant-${e.id}`}
          onClick={() => onGrant(e.grantId as number)}
        >
          {t('audit.grantCalls', { id: e.grantId })}
        </Button>
      ) : (
        '-'
      ),
    },
    { key: 'client', label: t('audit.clientIp'), children: e.clientIp || '-' },
  ];
  // the data statement records `reason`, the HTTP layer's refusal record `code`: both are error codes
  const reason =
    typeof detail.reason === 'string' ? detail.reason : typeof detail.code === 'string' ? detail.code : null;
  if (reason) items.push({ key: 'reason', label: t('audit.reason'), children: tEnum('error', reason) });
  return <Descriptions data-testid={`audit-detail-${e.id}`} size="small" column={2} bordered items={items} />;
}

function targetText(e: AuditEntry, tEnum: (p: string, v: string | null | undefined) => string): string {
  if (!e.targetType) return '-';
  // record keys are stored as a keyed hash: show their masked form only
  const id = e.targetLabel ?? (e.targetType === 'record' ? null : e.targetId);
  return `${tEnum('targetType', e.targetType)}${id != null ? ` ${id}` : ''}`;
}

export default function Audit() {
  const { t, tEnum, lang, paren } = useI18n();
  const { message } = App.useApp();
  const [params] = useSearchParams();
  // a drill-down link (e.g. from a grant) opens the log already filtered
  const initial: Filters = { ...EMPTY, grantId: Number(params.get('grantId')) || undefined };
  const [draft, setDraft] = useState<Filters>(initial);
  const [filters, setFilters] = useState<Filters>(initial);
  const options = useAsync(() => api<Options>('/api/audit/options'), []);
  const saved = useAsync(() => api<{ items: SavedQuery[] }>('/api/audit/saved-queries'), []);
  const [saving, setSaving] = useState<string | null>(null);
  const apply = (f: Filters) => {
    setDraft(f);
    setFilters(f);
    resetPaging();
  };
  const saveQuery = async () => {
    if (!saving?.trim()) return;
    try {
      await api('/api/audit/saved-queries', { body: { name: saving.trim(), filter: toSaved(draft) } });
      message.success(t('audit.saved'));
      setSaving(null);
      saved.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  };
  const deleteQuery = async (id: number) => {
    try {
      await api(`/api/audit/saved-queries/${id}`, { method: 'DELETE' });
      saved.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  };
  const paging = usePaging();
  const { page, pageSize } = paging;
  // past the last numbered page (10 000 records in), older records continue by cursor: the cursors of the pages shown
  // so far beyond it, newest first (empty: the numbered pages)
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const resetPaging = () => {
    paging.reset();
    setCursors([]);
  };

  const from = filters.range?.[0]?.startOf('day').toISOString();
  const to = filters.range?.[1]?.endOf('day').toISOString();
  // one query for the table and the export: the applied filters (not the half-typed ones), so the file is what the
  // table shows
  const query = {
    action: filters.action,
    decision: filters.decision,
    targetKey: filters.targetKey,
    orgId: filters.orgId,
    userId: filters.userId,
    appId: filters.appId,
    resourceId: filters.resourceId,
    grantId: filters.grantId,
    from,
    to,
  };
  const list = useAsync(
    // `more`: the server counted up to `total` (10 000) and stopped; more records match
    () =>
      api<Page<AuditEntry> & { more?: boolean; nextCursor?: string | null; window?: number }>('/api/audit', {
        query: cursor ? { ...query, cursor, pageSize } : { ...query, page, pageSize },
      }),
    [...Object.values(query), page, pageSize, cursor],
  );
  const nextCursor = list.data?.nextCursor;
  // how deep the numbered pages reach (the server's AUDIT_LIST_WINDOW)
  const listWindow = list.data?.window ?? 10_000;
  // the numbered pages end at the count's cap (10 000): on the last one, more records may still match
  const lastNumbered = !cursor && page * pageSize >= (list.data?.total ?? 0);

  /** A searchable choice of one id filter (department, person, app, resource) from the log's own options. */
  const idFilter = <T extends { id: number }>(
    testid: string,
    key: 'orgId' | 'userId' | 'appId' | 'resourceId',
    width: number,
    placeholder: string,
    choices: T[] | undefined,
    label: (c: T) => string,
  ) => (
    <Select
      data-testid={testid}
      allowClear
      showSearch
      optionFilterProp="label"
      style={{ width }}
      placeholder={placeholder}
      value={draft[key]}
      onChange={(v) => setDraft({ ...draft, [key]: v })}
      options={(choices ?? []).map((c) => ({ value: c.id, label: label(c) }))}
    />
  );

  return (
    <div data-testid="page-audit">
      <PersonalNotice />
      <Integrity />
      <Card
        title={t('audit.title')}
        extra={
          <Space wrap>
            <Select
              data-testid="audit-saved"
              style={{ width: 220 }}
              placeholder={t('audit.savedQueries')}
              value={null}
              onChange={(id: number) => {
                const q = saved.data?.items.find((x) => x.id === id);
                if (q) apply(fromSaved(q.filter));
              }}
              options={(saved.data?.items ?? []).map((q) => ({
                value: q.id,
                label: (
                  <Space style={{ justifyContent: 'space-between', width: '100%' }}>
                    {q.name}
                    <Button
                      size="small"
                      type="text"
                      danger
                      onClick={(ev) => {
                        ev.stopPropagation();
                        void deleteQuery(q.id);
                      }}
                    >
                      {t('common.delete')}
                    </Button>
                  </Space>
                ),
              }))}
            />
            {saving === null ? (
              <Button data-testid="audit-save-query" onClick={() => setSaving('')}>
                {t('audit.saveQuery')}
              </Button>
            ) : (
              <Space.Compact>
                <Input
                  data-testid="audit-save-name"
                  autoFocus
                  maxLength={50}
                  placeholder={t('audit.queryName')}
                  value={saving}
                  onChange={(e) => setSaving(e.target.value)}
                  onPressEnter={saveQuery}
                />
                <Button type="primary" data-testid="audit-save-confirm" onClick={saveQuery}>
                  {t('common.save')}
                </Button>
                <Button onClick={() => setSaving(null)}>{t('common.cancel')}</Button>
              </Space.Compact>
            )}
          </Space>
        }
      >
        <Space wrap style={{ marginBottom: 16 }}>
          {idFilter('audit-org', 'orgId', 220, t('audit.org'), options.data?.orgs, (o) => o.name)}
          {idFilter(
            'audit-user',
            'userId',
            200,
            t('audit.actor'),
            options.data?.users,
            (u) => `${u.name}${paren(u.orgName)}`,
          )}
          {idFilter(
            'audit-app',
            'appId',
            200,
            t('audit.app'),
            options.data?.apps,
            (a) => `${a.name}${paren(a.orgName)}`,
          )}
          {idFilter(
            'audit-resource',
            'resourceId',
            240,
            t('audit.resource'),
            options.data?.resources,
            (r) => `${r.name} ${r.code}`,
          )}
          {draft.grantId ? (
            <Tag
              data-testid="audit-grant-filter"
              closable
              onClose={() => setDraft({ ...draft, grantId: undefined })}
              color="blue"
            >
              {t('audit.grantCalls', { id: draft.grantId })}
            </Tag>
          ) : null}
          <Select
            data-testid="audit-action"
            style={{ width: 200 }}
            showSearch
            optionFilterProp="label"
            value={draft.action}
            onChange={(v) => setDraft({ ...draft, action: v })}
            options={[
              { value: '', label: t('audit.actionAll') },
              ...ACTIONS.map((a) => ({ value: a, label: tEnum('action', a) })),
            ]}
          />
          <Tooltip title={t('audit.targetKeyHint')}>
            <Input
              data-testid="audit-target-key"
              allowClear
              style={{ width: 230 }}
              maxLength={200}
              placeholder={t('audit.targetKey')}
              value={draft.targetKey}
              onChange={(e) => setDraft({ ...draft, targetKey: e.target.value })}
              onPressEnter={() => {
                setFilters({ ...draft, targetKey: draft.targetKey.trim() });
                resetPaging();
              }}
            />
          </Tooltip>
          <Select
            data-testid="audit-decision"
            style={{ width: 140 }}
            value={draft.decision}
            onChange={(v) => setDraft({ ...draft, decision: v })}
            options={[
              { value: '', label: `${t('audit.decision')}: ${t('common.all')}` },
              { value: 'allow', label: tEnum('decision', 'allow') },
              { value: 'deny', label: tEnum('decision', 'deny') },
            ]}
          />
          <DatePicker.RangePicker
            data-testid="audit-range"
            value={draft.range}
            onChange={(v) => setDraft({ ...draft, range: v })}
          />
          <Button
            data-testid="audit-search"
            type="primary"
            onClick={() => {
              setFilters({ ...draft, targetKey: draft.targetKey.trim() });
              resetPaging();
            }}
          >
            {t('common.search')}
          </Button>
          <Button
            onClick={() => {
              setDraft(EMPTY);
              setFilters(EMPTY);
              resetPaging();
            }}
          >
            {t('common.reset')}
          </Button>
          <Button data-testid="audit-export" href={withQuery('/api/audit/export.csv', query)}>
            {t('audit.exportCsv')}
          </Button>
        </Space>
        <ErrorAlert error={list.error} />
        <Table<AuditEntry>
          data-testid="audit-table"
          rowKey="id"
          size="small"
          loading={list.loading}
          dataSource={list.data?.items ?? []}
          scroll={{ x: 'max-content' }}
          expandable={{
            expandedRowRender: (e) => (
              <DetailView e={e} onGrant={(grantId) => apply({ ...EMPTY, grantId })} />
            ),
          }}
          pagination={
            cursor
              ? false
              : paging.pagination(list.data?.total, (n) =>
                  list.data?.more
                    ? t('audit.totalMore', { n: fmtNumber(n) })
                    : t('common.total', { n: fmtNumber(n) }),
                )
          }
          columns={[
            {
              title: t('audit.time'),
              dataIndex: 'occurredAt',
              width: 170,
              render: (v: string) => fmtTime(v),
            },
            {
              title: t('audit.action'),
              dataIndex: 'action',
              render: (v: string, e) => (
                <>
                  {tEnum('action', v)}
                  {e.repeatCount > 1 ? (
                    <Tag data-testid={`audit-repeat-${e.id}`}>
                      {t('audit.repeated', { n: e.repeatCount })}
                    </Tag>
                  ) : null}
                </>
              ),
            },
            {
              title: t('audit.decision'),
              dataIndex: 'decision',
              render: (v: string) => <EnumTag kind="decision" value={v} />,
            },
            { title: t('audit.actor'), render: (_, e) => e.actor?.displayName ?? '-' },
            { title: t('audit.org'), render: (_, e) => e.org?.name ?? '-' },
            { title: t('audit.app'), render: (_, e) => e.app?.name ?? '-' },
            {
              title: t('audit.resource'),
              render: (_, e) =>
                e.resource ? (
                  <span>
                    {e.resource.name} <Typography.Text code>{e.resource.code}</Typography.Text>
                  </span>
                ) : (
                  '-'
                ),
            },
            { title: t('audit.target'), render: (_, e) => targetText(e, tEnum) },
            {
              title: t('audit.purpose'),
              dataIndex: 'purpose',
              ellipsis: true,
              render: (v: string | null) => v || '-',
            },
            {
              title: t('audit.rows'),
              dataIndex: 'rowsReturned',
              align: 'right',
              render: (v: number | null) => v ?? '-',
            },
            {
              title: t('audit.fields'),
              render: (_, e) => {
                const names = e.fieldNames ?? e.fields;
                return names?.length ? names.map((f) => <Tag key={f}>{f}</Tag>) : '-';
              },
            },
            { title: t('audit.clientIp'), dataIndex: 'clientIp', render: (v: string | null) => v || '-' },
          ]}
        />
        {(cursor || (lastNumbered && list.data?.more && nextCursor)) && (
          <Space data-testid="audit-older-paging" style={{ marginTop: 12 }} wrap>
            {cursor && (
              <>
                <Typography.Text data-testid="audit-older-page">
                  {t('audit.olderPage', { n: cursors.length, window: fmtNumber(listWindow) })}
                </Typography.Text>
                <Button data-testid="audit-newest" onClick={() => setCursors([])}>
                  {t('audit.backToNumbered')}
                </Button>
                <Button data-testid="audit-newer" onClick={() => setCursors(cursors.slice(0, -1))}>
                  {t('audit.newerPage')}
                </Button>
              </>
            )}
            <Button
              data-testid="audit-older"
              type="primary"
              disabled={!nextCursor || list.loading}
              onClick={() => nextCursor && setCursors([...cursors, nextCursor])}
            >
              {t('audit.olderRecords')}
            </Button>
            {!cursor && (
              <Typography.Text type="secondary">
                {t('audit.olderHint', { window: fmtNumber(listWindow) })}
              </Typography.Text>
            )}
          </Space>
        )}
      </Card>
    </div>
  );
}
