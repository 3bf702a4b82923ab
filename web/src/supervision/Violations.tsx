import { Alert, App, Button, Card, Form, Input, Modal, Select, Space, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { articleText } from '../../../src/shared/labels.js';
import { api, errorText, post } from '../shared/api.js';
import { ErrorAlert } from '../shared/common.js';
import { fmtTime } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { type Key, useI18n } from '../shared/i18n.js';

interface Row {
  id: number;
  type: string;
  article: string;
  org: { id: number; name: string };
  resource: { id: number; name: string } | null;
  evidence: Record<string, unknown>;
  status: 'open' | 'acknowledged' | 'rectified' | 'closed';
  hits: number;
  firstSeenAt: string;
  lastSeenAt: string;
  rectifyNote: string | null;
  closeReason: 'authority' | 'resolved' | null;
  closeNote: string | null;
  canAcknowledge: boolean;
  canRectify: boolean;
  canClose: boolean;
}
interface Page {
  applicable: boolean;
  rules: { type: string; article: string }[];
  items: Row[];
  total: number;
  canClose: boolean;
}

const STATUS_COLOR: Record<string, string> = {
  open: 'red',
  acknowledged: 'orange',
  rectified: 'blue',
  closed: 'default',
};
// evidence keys whose value is a code with its own label table, an article, or nothing a person needs
const ENUM_OF: Record<string, string> = {
  updateCycle: 'updateCycle',
  changeKind: 'changeKind',
  actor: 'actor',
};
const ARTICLE_KEYS = new Set(['stepArticle', 'replyArticle']);
const HIDDEN = new Set(['step']);

/** Violations detected (XT Art 41, SY Art 47): filters from the address (drill-down from the cockpit), the evidence in words. */
export default function Violations() {
  const { t, tEnum, lang, colon, paren } = useI18n();
  const { message } = App.useApp();
  const [params, setParams] = useSearchParams();
  const type = params.get('type') ?? undefined;
  const status = params.get('status') ?? 'live';
  const orgId = Number(params.get('orgId')) || undefined;
  const [page, setPage] = useState(1);
  const [acting, setActing] = useState<{ row: Row; action: 'acknowledge' | 'rectify' | 'close' } | null>(
    null,
  );
  const [form] = Form.useForm();
  const list = useAsync(
    () =>
      api<Page>('/api/violations', {
        query: { type, status: status === 'all' ? undefined : status, orgId, page, pageSize: 20 },
      }),
    [type, status, orgId, page],
  );
  const profile = useAsync(() => api<{ nameZh: string; nameEn: string }>('/api/profile'), []);
  const setFilter = (k: string, v: string | undefined) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    setParams(next);
    setPage(1);
  };
  const detect = async () => {
    try {
      const r = await post<{ created: number; resolved: number }>('/api/violations/detect');
      message.success(t('violations.detected', { created: r.created, resolved: r.resolved }));
      list.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  };
  const submit = async () => {
    if (!acting) return;
    const v = await form.validateFields();
    try {
      await post(`/api/violations/${acting.row.id}/${acting.action}`, { note: v.note ?? null });
      setActing(null);
      form.resetFields();
      list.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  };
  const evidence = (e: Record<string, unknown>) =>
    Object.entries(e)
      .filter(([k]) => !HIDDEN.has(k))
      .map(([k, v]) => {
        const label = t(`violationEvidence.${k}` as Key);
        const value = Array.isArray(v)
          ? v.join(t('punct.list'))
          : ARTICLE_KEYS.has(k)
            ? articleText(String(v), lang)
            : ENUM_OF[k]
              ? tEnum(ENUM_OF[k], String(v))
              : k === 'lastIngestAt' && v
                ? fmtTime(String(v))
                : v === null
                  ? '—'
                  : String(v);
        return (
          <div key={k}>
            <Typography.Text type="secondary">
              {label}
              {colon}
            </Typography.Text>
            {value}
          </div>
        );
      });
  const data = list.data;
  const profileName = profile.data ? (lang === 'en' ? profile.data.nameEn : profile.data.nameZh) : '';
  return (
    <Card
      data-testid="page-violations"
      title={t('violations.title')}
      extra={
        data?.canClose &&
        data.applicable && (
          <Button data-testid="violations-detect" onClick={detect}>
            {t('violations.detectNow')}
          </Button>
        )
      }
    >
      <ErrorAlert error={list.error} />
      {data && !data.applicable && (
        <Alert
          type="info"
          showIcon
          data-testid="violations-not-applicable"
          message={t('violations.notApplicable', { profile: profileName })}
        />
      )}
      {data?.applicable && (
        <Typography.Paragraph type="secondary">
          {t('violations.intro')}
          {colon}
          {data.rules
            .map((r) => `${tEnum('violationType', r.type)}${paren(articleText(r.article, lang))}`)
            .join(t('punct.list'))}
        </Typography.Paragraph>
      )}
      <Space wrap style={{ marginBottom: 12 }}>
        <Select
          data-testid="violations-type"
          style={{ width: 240 }}
          value={type ?? ''}
          onChange={(v) => setFilter('type', v || undefined)}
          options={[
            { value: '', label: t('violations.allTypes') },
            ...(data?.rules ?? []).map((r) => ({ value: r.type, label: tEnum('violationType', r.type) })),
          ]}
        />
        <Select
          data-testid="violations-status"
          style={{ width: 180 }}
          value={status}
          onChange={(v) => setFilter('status', v)}
          options={[
            { value: 'live', label: t('violations.live') },
            ...['open', 'acknowledged', 'rectified', 'closed'].map((s) => ({
              value: s,
              label: tEnum('violationStatus', s),
            })),
            { value: 'all', label: t('violations.allStatuses') },
          ]}
        />
        {orgId && (
          <Tag closable onClose={() => setFilter('orgId', undefined)}>
            {data?.items[0]?.org.name ?? t('violations.org')}
          </Tag>
        )}
      </Space>
      <Table<Row>
        rowKey="id"
        size="small"
        data-testid="violations-table"
        loading={list.loading}
        dataSource={data?.items ?? []}
        pagination={{ current: page, pageSize: 20, total: data?.total ?? 0, onChange: setPage }}
        columns={[
          {
            title: t('violations.type'),
            render: (_, v) => (
              <>
                <div>{tEnum('violationType', v.type)}</div>
                <Typography.Text type="secondary">{articleText(v.article, lang)}</Typography.Text>
              </>
            ),
          },
          {
            title: t('violations.org'),
            render: (_, v) => (
              <>
                <div>{v.org.name}</div>
                {v.resource && <Typography.Text type="secondary">{v.resource.name}</Typography.Text>}
              </>
            ),
          },
          { title: t('violations.evidence'), render: (_, v) => evidence(v.evidence) },
          {
            title: t('violations.status'),
            render: (_, v) => (
              <>
                <Tag color={STATUS_COLOR[v.status]}>{tEnum('violationStatus', v.status)}</Tag>
                {v.closeReason && <div>{tEnum('violationCloseReason', v.closeReason)}</div>}
                {v.rectifyNote && <div>{v.rectifyNote}</div>}
                {v.closeNote && <div>{v.closeNote}</div>}
              </>
            ),
          },
          {
            title: t('violations.firstSeen'),
            render: (_, v) => (
              <>
                <div>{fmtTime(v.firstSeenAt)}</div>
                <Typography.Text type="secondary">
                  {t('violations.lastSeen')} {fmtTime(v.lastSeenAt)} · {t('violations.hits')} {v.hits}
                </Typography.Text>
              </>
            ),
          },
          {
            title: '',
            render: (_, v) => (
              <Space wrap>
                {v.canAcknowledge && (
                  <Button size="small" onClick={() => setActing({ row: v, action: 'acknowledge' })}>
                    {t('violations.acknowledge')}
                  </Button>
                )}
                {v.canRectify && (
                  <Button size="small" onClick={() => setActing({ row: v, action: 'rectify' })}>
                    {t('violations.rectify')}
                  </Button>
                )}
                {v.canClose && (
                  <Button size="small" onClick={() => setActing({ row: v, action: 'close' })}>
                    {t('violations.close')}
                  </Button>
                )}
              </Space>
            ),
          },
        ]}
      />
      <Modal
        open={!!acting}
        title={acting ? t(`violations.${acting.action}` as Key) : ''}
        onCancel={() => setActing(null)}
        onOk={submit}
        destroyOnClose
      >
        <Form form={form} layout="vertical">
          <Form.Item
            name="note"
            label={t(
              acting?.action === 'rectify'
                ? 'violations.rectifyNote'
                : acting?.action === 'close'
                  ? 'violations.closeNote'
                  : 'violations.note',
            )}
            rules={[{ required: acting?.action !== 'acknowledge' }, { max: 2000 }]}
          >
            <Input.TextArea rows={3} maxLength={2000} />
          </Form.Item>
        </Form>
      </Modal>
    </Card>
  );
}
