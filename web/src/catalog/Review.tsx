import { Alert, Button, type ButtonProps, Input, Modal, Space, Table, Tag, Timeline, Typography } from 'antd';
import { useState } from 'react';
import { useNavigate } from 'react-router-dom';
import { api, errorText, post } from '../shared/api.js';
import { EnumTag } from '../shared/common.js';
import { fmtTime } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { type Key, useI18n } from '../shared/i18n.js';
import type { DiffRow, Resource, VersionEntry } from '../shared/types.js';

/** Labels of the snapshot's attributes (server: catalog/model SNAPSHOT_KEYS, FIELD_KEYS). */
const ATTRIBUTE_LABELS: Record<string, Key> = {
  name: 'catalog.name',
  summary: 'res.summary',
  classification: 'res.classification',
  classId: 'res.classPath',
  topic: 'res.topic',
  format: 'res.format',
  relatedCodes: 'res.relatedCodes',
  infoSystemId: 'res.infoSystemId',
  catalogLevel: 'catalog.catalogLevel',
  sectionId: 'res.section',
  shareType: 'catalog.shareType',
  shareConditions: 'res.shareConditions',
  legalBasis: 'res.legalBasis',
  legalBasisKind: 'reg.legalBasisKind',
  shareMethod: 'res.shareMethod',
  openType: 'res.openType',
  updateCycle: 'catalog.updateCycle',
  securityLevel: 'catalog.securityLevel',
  keywords: 'res.keywords',
};
const FIELD_LABELS: Record<string, Key> = {
  name: 'field.name',
  type: 'field.storageType',
  dataType: 'field.dataType',
  securityLevel: 'field.securityLevel',
  sensitivePersonal: 'field.sensitivePersonal',
  length: 'field.length',
  required: 'field.required',
  isKey: 'field.isKey',
  personal: 'field.personal',
  sensitive: 'field.sensitive',
  masking: 'field.masking',
  validator: 'field.validator',
};
/** Enum prefixes (i18n) of attributes whose values are codes. */
const ENUMS: Record<string, string> = {
  classification: 'classification',
  catalogLevel: 'catalogLevel',
  shareType: 'shareType',
  shareMethod: 'shareMethod',
  openType: 'openType',
  updateCycle: 'updateCycle',
  securityLevel: 'securityLevel',
  legalBasisKind: 'legalBasisKind',
  type: 'fieldType',
  dataType: 'dataType',
  format: 'format',
  masking: 'masking',
  validator: 'validator',
};

function useDiffText() {
  const { t, tEnum } = useI18n();
  const value = (attr: string | undefined, v: unknown): string => {
    if (v === null || v === undefined || v === '') return '-';
    if (typeof v === 'boolean') return v ? t('common.yes') : t('common.no');
    if (Array.isArray(v)) return v.join(t('punct.list'));
    if (typeof v === 'object' && 'name' in (v as object)) return String((v as { name: string }).name);
    if (attr && ENUMS[attr]) return tEnum(ENUMS[attr], String(v));
    return String(v);
  };
  const item = (d: DiffRow): string => {
    if (d.field) {
      const f = t('history.fieldItem', { field: d.fieldName ?? d.field });
      return d.attribute ? `${f} · ${t(FIELD_LABELS[d.attribute] ?? 'field.name')}` : f;
    }
    return t(ATTRIBUTE_LABELS[d.attribute ?? d.path] ?? 'catalog.name');
  };
  return { value, item };
}

export function DiffTable({ diff, testid }: { diff: DiffRow[]; testid?: string }) {
  const { t } = useI18n();
  const { value, item } = useDiffText();
  if (!diff.length) return <Typography.Text type="secondary">{t('history.noChanges')}</Typography.Text>;
  return (
    <Table<DiffRow>
      data-testid={testid}
      size="small"
      rowKey="path"
      pagination={false}
      dataSource={diff}
      columns={[
        { title: t('history.item'), render: (_, d) => item(d), width: 220 },
        {
          title: t('review.kind'),
          dataIndex: 'kind',
          width: 80,
          render: (v: string) => <EnumTag kind="diffKind" value={v} />,
        },
        { title: t('history.before'), render: (_, d) => value(d.attribute, d.before) },
        { title: t('history.after'), render: (_, d) => value(d.attribute, d.after) },
      ]}
    />
  );
}

