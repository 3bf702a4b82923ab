import {
  ArrowLeftOutlined,
  CloudUploadOutlined,
  FlagOutlined,
  LockOutlined,
  SendOutlined,
} from '@ant-design/icons';
import { Button, Card, Descriptions, Empty, Space, Table, Tabs, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useNavigate, useParams } from 'react-router-dom';
import PurchaseTab from '../baselib/PurchaseTab.js';
import UploadModal from '../ingest/UploadModal.js';
import RaiseObjection from '../quality/RaiseObjection.js';
import { api } from '../shared/api.js';
import { hasRole, useAuth } from '../shared/auth.js';
import { EnumTag, ErrorAlert, PersonalNotice } from '../shared/common.js';
import { className, fmtNumber, fmtTime } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import type { Batch, Field, Resource } from '../shared/types.js';
import ApplyModal from '../sharing/ApplyModal.js';
import { HistoryTab, ReviewActions, WorkingVersion } from './Review.js';

function Check({ v }: { v: boolean }) {
  const { t } = useI18n();
  return v ? (
    <Tag color="blue">{t('common.yes')}</Tag>
  ) : (
    <span style={{ color: '#bbb' }}>{t('common.no')}</span>
  );
}

export function useFieldColumns() {
  const { t, tEnum } = useI18n();
  return [
    {
      title: t('field.code'),
      dataIndex: 'code',
      render: (v: string) => <Typography.Text code>{v}</Typography.Text>,
    },
    { title: t('field.name'), dataIndex: 'name' },
    {
      title: t('field.dataType'),
      dataIndex: 'dataType',
      render: (v: string | undefined, f: Field) => (v ? tEnum('dataType', v) : tEnum('fieldType', f.type)),
    },
    {
      title: t('field.securityLevel'),
      dataIndex: 'securityLevel',
      render: (v: string | undefined) => <EnumTag kind="securityLevel" value={v ?? 'general'} />,
    },
    { title: t('field.length'), dataIndex: 'length', render: (v: number | null | undefined) => v ?? '-' },
    { title: t('field.required'), dataIndex: 'required', render: (v: boolean) => <Check v={v} /> },
    { title: t('field.isKey'), dataIndex: 'isKey', render: (v: boolean) => <Check v={v} /> },
    {
      title: t('field.personal'),
      dataIndex: 'personal',
      render: (v: boolean) => (v ? <Tag color="orange">{t('field.personal')}</Tag> : <Check v={false} />),
    },
    {
      title: t('field.sensitivePersonal'),
      dataIndex: 'sensitivePersonal',
      // and how it is stored: encrypted at rest, or still clear (存量明文: a table older than encryption, or a flag turned
      // on while the table held rows, until the conversion job queued at publication has run; docs/ENCRYPTION.md); a
      // flag turned off while values were stored stays encrypted until its decryption job has run (加密存储（待解密）)
      render: (v: boolean | undefined, f: Field) =>
        !v && f.encrypted === true ? (
          <Tag color="geekblue" icon={<LockOutlined />} data-testid="field-decrypt-pending">
            {t('keys.decryptPending')}
          </Tag>
        ) : v ? (
          <Space size={4} wrap>
            <Tag color="red">{t('field.sensitivePersonal')}</Tag>
            {f.encrypted === true && (
              <Tag color="geekblue" icon={<LockOutlined />} data-testid="field-encrypted">
                {t('field.encrypted')}
              </Tag>
            )}
            {f.encrypted === false && <Tag data-testid="field-clear">{t('keys.legacy')}</Tag>}
          </Space>
        ) : (
          <Check v={false} />
        ),
    },
    {
      title: t('field.sensitive'),
      dataIndex: 'sensitive',
      render: (v: boolean) => (v ? <Tag color="red">{t('field.sensitive')}</Tag> : <Check v={false} />),
    },
    {
      title: t('field.masking'),
      dataIndex: 'masking',
      render: (v: string) =>
        v && v !== 'none' ? <Tag color="purple">{tEnum('masking', v)}</Tag> : tEnum('masking', 'none'),
    },
    {
      title: t('field.validator'),
      dataIndex: 'validator',
      render: (v: string | null) => (v ? tEnum('validator', v) : '-'),
    },
  ];
}

