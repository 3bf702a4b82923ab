import {
  App as AntApp,
  Button,
  Card,
  Form,
  Input,
  InputNumber,
  Select,
  Space,
  Table,
  Tag,
  Typography,
} from 'antd';
import { useState } from 'react';
import { api, errorText } from '../shared/api.js';
import { hasRole, useAuth } from '../shared/auth.js';
import { ErrorAlert } from '../shared/common.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';

/*
 * Masking rules by field class (issue 9 point 8): the one masking implementation's strategies, used by the console, the
 * data API, exports and the open portal. Everyone signed in sees the rules and can preview a mask on sample values;
 * the authority (platform admin, authority reviewer) changes a class's rule or resets it (audited).
 */

export type Strategy = 'keepEnds' | 'replace' | 'hash' | 'generaliseDate' | 'suppress' | 'keep';
export interface Rule {
  strategy: Strategy;
  first?: number;
  last?: number;
  fill?: number;
  with?: string;
  length?: number;
  to?: 'year' | 'month';
}
export interface ClassRule {
  fieldClass: string;
  rule: Rule;
  default: Rule;
  custom: boolean;
}

/** A rule in words: the strategy and its parameters (the masking page, the grant's API documentation). */
export function maskRuleText(
  r: Rule,
  { t, tEnum, paren }: Pick<ReturnType<typeof useI18n>, 't' | 'tEnum' | 'paren'>,
): string {
  const s = tEnum('maskStrategy', r.strategy);
  if (r.strategy === 'keepEnds') {
    if ((r.first ?? 0) < 0) return `${s}${paren('¼ / ¼')}`;
    return `${s}${paren(`${r.first} / ${r.last}${r.fill ? `${t('punct.list')}${t('masking.fill')} ${r.fill}` : ''}`)}`;
  }
  if (r.strategy === 'replace') return `${s}${paren(r.with)}`;
  if (r.strategy === 'hash') return `${s}${paren(r.length)}`;
  if (r.strategy === 'generaliseDate') return `${s}${paren(tEnum('maskTo', r.to ?? 'year'))}`;
  return s;
}

const STRATEGIES: Strategy[] = ['keepEnds', 'replace', 'hash', 'generaliseDate', 'suppress', 'keep'];

