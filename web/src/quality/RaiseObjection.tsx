import { App, type ButtonProps, Form, Input, Modal, Radio, Select } from 'antd';
import { OBJECTION_PROBLEMS, OBJECTION_TARGETS } from '../../../src/quality/model.js';
import { api, errorText } from '../shared/api.js';
import { useI18n } from '../shared/i18n.js';
import type { Field } from '../shared/types.js';

/** Raise an objection (疑义/异议) from the catalog resource page: a record by key, a field, or the whole resource. */
export default function RaiseObjection({
  resource,
  open,
  onClose,
  onRaised,
}: {
  resource: { id: number; name: string; fields: Field[] };
  open: boolean;
  onClose: () => void;
  onRaised?: (id: number) => void;
}) {
  const { t, tEnum, lang, paren } = useI18n();
  const { message } = App.useApp();
  const [form] = Form.useForm();
  const target = (Form.useWatch('target', form) as string | undefined) ?? 'record';
  const keyField = resource.fields.find((f) => f.isKey);
  const submit = async () => {
    const v = await form.validateFields();
    try {
      const o = await api<{ id: number }>('/api/quality/objections', {
        body: {
          resourceId: resource.id,
          target: v.target,
          recordKey: v.target === 'record' ? v.recordKey : null,
          fieldCode: v.target === 'field' ? v.fieldCode : null,
          problem: v.problem,
          description: v.description,
          evidence: v.evidence || null,
        },
      });
      message.success(t('objection.raised'));
      form.resetFields();
      onClose();
      onRaised?.(o.id);
    } catch (e) {
      message.error(errorText(e, lang));
    }
  };
  return (
    <Modal
      open={open}
      title={`${t('objection.raise')} · ${resource.name}`}
      onCancel={onClose}
      onOk={submit}
      okButtonProps={{ 'data-testid': 'objection-submit' } as ButtonProps}
      destroyOnHidden
    >
      <Form form={form} layout="vertical" initialValues={{ target: 'record', problem: 'wrong' }}>
        <Form.Item name="target" label={t('objection.target')} rules={[{ required: true }]}>
          <Radio.Group
            data-testid="objection-target"
            options={OBJECTION_TARGETS.map((x) => ({ value: x, label: tEnum('objectionTarget', x) }))}
          />
        </Form.Item>
        {target === 'record' ? (
          <Form.Item
            name="recordKey"
            label={keyField ? `${t('objection.recordKey')}${paren(keyField.name)}` : t('objection.recordKey')}
            rules={[{ required: true, max: 64 }]}
          >
            <Input data-testid="objection-key" maxLength={64} />
          </Form.Item>
        ) : null}
        {target === 'field' ? (
          <Form.Item name="fieldCode" label={t('objection.field')} rules={[{ required: true }]}>
            <Select
              data-testid="objection-field"
              options={resource.fields.map((f) => ({ value: f.code, label: f.name }))}
            />
          </Form.Item>
        ) : null}
        <Form.Item name="problem" label={t('objection.problem')} rules={[{ required: true }]}>
          <Radio.Group
            options={OBJECTION_PROBLEMS.map((x) => ({ value: x, label: tEnum('objectionProblem', x) }))}
          />
        </Form.Item>
        <Form.Item
          name="description"
          label={t('objection.description')}
          rules={[{ required: true, whitespace: true, max: 2000 }]}
        >
          <Input.TextArea data-testid="objection-description" rows={3} maxLength={2000} showCount />
        </Form.Item>
        <Form.Item name="evidence" label={t('objection.evidence')} rules={[{ max: 4000 }]}>
          <Input.TextArea rows={2} maxLength={4000} />
        </Form.Item>
      </Form>
    </Modal>
  );
}