function Preview({ resource }: { resource: Resource }) {
  const preview = useAsync(
    () =>
      api<{ columns: Field[]; rows: Record<string, unknown>[] }>(
        `/api/catalog/resources/${resource.id}/preview`,
      ),
    [resource.id, resource.rowCount],
  );
  return (
    <div data-testid="preview">
      <ErrorAlert error={preview.error} />
      <Table<Record<string, unknown> & { __k: number }>
        size="small"
        rowKey="__k"
        loading={preview.loading}
        scroll={{ x: 'max-content' }}
        pagination={false}
        dataSource={(preview.data?.rows ?? []).map((r, i) => ({ ...r, __k: i }))}
        columns={(preview.data?.columns ?? resource.fields).map((f) => ({
          title: f.name,
          dataIndex: f.code,
          render: (v: unknown) => (v === null || v === undefined ? '' : String(v)),
        }))}
      />
    </div>
  );
}

function Batches({ resource }: { resource: Resource }) {
  const { t } = useI18n();
  const batches = useAsync(
    () => api<Batch[]>(`/api/ingest/resources/${resource.id}/batches`),
    [resource.id, resource.rowCount, resource.lastIngestAt],
  );
  return (
    <div data-testid="batches">
      <ErrorAlert error={batches.error} />
      <Table<Batch>
        size="small"
        rowKey="id"
        loading={batches.loading}
        dataSource={batches.data ?? []}
        pagination={{ pageSize: 10, hideOnSinglePage: true }}
        columns={[
          { title: t('batch.filename'), dataIndex: 'filename', render: (v) => v || '-' },
          { title: t('batch.source'), dataIndex: 'source' },
          {
            title: t('common.status'),
            dataIndex: 'status',
            render: (v: string) => <EnumTag kind="batchStatus" value={v} />,
          },
          { title: t('batch.rowsTotal'), dataIndex: 'rowsTotal', align: 'right' },
          { title: t('batch.inserted'), dataIndex: 'inserted', align: 'right' },
          { title: t('batch.updated'), dataIndex: 'updated', align: 'right' },
          { title: t('batch.errorCount'), dataIndex: 'errorCount', align: 'right' },
          { title: t('common.createdAt'), dataIndex: 'createdAt', render: (v: string) => fmtTime(v) },
        ]}
      />
    </div>
  );
}