/** Every version, newest first: who edited, submitted and decided it, the comment, and the diff to the one before. */
export function HistoryTab({ resource }: { resource: Resource }) {
  const { t } = useI18n();
  const h = useAsync(
    () => api<{ items: VersionEntry[] }>(`/api/catalog/resources/${resource.id}/versions`),
    [resource.id, resource.version, resource.status, resource.workingVersion?.status],
  );
  return (
    <div data-testid="history">
      <Timeline
        items={(h.data?.items ?? []).map((v) => ({
          key: v.versionNo,
          children: (
            <div data-testid={`history-v${v.versionNo}`}>
              <Space wrap>
                <Typography.Text strong>
                  {t('review.version')} {v.versionNo}
                </Typography.Text>
                <EnumTag
                  kind="versionStatus"
                  value={v.live || v.status !== 'published' ? v.status : 'superseded'}
                />
                {v.decision ? <EnumTag kind="reviewDecision" value={v.decision} /> : null}
                <span>
                  {t('history.createdBy')}: {v.createdBy?.displayName ?? '-'} · {fmtTime(v.createdAt)}
                </span>
                {v.submittedAt ? (
                  <span>
                    {t('review.submittedBy')}: {v.submittedBy?.displayName ?? '-'} · {fmtTime(v.submittedAt)}
                  </span>
                ) : null}
                {v.decidedAt ? (
                  <span>
                    {t('review.reviewer')}: {v.decidedBy?.displayName ?? '-'} · {fmtTime(v.decidedAt)}
                  </span>
                ) : null}
              </Space>
              {v.comment ? (
                <div style={{ margin: '4px 0' }}>
                  {t('review.comment')}: {v.comment}
                </div>
              ) : null}
              <div style={{ marginTop: 8 }}>
                <DiffTable diff={v.diff} testid={`diff-v${v.versionNo}`} />
              </div>
            </div>
          ),
        }))}
      />
    </div>
  );
}

/** The version under work: its state, the reviewer's comment, and the diff a reviewer decides on. */
export function WorkingVersion({ resource }: { resource: Resource }) {
  const { t, tEnum } = useI18n();
  const w = resource.workingVersion;
  if (!w) return null;
  return (
    <Alert
      data-testid="working-version"
      style={{ marginBottom: 16 }}
      type={w.status === 'returned' ? 'warning' : 'info'}
      showIcon
      title={t('review.working', { n: w.versionNo, status: tEnum('versionStatus', w.status) })}
      description={
        <>
          {resource.status === 'published' ? <div>{t('review.workingHint')}</div> : null}
          {w.status === 'returned' && w.comment ? (
            <div data-testid="returned-comment">{t('review.returnedComment', { comment: w.comment })}</div>
          ) : null}
        </>
      }
    />
  );
}

/** Edit / submit / publish / return / retire, each shown only to whoever the server says may do it. */
export function ReviewActions({ resource, onDone }: { resource: Resource; onDone: () => void }) {
  const { t, lang } = useI18n();
  const navigate = useNavigate();
  const [modal, setModal] = useState<'return' | 'retire' | 'publish' | null>(null);
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const w = resource.workingVersion;

  async function run(path: string, body?: object) {
    setBusy(true);
    setError(null);
    try {
      await post(`/api/catalog/resources/${resource.id}/${path}`, body);
      setModal(null);
      setText('');
      onDone();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  const needsText = modal === 'return' || modal === 'retire';
  return (
    <>
      {error && !modal ? (
        <Alert type="error" showIcon title={errorText(error, lang)} data-testid="review-error" />
      ) : null}
      <Space wrap>
        {resource.canEdit ? (
          <Button data-testid="resource-edit" onClick={() => navigate(`/catalog/${resource.id}/edit`)}>
            {resource.status === 'published' && !w ? t('review.proposeVersion') : t('review.edit')}
          </Button>
        ) : null}
        {w?.canSubmit ? (
          <Button data-testid="resource-submit" type="primary" loading={busy} onClick={() => run('submit')}>
            {t('review.submit')}
          </Button>
        ) : null}
        {w?.canReview ? (
          <>
            <Button data-testid="review-publish" type="primary" onClick={() => setModal('publish')}>
              {t('review.publish')}
            </Button>
            <Button data-testid="review-return" danger onClick={() => setModal('return')}>
              {t('review.return')}
            </Button>
          </>
        ) : null}
        {resource.canRetire ? (
          <Button data-testid="resource-retire" danger onClick={() => setModal('retire')}>
            {t('review.retire')}
          </Button>
        ) : null}
      </Space>
      <Modal
        open={modal !== null}
        title={
          modal === 'retire'
            ? t('review.retire')
            : modal === 'return'
              ? t('review.return')
              : t('review.publish')
        }
        onCancel={() => setModal(null)}
        okButtonProps={
          {
            'data-testid': 'review-confirm',
            loading: busy,
            disabled: needsText && !text.trim(),
          } as ButtonProps
        }
        onOk={() =>
          modal === 'retire'
            ? run('retire', { reason: text.trim() })
            : modal === 'return'
              ? run('return', { comment: text.trim() })
              : run('publish', { comment: text.trim() || null })
        }
        okText={t('common.ok')}
        cancelText={t('common.cancel')}
      >
        {error ? (
          <Alert type="error" showIcon title={errorText(error, lang)} style={{ marginBottom: 8 }} />
        ) : null}
        {w && modal !== 'retire' && resource.status === 'published' && w.snapshot ? (
          <Tag color="blue" style={{ marginBottom: 8 }}>
            {t('review.newVersion')}
          </Tag>
        ) : null}
        <Input.TextArea
          data-testid="review-text"
          rows={3}
          maxLength={2000}
          value={text}
          placeholder={
            modal === 'retire'
              ? t('review.retireReasonRequired')
              : modal === 'return'
                ? t('review.commentRequired')
                : t('review.comment')
          }
          onChange={(e) => setText(e.target.value)}
        />
      </Modal>
    </>
  );
}
