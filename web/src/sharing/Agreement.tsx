import { App as AntApp, Button, Modal, Space, Tag, Typography } from 'antd';
import { useState } from 'react';
import { articleText } from '../../../src/shared/labels.js';
import { errorText, post } from '../shared/api.js';
import { hasRole, useAuth } from '../shared/auth.js';
import { fmtTime } from '../shared/format.js';
import { useI18n } from '../shared/i18n.js';
import type { Grant } from '../shared/types.js';

/** The use-purpose undertaking the consumer accepted when it filed the request (shown on every grant). */
export function Undertaking({ g }: { g: Grant }) {
  const { t, colon } = useI18n();
  if (!g.undertaking) return null;
  return (
    <Typography.Text type="secondary" style={{ fontSize: 12 }} data-testid={`grant-undertaking-${g.id}`}>
      {t('grant.undertaking')}
      {colon}
      {t('grant.undertakingText', {
        who: g.undertaking.acceptedBy ?? '-',
        at: fmtTime(g.undertaking.acceptedAt),
        purpose: g.undertaking.purpose,
      })}
    </Typography.Text>
  );
}

/**
 * The provide-and-use agreement recorded with the grant (DG Art 18): its terms, who accepted it and when; the consumer's
 * data officer accepts it here (POST /api/sharing/grants/:id/agreement). Nothing where the profile asks for none.
 */
export function AgreementCell({ g, onChanged }: { g: Grant; onChanged: () => void }) {
  const { t, lang } = useI18n();
  const { me } = useAuth();
  const { message } = AntApp.useApp();
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const a = g.agreement;
  if (!a) return null;
  const canAccept =
    !a.acceptedAt &&
    g.recordStatus !== 'revoked' &&
    me?.user.org.id === g.consumerOrg.id &&
    hasRole(me, 'data_officer');
  const accept = async () => {
    if (busy) return;
    setBusy(true);
    try {
      await post(`/api/sharing/grants/${g.id}/agreement`, {});
      message.success(t('cases.saved'));
      setOpen(false);
      onChanged();
    } catch (e) {
      message.error(errorText(e, lang));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <Space direction="vertical" size={2}>
        <Button
          size="small"
          type="link"
          style={{ padding: 0 }}
          data-testid={`grant-agreement-${g.id}`}
          onClick={() => setOpen(true)}
        >
          {t('grant.agreement')}
        </Button>
        {a.acceptedAt ? (
          <Tag color="green" data-testid={`grant-agreement-accepted-${g.id}`}>
            {t('grant.agreementAccepted', { who: a.acceptedBy ?? '-', at: fmtTime(a.acceptedAt) })}
          </Tag>
        ) : (
          <Tag color="orange">{t('grant.agreementPending')}</Tag>
        )}
      </Space>
      <Modal
        open={open}
        title={`${t('grant.agreement')} · ${g.resource.name}`}
        onCancel={() => setOpen(false)}
        footer={
          canAccept ? (
            <Space>
              <Button onClick={() => setOpen(false)}>{t('common.cancel')}</Button>
              <Button type="primary" loading={busy} data-testid="grant-agreement-accept" onClick={accept}>
                {t('grant.agreementAccept')}
              </Button>
            </Space>
          ) : null
        }
        destroyOnHidden
      >
        <Typography.Paragraph style={{ whiteSpace: 'pre-wrap' }} data-testid="grant-agreement-terms">
          {a.terms}
        </Typography.Paragraph>
        <Typography.Paragraph type="secondary">{articleText(a.article, lang)}</Typography.Paragraph>
        {canAccept ? <Typography.Paragraph>{t('grant.agreementAcceptConfirm')}</Typography.Paragraph> : null}
        <Undertaking g={g} />
      </Modal>
    </>
  );
}