export default function ResourceDetail() {
  const { id } = useParams();
  const { t, tEnum, lang } = useI18n();
  const { me } = useAuth();
  const navigate = useNavigate();
  const res = useAsync(() => api<Resource>(`/api/catalog/resources/${id}`), [id]);
  const fieldColumns = useFieldColumns();
  const [applyOpen, setApplyOpen] = useState(false);
  const [uploadOpen, setUploadOpen] = useState(false);
  const [objectOpen, setObjectOpen] = useState(false);
  const [tab, setTab] = useState('fields');

  const r = res.data;
  if (!r) {
    return (
      <Card loading={res.loading}>
        <ErrorAlert error={res.error} />
        {!res.loading && !res.error ? <Empty description={t('res.notFound')} /> : null}
      </Card>
    );
  }

  const isProviderOrg = !!me && me.user.org.id === r.provider.id;
  const canUpload = isProviderOrg && hasRole(me, 'data_officer');
  const canPreview = isProviderOrg && hasRole(me, 'data_officer', 'section_head');
  const canApply =
    !!me &&
    !isProviderOrg &&
    hasRole(me, 'data_officer', 'consumer_staff') &&
    r.shareType !== 'none' &&
    r.status === 'published';
  // DG Art 28, NY task 8: a department using the data (or the authority) may object to it
  const canObject =
    !!me &&
    !isProviderOrg &&
    r.status === 'published' &&
    (hasRole(me, 'data_officer', 'consumer_staff') ||
      (me.user.org.kind === 'authority' && hasRole(me, 'authority_reviewer', 'platform_admin')));
  const hasPersonal = r.fields.some((f) => f.personal);

  const tabs = [
    {
      key: 'fields',
      label: `${t('res.fields')} (${r.fields.length})`,
      children: (
        <Table<Field>
          data-testid="fields-table"
          size="small"
          rowKey="code"
          // the field table scrolls sideways instead of being cut off on narrower screens (1440 px and below)
          scroll={{ x: 'max-content' }}
          pagination={false}
          dataSource={r.fields}
          columns={fieldColumns}
        />
      ),
    },
  ];
  if (canPreview) tabs.push({ key: 'preview', label: t('res.preview'), children: <Preview resource={r} /> });
  tabs.push({ key: 'history', label: t('history.title'), children: <HistoryTab resource={r} /> });
  // purchased data (DG Art 25, XT Art 16): the flag, its record and the authority's approval
  tabs.push({ key: 'purchase', label: t('purchase.title'), children: <PurchaseTab resourceId={r.id} /> });
  if (isProviderOrg)
    tabs.push({ key: 'batches', label: t('res.batches'), children: <Batches resource={r} /> });

  return (
    <div data-testid="page-resource">
      {hasPersonal ? <PersonalNotice /> : null}
      <Card
        title={
          <Space>
            <Button type="text" icon={<ArrowLeftOutlined />} onClick={() => navigate(-1)} />
            <span data-testid="resource-name">{r.name}</span>
            <Typography.Text code data-testid="resource-code">
              {r.code}
            </Typography.Text>
            <span data-testid="resource-status">
              <EnumTag kind="resStatus" value={r.status} />
            </span>
            {r.version ? (
              <Typography.Text type="secondary">
                {t('review.version')} {r.version}
              </Typography.Text>
            ) : null}
          </Space>
        }
        extra={
          <Space wrap>
            <ReviewActions resource={r} onDone={res.reload} />
            {canApply ? (
              <Button
                data-testid="apply-btn"
                type="primary"
                icon={<SendOutlined />}
                onClick={() => setApplyOpen(true)}
              >
                {t('res.apply')}
              </Button>
            ) : null}
            {canObject ? (
              <Button data-testid="object-btn" icon={<FlagOutlined />} onClick={() => setObjectOpen(true)}>
                {t('objection.fromResource')}
              </Button>
            ) : null}
            {canUpload ? (
              <Button
                data-testid="upload-btn"
                icon={<CloudUploadOutlined />}
                onClick={() => setUploadOpen(true)}
              >
                {t('res.upload')}
              </Button>
            ) : null}
          </Space>
        }
      >
        <WorkingVersion resource={r} />
        {r.status === 'retired' && r.retireReason ? (
          <Typography.Paragraph type="warning" data-testid="retire-reason">
            {t('review.retiredBecause', { reason: r.retireReason })}
          </Typography.Paragraph>
        ) : null}
        <Descriptions
          data-testid="resource-meta"
          bordered
          size="small"
          // labels never wrap mid-word ("数源部/门")
          styles={{ label: { whiteSpace: 'nowrap' } }}
          column={{ xs: 1, md: 2, xl: 3 }}
          items={[
            { key: 'provider', label: t('catalog.provider'), children: r.provider.name },
            {
              key: 'classPath',
              label: t('res.classPath'),
              children: (
                <span data-testid="resource-class-path">
                  {r.classPath?.length
                    ? r.classPath.map((c) => className(c, lang)).join(' › ')
                    : tEnum('classification', r.classification)}
                </span>
              ),
            },
            {
              key: 'format',
              label: t('res.format'),
              children: (
                <span data-testid="resource-format">{r.format ? tEnum('format', r.format) : '-'}</span>
              ),
            },
            {
              key: 'publishedAt',
              label: t('res.publishedAt'),
              children: <span data-testid="resource-published-at">{fmtTime(r.publishedAt ?? null)}</span>,
            },
            {
              key: 'catalogLevel',
              label: t('catalog.catalogLevel'),
              children: <EnumTag kind="catalogLevel" value={r.catalogLevel} />,
            },
            {
              key: 'shareType',
              label: t('catalog.shareType'),
              children: <EnumTag kind="shareType" value={r.shareType} />,
            },
            {
              key: 'shareMethod',
              label: t('res.shareMethod'),
              children: tEnum('shareMethod', r.shareMethod),
            },
            { key: 'openType', label: t('res.openType'), children: tEnum('openType', r.openType) },
            {
              key: 'updateCycle',
              label: t('catalog.updateCycle'),
              children: tEnum('updateCycle', r.updateCycle),
            },
            {
              key: 'securityLevel',
              label: t('catalog.securityLevel'),
              children: (
                <span data-testid="resource-security-level">
                  <EnumTag kind="securityLevel" value={r.securityLevel} />
                </span>
              ),
            },
            {
              // GB/T 43697: the reason for the level (the fields that set it)
              key: 'securityReason',
              label: t('res.securityReason'),
              children: (
                <span data-testid="resource-security-reason">
                  {!r.securityReason
                    ? '-'
                    : r.securityReason.fields.length
                      ? t('res.securityReasonText', {
                          fields: r.securityReason.fields.map((f) => f.name).join(t('punct.list')),
                        })
                      : t('res.securityReasonGeneral')}
                </span>
              ),
            },
            {
              key: 'infoSystem',
              label: t('res.infoSystemId'),
              children: <span data-testid="resource-info-system">{r.infoSystem?.name ?? '-'}</span>,
            },
            {
              key: 'related',
              label: t('res.relatedCodes'),
              children: (
                <span data-testid="resource-related">
                  {r.related?.length
                    ? r.related.map((x) =>
                        x.id ? (
                          <Tag
                            key={x.code}
                            style={{ cursor: 'pointer' }}
                            onClick={() => navigate(`/catalog/${x.id}`)}
                          >
                            {x.name}
                          </Tag>
                        ) : (
                          <Tag key={x.code}>{x.code}</Tag>
                        ),
                      )
                    : '-'}
                </span>
              ),
            },
            {
              key: 'rowCount',
              label: t('catalog.rowCount'),
              children: <span data-testid="resource-rowcount">{fmtNumber(r.rowCount)}</span>,
            },
            { key: 'lastIngestAt', label: t('res.lastIngestAt'), children: fmtTime(r.lastIngestAt) },
            {
              key: 'status',
              label: t('res.status'),
              children: <EnumTag kind="resStatus" value={r.status} />,
            },
            {
              key: 'keywords',
              label: t('res.keywords'),
              span: 'filled',
              children: r.keywords?.length ? r.keywords.map((k) => <Tag key={k}>{k}</Tag>) : '-',
            },
            { key: 'summary', label: t('res.summary'), span: 'filled', children: r.summary || '-' },
            ...(r.shareType !== 'unconditional'
              ? [
                  {
                    key: 'shareConditions',
                    label: t('res.shareConditions'),
                    span: 'filled' as const,
                    children: r.shareConditions || '-',
                  },
                  {
                    key: 'legalBasis',
                    label: t('res.legalBasis'),
                    span: 'filled' as const,
                    children: r.legalBasis
                      ? `${r.legalBasisKind ? `【${tEnum('legalBasisKind', r.legalBasisKind)}】` : ''}${r.legalBasis}`
                      : '-',
                  },
                ]
              : []),
          ]}
        />
        <Tabs style={{ marginTop: 16 }} activeKey={tab} onChange={setTab} items={tabs} />
      </Card>
      {canApply ? <ApplyModal resource={r} open={applyOpen} onClose={() => setApplyOpen(false)} /> : null}
      {canObject ? (
        <RaiseObjection
          resource={r}
          open={objectOpen}
          onClose={() => setObjectOpen(false)}
          onRaised={(id) => navigate(`/objections?box=mine&open=${id}`)}
        />
      ) : null}
      {canUpload ? (
        <UploadModal
          resource={r}
          open={uploadOpen}
          onClose={() => setUploadOpen(false)}
          onUploaded={res.reload}
        />
      ) : null}
    </div>
  );
}
