import { Alert, Button, Checkbox, DatePicker, Form, Input, Modal, Result, Select, Space, Tag } from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useState } from 'react';
import { useNavigate } from 'react-router-dom';
import { articleText } from '../../../src/shared/labels.js';
import { api, errorText, post } from '../shared/api.js';
import { ProvisionalTag } from '../shared/common.js';
import { fmtDate } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import type { App, Profile, Resource, ShareRequest } from '../shared/types.js';
import { currentStepOf, stepName } from './steps.js';

interface Values {
  appId: number;
  fields: string[];
  purpose: string;
  scenario?: string;
  scope?: string;
  validUntil: Dayjs;
}

/** 申请共享: a consumer's app asks for some fields of a resource. */
export default function ApplyModal({
  resource,
  open,
  onClose,
}: {
  resource: Resource;
  open: boolean;
  onClose: () => void;
}) {
  const i18n = useI18n();
  const { t, lang } = i18n;
  const navigate = useNavigate();
  const [form] = Form.useForm<Values>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState<ShareRequest | null>(null);
  const apps = useAsync(() => (open ? api<App[]>('/api/apps') : Promise.resolve([])), [open]);
  const activeApps = (apps.data ?? []).filter((a) => a.status === 'active');
  // what a conditional request must state comes from the profile (DG Art 26: the business scope)
  const profile = useAsync(() => (open ? api<Profile>('/api/profile') : Promise.resolve(null)), [open]);
  const scopeRequired =
    resource.shareType !== 'unconditional' &&
    (profile.data?.sharing.conditional.requestMustState ?? []).includes('scope');

  async function submit(v: Values) {
    setBusy(true);
    setError(null);
    try {
      const req = await post<ShareRequest>('/api/sharing/requests', {
        resourceId: resource.id,
        appId: v.appId,
        fields: v.fields,
        purpose: v.purpose.trim(),
        scenario: v.scenario?.trim() || undefined,
        scope: v.scope?.trim() || undefined,
        validUntil: v.validUntil.format('YYYY-MM-DD'),
      });
      setCreated(req);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  function close() {
    setCreated(null);
    setError(null);
    form.resetFields();
    onClose();
  }

  return (
    <Modal
      open={open}
      title={t('apply.title', { name: resource.name })}
      onCancel={close}
      width={640}
      destroyOnHidden
      footer={
        created
          ? [
              <Button key="close" onClick={close}>
                {t('common.close')}
              </Button>,
              <Button
                key="go"
                type="primary"
                data-testid="apply-to-requests"
                onClick={() => navigate('/requests')}
              >
                {t('apply.toRequests')}
              </Button>,
            ]
          : [
              <Button key="cancel" onClick={close}>
                {t('common.cancel')}
              </Button>,
              <Button
                key="ok"
                type="primary"
                loading={busy}
                data-testid="apply-submit"
                onClick={() => form.submit()}
              >
                {t('common.submit')}
              </Button>,
            ]
      }
    >
      {created ? (
        <Result
          data-testid="apply-success"
          status="success"
          title={t('apply.submitted')}
          subTitle={
            <Space size={6} wrap style={{ justifyContent: 'center' }}>
              <span data-testid="apply-due">
                {t('apply.submittedSub', {
                  step: stepName(currentStepOf(created), lang),
                  due: fmtDate(created.dueDate),
                })}
              </span>
              <ProvisionalTag show={created.dueDateProvisional} testid="apply-due-provisional" />
            </Space>
          }
        />
      ) : (
        <>
          {error ? (
            <Alert
              type="error"
              showIcon
              title={errorText(error, lang)}
              style={{ marginBottom: 16 }}
              data-testid="apply-error"
            />
          ) : null}
          {apps.data && activeApps.length === 0 ? (
            <Alert type="warning" showIcon title={t('apply.noApps')} style={{ marginBottom: 16 }} />
          ) : null}
          <Form<Values>
            form={form}
            layout="vertical"
            onFinish={submit}
            initialValues={{ fields: [], validUntil: dayjs().add(1, 'year') }}
          >
            <Form.Item
              name="appId"
              label={t('apply.app')}
              rules={[{ required: true, message: t('apply.appRequired') }]}
            >
              <Select
                data-testid="apply-app"
                showSearch={{ optionFilterProp: 'label' }}
                loading={apps.loading}
                options={activeApps.map((a) => ({ value: a.id, label: a.name }))}
              />
            </Form.Item>
            <Form.Item
              name="fields"
              label={t('apply.fields')}
              rules={[{ required: true, message: t('apply.fieldsRequired') }]}
            >
              <Checkbox.Group style={{ width: '100%' }}>
                <Space orientation="vertical" size={4}>
                  {resource.fields.map((f) => (
                    <Checkbox key={f.code} value={f.code} data-testid={`apply-field-${f.code}`}>
                      <span data-testid={`apply-field-label-${f.code}`}>
                        {f.name} <code>{f.code}</code>
                      </span>{' '}
                      {f.personal ? <Tag color="orange">{t('field.personal')}</Tag> : null}
                      {f.sensitive ? <Tag color="red">{t('field.sensitive')}</Tag> : null}
                    </Checkbox>
                  ))}
                </Space>
              </Checkbox.Group>
            </Form.Item>
            <Form.Item
              name="purpose"
              label={t('apply.purpose')}
              rules={[{ required: true, whitespace: true, message: t('apply.purposeRequired') }]}
            >
              <Input.TextArea data-testid="apply-purpose" rows={3} maxLength={500} showCount />
            </Form.Item>
            <Form.Item name="scenario" label={t('apply.scenario')}>
              <Input data-testid="apply-scenario" maxLength={200} />
            </Form.Item>
            <Form.Item
              name="scope"
              label={t('req.scope')}
              extra={
                scopeRequired && profile.data
                  ? articleText(profile.data.sharing.conditional.article, lang)
                  : undefined
              }
              rules={
                scopeRequired ? [{ required: true, whitespace: true, message: t('apply.scopeRequired') }] : []
              }
            >
              <Input data-testid="apply-scope" maxLength={500} />
            </Form.Item>
            <Form.Item name="validUntil" label={t('apply.validUntil')} rules={[{ required: true }]}>
              <DatePicker
                data-testid="apply-valid-until"
                allowClear={false}
                disabledDate={(d) => d.isBefore(dayjs(), 'day')}
              />
            </Form.Item>
          </Form>
        </>
      )}
    </Modal>
  );
}
