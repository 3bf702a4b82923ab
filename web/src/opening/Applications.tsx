import { Alert, Button, Card, Input, InputNumber, Modal, Space, Table, Tag, Typography } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { api, errorText, post } from '../shared/api.js';
import { useI18n } from '../shared/i18n.js';

/*
 * Console page of on-application open data (issue 11 point 4): the provider department's data officers answer
 * applications within the profile's deadline (SY Art 34), the data authority decides reviews of refusals (SY Art 47).
 * Server: /api/opening/applications (src/opening/account-routes.ts), which decides again on every call.
 */
interface Item {
  id: number;
  dataset: { id: number; title: string };
  department: { name: string };
  applicant: { name: string; type: string };
  purpose: string;
  scenario: string;
  securityMeasures: string;
  status: string;
  filedOn: string;
  dueDate: string | null;
  overdue: boolean;
  reason: string | null;
  reviewReason: string | null;
  grantUntil: string | null;
  canDecide: boolean;
  canReview: boolean;
}

type Pending = { item: Item; kind: 'approve' | 'refuse' | 'reviewApprove' | 'reviewUphold' };

export default function OpenApplications() {
  const { t, tEnum, lang, colon, paren } = useI18n();
  const [params] = useSearchParams();
  const [items, setItems] = useState<Item[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const [text, setText] = useState('');
  const [days, setDays] = useState<number>(180);
  const load = useCallback(async () => {
    try {
      setItems((await api<{ items: Item[] }>('/api/opening/applications')).items);
    } catch (e) {
      setError(errorText(e, lang));
    }
  }, [lang]);
  useEffect(() => {
    void load();
  }, [load]);
  const highlight = Number(params.get('open'));
  const submit = async () => {
    if (!pending) return;
    const { item, kind } = pending;
    setError(null);
    try {
      if (kind === 'approve' || kind === 'refuse')
        await post(`/api/opening/applications/${item.id}/decision`, {
          decision: kind,
          ...(text.trim() ? { reason: text.trim() } : {}),
          ...(kind === 'approve' ? { grantDays: days } : {}),
        });
      else
        await post(`/api/opening/applications/${item.id}/review-decision`, {
          decision: kind === 'reviewApprove' ? 'approve' : 'uphold',
          comment: text.trim(),
          ...(kind === 'reviewApprove' ? { grantDays: days } : {}),
        });
      setPending(null);
      setText('');
      await load();
    } catch (e) {
      setError(errorText(e, lang));
    }
  };
  const needsText = pending && pending.kind !== 'approve';
  return (
    <Card title={t('opening.console.title')}>
      {error && <Alert type="error" showIcon message={error} style={{ marginBottom: 12 }} />}
      <Table<Item>
        size="small"
        rowKey="id"
        dataSource={items}
        scroll={{ x: true }}
        rowClassName={(r) => (r.id === highlight ? 'ant-table-row-selected' : '')}
        expandable={{
          expandedRowRender: (r) => (
            <Space direction="vertical">
              <span>
                {t('openStatement.purpose')}
                {colon}
                {r.purpose}
              </span>
              {r.scenario && (
                <span>
                  {t('openStatement.scenario')}
                  {colon}
                  {r.scenario}
                </span>
              )}
              {r.securityMeasures && (
                <span>
                  {t('openStatement.securityMeasures')}
                  {colon}
                  {r.securityMeasures}
                </span>
              )}
              {r.reason && (
                <span>
                  {t('open.app.reason')}
                  {colon}
                  {r.reason}
                </span>
              )}
              {r.reviewReason && (
                <span>
                  {t('open.app.reviewReason')}
                  {colon}
                  {r.reviewReason}
                </span>
              )}
            </Space>
          ),
        }}
        columns={[
          { title: t('open.app.dataset'), key: 'd', render: (_, r) => r.dataset.title },
          {
            title: t('opening.console.applicant'),
            key: 'a',
            render: (_, r) => `${r.applicant.name}${paren(tEnum('openAccountType', r.applicant.type))}`,
          },
          {
            title: t('open.app.status'),
            key: 's',
            render: (_, r) => (
              <Tag
                color={
                  r.overdue
                    ? 'red'
                    : r.status === 'pending' || r.status === 'reviewPending'
                      ? 'blue'
                      : 'default'
                }
              >
                {tEnum('openApplicationStatus', r.status)}
              </Tag>
            ),
          },
          { title: t('open.app.filedOn'), dataIndex: 'filedOn', key: 'f' },
          {
            title: t('open.app.dueDate'),
            key: 'due',
            render: (_, r) => (r.status === 'pending' ? (r.dueDate ?? '-') : '-'),
          },
          { title: t('open.app.grantUntil'), key: 'g', render: (_, r) => r.grantUntil ?? '-' },
          {
            title: '',
            key: 'x',
            render: (_, r) => (
              <Space>
                {r.canDecide && (
                  <>
                    <Button
                      size="small"
                      type="primary"
                      data-testid={`open-approve-${r.id}`}
                      onClick={() => setPending({ item: r, kind: 'approve' })}
                    >
                      {t('opening.console.approve')}
                    </Button>
                    <Button size="small" danger onClick={() => setPending({ item: r, kind: 'refuse' })}>
                      {t('opening.console.refuse')}
                    </Button>
                  </>
                )}
                {r.canReview && (
                  <>
                    <Button
                      size="small"
                      type="primary"
                      onClick={() => setPending({ item: r, kind: 'reviewApprove' })}
                    >
                      {t('opening.console.reviewApprove')}
                    </Button>
                    <Button size="small" onClick={() => setPending({ item: r, kind: 'reviewUphold' })}>
                      {t('opening.console.reviewUphold')}
                    </Button>
                  </>
                )}
              </Space>
            ),
          },
        ]}
      />
      <Modal
        open={pending !== null}
        title={pending ? `${pending.item.dataset.title}` : ''}
        okText={t('open.submit')}
        cancelText={t('open.cancel')}
        okButtonProps={
          { disabled: !!needsText && text.trim().length < 2, 'data-testid': 'open-decision-ok' } as never
        }
        onCancel={() => setPending(null)}
        onOk={submit}
      >
        <Space direction="vertical" style={{ width: '100%' }}>
          {(pending?.kind === 'approve' || pending?.kind === 'reviewApprove') && (
            <Space>
              <span>{t('opening.console.grantDays')}</span>
              <InputNumber min={1} max={366} value={days} onChange={(v) => setDays(Number(v) || 180)} />
            </Space>
          )}
          <Typography.Text>
            {pending?.kind === 'reviewApprove' || pending?.kind === 'reviewUphold'
              ? t('opening.console.comment')
              : t('open.app.reason')}
          </Typography.Text>
          <Input.TextArea rows={3} maxLength={1000} value={text} onChange={(e) => setText(e.target.value)} />
        </Space>
      </Modal>
    </Card>
  );
}
