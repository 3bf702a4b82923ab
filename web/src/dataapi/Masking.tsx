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
import { type FieldClass, KEEP_ENDS_LIMITS } from '../../../src/dataapi/mask-class.js';
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
    if (quarterOf(r)) return `${s}${paren(t('masking.keepByQuarter'))}`;
    return `${s}${paren(`${r.first} / ${r.last}${r.fill ? `${t('punct.list')}${t('masking.fill')} ${r.fill}` : ''}`)}`;
  }
  if (r.strategy === 'replace') return `${s}${paren(r.with)}`;
  if (r.strategy === 'hash') return `${s}${paren(r.length)}`;
  if (r.strategy === 'generaliseDate') return `${s}${paren(tEnum('maskTo', r.to ?? 'year'))}`;
  return s;
}

const STRATEGIES: Strategy[] = ['keepEnds', 'replace', 'hash', 'generaliseDate', 'suppress', 'keep'];

/** keepEnds by a number of characters, or a quarter of the value's length at each end (first and last -1) */
type KeepBy = 'count' | 'quarter';
const quarterOf = (r: Rule) => r.strategy === 'keepEnds' && (r.first ?? 0) < 0 && (r.last ?? 0) < 0;

export default function Masking() {
  const { t, tEnum, lang, paren } = useI18n();
  const { me } = useAuth();
  const { message } = AntApp.useApp();
  const rules = useAsync(() => api<ClassRule[]>('/api/masking/classes'), []);
  const canEdit = hasRole(me, 'platform_admin', 'authority_reviewer');
  const [form] = Form.useForm<Rule & { fieldClass: string; samples: string; keepBy: KeepBy }>();
  const strategy = Form.useWatch('strategy', form);
  const fieldClass = Form.useWatch('fieldClass', form) as FieldClass | undefined;
  const keepBy = Form.useWatch('keepBy', form);
  // what the server accepts for this class (the one table: src/dataapi/mask-class.ts KEEP_ENDS_LIMITS)
  const limits = KEEP_ENDS_LIMITS[fieldClass ?? 'idNumber'] ?? KEEP_ENDS_LIMITS.other;
  const [preview, setPreview] = useState<{ value: string; masked: string | null }[] | null>(null);
  const [busy, setBusy] = useState(false);

  const ruleText = (r: Rule) => maskRuleText(r, { t, tEnum, paren });

  function choose(c: ClassRule) {
    // the parameters of the class picked before go: a fill left over from 地址 would change the ID number's preview
    // a quarter at each end (first and last -1) is a choice of its own, not a count the inputs could hold
    const quarter = quarterOf(c.rule);
    form.setFieldsValue({
      fieldClass: c.fieldClass,
      fill: undefined,
      with: undefined,
      length: undefined,
      to: undefined,
      ...c.rule,
      first: quarter ? undefined : c.rule.first,
      last: quarter ? undefined : c.rule.last,
      keepBy: quarter ? 'quarter' : 'count',
    });
    setPreview(null);
  }

  function ruleOf(v: Rule & { keepBy?: KeepBy }): Rule {
    switch (v.strategy) {
      case 'keepEnds':
        return {
          strategy: 'keepEnds',
          ...(v.keepBy === 'quarter' ? { first: -1, last: -1 } : { first: v.first ?? 0, last: v.last ?? 0 }),
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
      // every rule the form holds, a class's default included, is one the server accepts (the same limits)
      const r = await api<{ items: { value: string; masked: string | null }[] }>('/api/masking/preview', {
        body: { fieldClass: v.fieldClass, rule: ruleOf(v), values },
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
      'keepBy',
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
          initialValues={{ fieldClass: 'idNumber', strategy: 'keepEnds', keepBy: 'count', first: 3, last: 4 }}
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
            {strategy === 'keepEnds' && limits.quarter && (
              <Form.Item name="keepBy" label={t('masking.keepBy')}>
                <Select
                  data-testid="masking-keep-by"
                  style={{ width: 220 }}
                  options={[
                    { value: 'count', label: t('masking.keepByCount') },
                    { value: 'quarter', label: t('masking.keepByQuarter') },
                  ]}
                />
              </Form.Item>
            )}
            {strategy === 'keepEnds' && !(limits.quarter && keepBy === 'quarter') && (
              <>
                <Form.Item
                  name="first"
                  label={t('masking.first')}
                  extra={t('masking.limits', { first: limits.first, last: limits.last })}
                  rules={[{ type: 'integer', min: 0, max: limits.first }]}
                >
                  <InputNumber data-testid="masking-first" min={0} max={limits.first} precision={0} />
                </Form.Item>
                <Form.Item
                  name="last"
                  label={t('masking.last')}
                  rules={[{ type: 'integer', min: 0, max: limits.last }]}
                >
                  <InputNumber data-testid="masking-last" min={0} max={limits.last} precision={0} />
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
