import { App as AntApp, Button, Form, Input, Modal, Timeline, Typography } from 'antd';
import { useState } from 'react';
import { errorText, post } from '../shared/api.js';
import { fmtDate, fmtTime } from '../shared/format.js';
import { useI18n } from '../shared/i18n.js';
import type { ShareRequest } from '../shared/types.js';

/**
 * Resubmit after return (issue 8 point 3): the consumer amends a refused request and resubmits it within the same
 * request (POST /api/sharing/requests/:id/resubmit); the refusing step restarts with its deadline from the profile.
 */
export function ResubmitButton({ req, onDone }: { req: ShareRequest; onDone: () => void }) {
  const { t, lang } = useI18n();
  const { message } = AntApp.useApp();
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [form] = Form.useForm<{ note: string; purpose: string; scope?: string; scenario?: string }>();
  if (!req.canResubmit) return null;
  const send = async () => {
    if (busy) return;
    const v = await form.validateFields();
    setBusy(true);
    setError(null);
    try {
      await post(`/api/sharing/requests/${req.id}/resubmit`, {
        note: v.note.trim(),
        purpose: v.purpose.trim(),
        ...(v.scope !== undefined ? { scope: v.scope.trim() || null } : {}),
        ...(v.scenario !== undefined ? { scenario: v.scenario.trim() || null } : {}),
      });
      message.success(t('req.resubmitted'));
      setOpen(false);
      onDone();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <Button type="primary" data-testid="req-resubmit" onClick={() => setOpen(true)}>
        {t('req.resubmit')}
      </Button>
      <Modal
        open={open}
        title={t('req.resubmit')}
        onCancel={() => setOpen(false)}
        onOk={send}
        okText={t('common.ok')}
        cancelText={t('common.cancel')}
        okButtonProps={{ loading: busy, ...({ 'data-testid': 'req-resubmit-ok' } as object) }}
        destroyOnHidden
      >
        <Typography.Paragraph type="secondary">{t('req.resubmitHint')}</Typography.Paragraph>
        {error ? <div style={{ marginBottom: 12, color: '#cf1322' }}>{errorText(error, lang)}</div> : null}
        <Form
          form={form}
          layout="vertical"
          preserve={false}
          initialValues={{ purpose: req.purpose, scope: req.scope ?? '', scenario: req.scenario ?? '' }}
        >
          <Form.Item
            name="note"
            label={t('req.resubmitNote')}
            rules={[{ required: true, whitespace: true, min: 2, max: 2000 }]}
          >
            <Input.TextArea rows={3} maxLength={2000} showCount data-testid="req-resubmit-note" />
          </Form.Item>
          <Form.Item
            name="purpose"
            label={t('req.purpose')}
            rules={[{ required: true, whitespace: true, min: 4, max: 2000 }]}
          >
            <Input.TextArea rows={2} maxLength={2000} data-testid="req-resubmit-purpose" />
          </Form.Item>
          <Form.Item name="scope" label={t('req.scope')} rules={[{ max: 1000 }]}>
            <Input.TextArea rows={2} maxLength={1000} data-testid="req-resubmit-scope" />
          </Form.Item>
          <Form.Item name="scenario" label={t('req.scenario')} rules={[{ max: 2000 }]}>
            <Input.TextArea rows={2} maxLength={2000} />
          </Form.Item>
        </Form>
      </Modal>
    </>
  );
}

const CHANGE_LABEL = {
  purpose: 'req.purpose',
  scope: 'req.scope',
  scenario: 'req.scenario',
  fields: 'req.fields',
  validUntil: 'req.validUntil',
} as const;

/** The request's returns and resubmissions, oldest first: the refusal, what changed, the restarted step's due date. */
export function ResubmissionTimeline({ req }: { req: ShareRequest }) {
  const { t, lang, colon, paren } = useI18n();
  if (!req.resubmissions?.length) return null;
  return (
    <>
      <Typography.Title level={5} style={{ marginTop: 24 }}>
        {t('req.timeline')}
      </Typography.Title>
      <Timeline
        data-testid="req-resubmissions"
        items={req.resubmissions.map((x) => ({
          key: x.id,
          content: (
            <div style={{ fontSize: 13, lineHeight: '22px' }}>
              <div>
                {t('req.refusal')}
                {paren(
                  `${lang === 'en' ? x.nameEn : x.nameZh}${x.refusedBy ? `${t('punct.list')}${x.refusedBy}` : ''}${
                    x.refusedAt ? ` ${fmtTime(x.refusedAt)}` : ''
                  }`,
                )}
                {colon}
                {x.refusal ?? '-'}
              </div>
              <div>
                {t('req.resubmittedBy')}
                {colon}
                {x.resubmittedBy} {fmtTime(x.resubmittedAt)}
              </div>
              <div>
                {t('req.resubmitNote')}
                {colon}
                {x.note}
              </div>
              {Object.keys(x.changes).length ? (
                <div>
                  {t('req.changes')}
                  {colon}
                  {Object.keys(x.changes)
                    .map((k) => (k in CHANGE_LABEL ? t(CHANGE_LABEL[k as keyof typeof CHANGE_LABEL]) : k))
                    .join(t('punct.list'))}
                </div>
              ) : null}
              <div>
                {t('req.newDue')}
                {colon}
                <b>{fmtDate(x.dueDate)}</b>
              </div>
            </div>
          ),
        }))}
      />
    </>
  );
}