export default function Masking() {
  const { t, tEnum, lang, paren } = useI18n();
  const { me } = useAuth();
  const { message } = AntApp.useApp();
  const rules = useAsync(() => api<ClassRule[]>('/api/masking/classes'), []);
  const canEdit = hasRole(me, 'platform_admin', 'authority_reviewer');
  const [form] = Form.useForm<Rule & { fieldClass: string; samples: string }>();
  const strategy = Form.useWatch('strategy', form);
  const [preview, setPreview] = useState<{ value: string; masked: string | null }[] | null>(null);
  const [busy, setBusy] = useState(false);

  const ruleText = (r: Rule) => maskRuleText(r, { t, tEnum, paren });

  function choose(c: ClassRule) {
    // the parameters of the class picked before go: a fill left over from 地址 would change the ID number's preview
    form.setFieldsValue({
      fieldClass: c.fieldClass,
      first: undefined,
      last: undefined,
      fill: undefined,
      with: undefined,
      length: undefined,
      to: undefined,
      ...c.rule,
    });
    setPreview(null);
  }

  function ruleOf(v: Rule): Rule {
    switch (v.strategy) {
      case 'keepEnds':
        return {
          strategy: 'keepEnds',
          first: v.first ?? 0,
          last: v.last ?? 0,
          ...(v.fill ? { fill: v.fill } : {}),
        };
      case 'replace':
        return { strategy: 'replace', with: v.with ?? '***' };
      case 'hash':
        return { strategy: 'hash', length: v.length ?? 16 };
      case 'generaliseDate':
        return { strategy: 'generaliseDate', to: v.to ?? 'year' };
      default:
        return { strategy: v.strategy };
    }
  }

  async function runPreview() {
    const v = await form.validateFields();
    setBusy(true);
    try {
      const values = v.samples
        .split('\n')
        .map((s) => s.trim())
        .filter(Boolean)
        .slice(0, 20);
      // the class's rule in force, unchanged, is previewed as the data API applies it (no rule sent): a rule only the
      // defaults may hold (credit code 8 / 2, a quarter at each end for 其他) is not one the form may propose
      const rule = ruleOf(v);
      const inForce = rules.data?.find((c) => c.fieldClass === v.fieldClass)?.rule;
      const same = inForce !== undefined && JSON.stringify(ruleOf(inForce)) === JSON.stringify(rule);
      const r = await api<{ items: { value: string; masked: string | null }[] }>('/api/masking/preview', {
        body: { fieldClass: v.fieldClass, ...(same ? {} : { rule }), values },
      });
      setPreview(r.items);
    } catch (e) {
      message.error(errorText(e, lang));
    } finally {
      setBusy(false);
    }
  }

  async function save(reset: boolean) {
    const v = await form.validateFields([
      'fieldClass',
      'strategy',
      'first',
      'last',
      'fill',
      'with',
      'length',
      'to',
    ]);
    setBusy(true);
    try {
      await api(`/api/masking/classes/${v.fieldClass}`, {
        method: 'PUT',
        body: { rule: reset ? null : ruleOf(v) },
      });
      message.success(t('masking.saved'));
      rules.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Space direction="vertical" style={{ width: '100%' }} size="large">
      <Card data-testid="page-masking" title={t('masking.title')}>
        <Typography.Paragraph type="secondary">{t('masking.hint')}</Typography.Paragraph>
        <ErrorAlert error={rules.error} />
        <Table<ClassRule>
          data-testid="masking-table"
          rowKey="fieldClass"
          size="middle"
          pagination={false}
          loading={rules.loading}
          dataSource={rules.data ?? []}
          onRow={(c) => ({ onClick: () => choose(c), style: { cursor: 'pointer' } })}
          columns={[
            { title: t('masking.class'), render: (_, c) => tEnum('maskClass', c.fieldClass) },
            {
              title: t('masking.strategy'),
              render: (_, c) => (
                <span data-testid={`masking-rule-${c.fieldClass}`}>
                  {ruleText(c.rule)} {c.custom ? <Tag color="orange">{t('masking.custom')}</Tag> : null}
                </span>
              ),
            },
            { title: t('masking.default'), render: (_, c) => ruleText(c.default) },
          ]}
        />
      </Card>
      <Card title={t('masking.preview')}>
        <Form
          form={form}
          layout="vertical"
          initialValues={{ fieldClass: 'idNumber', strategy: 'keepEnds', first: 3, last: 4 }}
        >
          <Space wrap align="start">
            <Form.Item name="fieldClass" label={t('masking.class')} rules={[{ required: true }]}>
              <Select
                data-testid="masking-class"
                style={{ width: 220 }}
                onChange={(c: string) => {
                  const r = rules.data?.find((x) => x.fieldClass === c);
                  if (r) choose(r);
                }}
                options={(rules.data ?? []).map((c) => ({
                  value: c.fieldClass,
                  label: tEnum('maskClass', c.fieldClass),
                }))}
              />
            </Form.Item>
            <Form.Item name="strategy" label={t('masking.strategy')} rules={[{ required: true }]}>
              <Select
                data-testid="masking-strategy"
                style={{ width: 200 }}
                options={STRATEGIES.map((s) => ({ value: s, label: tEnum('maskStrategy', s) }))}
              />
            </Form.Item>
            {strategy === 'keepEnds' && (
              <>
                <Form.Item name="first" label={t('masking.first')}>
                  <InputNumber min={0} max={6} precision={0} />
                </Form.Item>
                <Form.Item name="last" label={t('masking.last')}>
                  <InputNumber min={0} max={6} precision={0} />
                </Form.Item>
                <Form.Item name="fill" label={t('masking.fill')}>
                  <InputNumber min={1} max={20} precision={0} />
                </Form.Item>
              </>
            )}
            {strategy === 'replace' && (
              <Form.Item name="with" label={t('masking.with')}>
                <Input maxLength={20} />
              </Form.Item>
            )}
            {strategy === 'hash' && (
              <Form.Item name="length" label={t('masking.length')}>
                <InputNumber min={8} max={64} precision={0} />
              </Form.Item>
            )}
            {strategy === 'generaliseDate' && (
              <Form.Item name="to" label={t('masking.to')}>
                <Select
                  style={{ width: 120 }}
                  options={(['year', 'month'] as const).map((v) => ({ value: v, label: tEnum('maskTo', v) }))}
                />
              </Form.Item>
            )}
          </Space>
          <Form.Item
            name="samples"
            label={t('masking.sample')}
            rules={[{ required: true, whitespace: true, message: t('masking.sample') }]}
          >
            <Input.TextArea data-testid="masking-samples" rows={3} style={{ maxWidth: 480 }} />
          </Form.Item>
          <Space wrap>
            <Button data-testid="masking-preview" onClick={runPreview} loading={busy}>
              {t('masking.previewRun')}
            </Button>
            {canEdit && (
              <>
                <Button type="primary" data-testid="masking-save" onClick={() => save(false)} loading={busy}>
                  {t('masking.save')}
                </Button>
                <Button onClick={() => save(true)} loading={busy}>
                  {t('masking.reset')}
                </Button>
              </>
            )}
          </Space>
        </Form>
        {preview && (
          <Table
            data-testid="masking-preview-table"
            style={{ marginTop: 16 }}
            rowKey="value"
            size="small"
            pagination={false}
            dataSource={preview}
            columns={[
              { title: t('masking.value'), dataIndex: 'value' },
              {
                title: t('masking.masked'),
                dataIndex: 'masked',
                render: (v: string | null) => <span data-testid="masking-masked">{v ?? '—'}</span>,
              },
            ]}
          />
        )}
      </Card>
    </Space>
  );
}
