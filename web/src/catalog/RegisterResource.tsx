import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import {
  Alert,
  Button,
  Card,
  Checkbox,
  Col,
  Form,
  Input,
  InputNumber,
  Radio,
  Row,
  Select,
  Space,
  Table,
  Tag,
  TreeSelect,
  Typography,
} from 'antd';
import { useEffect, useRef, useState } from 'react';
import { useNavigate, useParams } from 'react-router-dom';
import { api, errorText, post } from '../shared/api.js';
import { useAuth } from '../shared/auth.js';
import { className } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import {
  type ClassNode,
  DATA_TYPE_LETTERS,
  DATA_TYPE_STORAGE,
  type DataTypeLetter,
  type Field,
  FORMATS,
  type LegalBasisKind,
  type Masking,
  type Org,
  type Resource,
  type ResourceInput,
  type SecurityLevel,
  type Validator,
} from '../shared/types.js';

const LEVELS: SecurityLevel[] = ['general', 'important', 'core'];
const RANK: Record<SecurityLevel, number> = { general: 0, important: 1, core: 2 };
const MASKINGS: Masking[] = ['none', 'idNumber', 'name', 'phone', 'address', 'creditCode', 'partial'];
const VALIDATORS: (Validator | 'none')[] = ['none', 'idNumber', 'creditCode', 'mobilePhone'];
const UPDATE_CYCLES = ['realtime', 'daily', 'weekly', 'monthly', 'quarterly', 'yearly', 'irregular'];
const CODE_RE = /^[a-z][a-zA-Z0-9]{0,39}$/;
const BASIS_KINDS: LegalBasisKind[] = ['law', 'adminRegulation', 'localRegulation', 'rule', 'other'];

interface FieldRow extends Field {
  rowKey: number;
}

type FormValues = Omit<ResourceInput, 'fields'>;

let nextKey = 1;
function emptyField(): FieldRow {
  return {
    rowKey: nextKey++,
    code: '',
    name: '',
    type: 'string',
    dataType: 'C',
    length: null,
    required: false,
    isKey: false,
    personal: false,
    sensitive: false,
    sensitivePersonal: false,
    securityLevel: 'general',
    masking: 'none',
    validator: null,
  };
}

/** GB/T 43697 就高从严: the resource's level is its highest field's (the server computes the same). */
function gradeOf(rows: FieldRow[]): { level: SecurityLevel; names: string[] } {
  let level: SecurityLevel = 'general';
  for (const r of rows)
    if (RANK[r.securityLevel ?? 'general'] > RANK[level]) level = r.securityLevel ?? 'general';
  return {
    level,
    names:
      level === 'general' ? [] : rows.filter((r) => r.securityLevel === level).map((r) => r.name || r.code),
  };
}

/** The server derives these from the validator (catalog/model VALIDATOR_IMPLIES); the form shows them at once. */
function validatorPatch(validator: Validator | null): Partial<FieldRow> {
  if (validator === 'idNumber')
    return { validator, personal: true, sensitivePersonal: true, masking: 'idNumber' };
  if (validator === 'mobilePhone') return { validator, personal: true, masking: 'phone' };
  if (validator === 'creditCode') return { validator, sensitive: true, masking: 'creditCode' };
  return { validator };
}

/** Checks the fields table; returns the first problem, or null. */
function checkFields(rows: FieldRow[], t: ReturnType<typeof useI18n>['t']): string | null {
  if (rows.length === 0) return t('reg.fieldsRequired');
  const seen = new Set<string>();
  for (const [i, r] of rows.entries()) {
    if (!CODE_RE.test(r.code)) return t('reg.fieldCodeInvalid', { n: i + 1 });
    if (!r.name.trim()) return t('reg.fieldNameRequired', { n: i + 1 });
    if (seen.has(r.code)) return t('reg.fieldDup', { code: r.code });
    seen.add(r.code);
  }
  if (!rows.some((r) => r.isKey)) return t('reg.keyRequired');
  return null;
}

/**
 * The entry editor: registers a new entry (saved as a draft or submitted for review), edits a draft or returned entry,
 * and proposes a new version of a published one (route /catalog/:id/edit), which is reviewed while the live one serves.
 */
export default function RegisterResource() {
  const { t, tEnum, lang } = useI18n();
  const { me } = useAuth();
  const navigate = useNavigate();
  const { id } = useParams();
  const [form] = Form.useForm<FormValues>();
  const [rows, setRows] = useState<FieldRow[]>(() => [emptyField()]);
  const existing = useAsync(
    () => (id ? api<Resource>(`/api/catalog/resources/${id}`) : Promise.resolve(null)),
    [id],
  );
  const published = !!existing.data && existing.data.status === 'published';
  useEffect(() => {
    const r = existing.data;
    if (!r) return;
    const src = r.workingVersion?.snapshot ?? r;
    const { fields, ...meta } = src as ResourceInput;
    form.setFieldsValue({ ...meta, sectionId: meta.sectionId ?? undefined } as FormValues);
    setRows(fields.map((f) => ({ ...f, rowKey: nextKey++ })));
  }, [existing.data, form]);
  // which button sent the form: submit for review, or save a draft
  const submitMode = useRef(true);
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const shareType = Form.useWatch('shareType', form);
  const orgs = useAsync(() => api<Org[]>('/api/orgs'), []);
  const sections = orgs.data?.find((o) => o.id === me?.user.org.id)?.sections ?? [];
  const restricted = shareType === 'conditional' || shareType === 'none';
  const classification = Form.useWatch('classification', form);
  const classes = useAsync(() => api<{ items: ClassNode[] }>('/api/catalog/classes'), []);
  const myOrg = me?.user.org.id;
  const systems = useAsync(
    () =>
      myOrg
        ? api<{ items: { id: number; name: string }[] }>('/api/inventory/systems', {
            query: { orgId: myOrg, pageSize: 200 },
          }).catch(() => ({ items: [] }))
        : Promise.resolve({ items: [] }),
    [myOrg],
  );
  // the class tree of the chosen classification (基础库 / 主题 / 部门): 项 and below
  const classTree = (() => {
    const nodes = (classes.data?.items ?? []).filter((n) => n.kind === classification && n.depth >= 2);
    const build = (parentDepth: number, parentCode: string): object[] =>
      nodes
        .filter((n) => n.depth === parentDepth + 1 && n.code.startsWith(parentCode))
        .map((n) => ({ value: n.id, title: className(n, lang), children: build(n.depth, n.code) }));
    const root = (classes.data?.items ?? []).find((n) => n.depth === 1 && n.kind === classification);
    return root ? build(1, root.code) : [];
  })();
  const grade = gradeOf(rows);

  function patch(rowKey: number, p: Partial<Field>) {
    setRows((rs) => rs.map((r) => (r.rowKey === rowKey ? { ...r, ...p } : r)));
  }

  async function submit(v: FormValues) {
    const problem = checkFields(rows, t);
    setFieldError(problem);
    if (problem) return;
    setBusy(true);
    setError(null);
    try {
      const body: ResourceInput = {
        ...v,
        shareConditions: restricted ? v.shareConditions?.trim() : undefined,
        legalBasis: restricted ? v.legalBasis?.trim() : undefined,
        keywords: v.keywords ?? [],
        // `encrypted` is how the server stores a field (docs/ENCRYPTION.md), shown on the resource page, never sent
        fields: rows.map(({ rowKey: _k, encrypted: _e, ...f }) => ({
          ...f,
          code: f.code.trim(),
          name: f.name.trim(),
          length: f.length ?? undefined,
        })),
      };
      if (!body.topic) delete body.topic;
      if (!body.classId) delete body.classId;
      if (!body.infoSystemId) delete body.infoSystemId;
      // derived by the server from the fields (GB/T 43697)
      delete body.securityLevel;
      if (!body.sectionId) delete body.sectionId;
      if (!restricted) body.legalBasisKind = null;
      body.submit = submitMode.current;
      const saved = id
        ? await api<Resource>(`/api/catalog/resources/${id}`, { method: 'PUT', body })
        : await post<Resource>('/api/catalog/resources', body);
      navigate(`/catalog/${saved.id}`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  const radios = (prefix: string, values: readonly string[], testid: string) => (
    <Radio.Group data-testid={testid} optionType="button" buttonStyle="solid">
      {values.map((v) => (
        <Radio.Button key={v} value={v}>
          <span data-testid={`${testid}-${v}`}>{tEnum(prefix, v)}</span>
        </Radio.Button>
      ))}
    </Radio.Group>
  );

  return (
    <Card
      title={id ? (published ? t('reg.newVersionTitle') : t('reg.editTitle')) : t('reg.title')}
      data-testid="page-register"
    >
      {published ? (
        <Alert
          data-testid="reg-additive"
          type="info"
          showIcon
          title={t('reg.additiveOnly')}
          style={{ marginBottom: 16 }}
        />
      ) : null}
      {error ? (
        <Alert
          data-testid="reg-error"
          type="error"
          showIcon
          title={errorText(error, lang)}
          style={{ marginBottom: 16 }}
        />
      ) : null}
      <Form<FormValues>
        form={form}
        layout="vertical"
        onFinish={submit}
        onValuesChange={(changed: Partial<FormValues>) => {
          // a class belongs to one classification
          if ('classification' in changed) form.setFieldsValue({ classId: undefined });
        }}
        initialValues={{
          classification: 'department',
          catalogLevel: 'city',
          shareType: 'unconditional',
          shareMethod: 'api',
          openType: 'closed',
          updateCycle: 'daily',
          format: 'database',
          keywords: [],
          relatedCodes: [],
        }}
      >
        <Typography.Title level={5}>{t('reg.basic')}</Typography.Title>
        <Row gutter={16}>
          <Col xs={24} md={12}>
            <Form.Item
              name="name"
              label={t('catalog.name')}
              rules={[{ required: true, whitespace: true, message: t('reg.nameRequired') }]}
            >
              <Input data-testid="reg-name" maxLength={100} />
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item name="topic" label={t('res.topic')}>
              <Input data-testid="reg-topic" maxLength={50} />
            </Form.Item>
          </Col>
          <Col span={24}>
            <Form.Item
              name="summary"
              label={t('res.summary')}
              rules={[{ required: true, whitespace: true, message: t('reg.summaryRequired') }]}
            >
              <Input.TextArea data-testid="reg-summary" rows={2} maxLength={1000} />
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item name="classification" label={t('res.classification')}>
              {radios('classification', ['base', 'theme', 'department'], 'reg-classification')}
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item name="catalogLevel" label={t('catalog.catalogLevel')}>
              {radios('catalogLevel', ['city', 'department', 'section'], 'reg-catalog-level')}
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item name="classId" label={t('res.classPath')}>
              <TreeSelect data-testid="reg-class" allowClear treeDefaultExpandAll treeData={classTree} />
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item name="format" label={t('res.format')}>
              <Select
                data-testid="reg-format"
                options={FORMATS.map((v) => ({ value: v, label: tEnum('format', v) }))}
              />
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            {/* GB/T 43697: the resource is graded at its highest field; shown, not chosen */}
            <Form.Item label={t('catalog.securityLevel')}>
              <Space data-testid="reg-security-level">
                <Tag
                  color={
                    grade.level === 'general' ? 'default' : grade.level === 'important' ? 'orange' : 'red'
                  }
                >
                  {tEnum('securityLevel', grade.level)}
                </Tag>
                <Typography.Text type="secondary">
                  {grade.names.length
                    ? t('res.securityReasonText', { fields: grade.names.join(t('punct.list')) })
                    : t('res.securityReasonGeneral')}
                </Typography.Text>
              </Space>
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item name="infoSystemId" label={t('res.infoSystemId')}>
              <Select
                data-testid="reg-info-system"
                allowClear
                options={(systems.data?.items ?? []).map((s) => ({ value: s.id, label: s.name }))}
              />
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item name="relatedCodes" label={t('res.relatedCodes')}>
              <Select data-testid="reg-related" mode="tags" open={false} suffixIcon={null} />
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item name="sectionId" label={t('res.section')}>
              <Select
                data-testid="reg-section"
                allowClear
                options={sections.map((s) => ({ value: s.id, label: s.name }))}
              />
            </Form.Item>
          </Col>
          <Col span={24}>
            <Form.Item name="updateCycle" label={t('catalog.updateCycle')}>
              {radios('updateCycle', UPDATE_CYCLES, 'reg-update-cycle')}
            </Form.Item>
          </Col>
          <Col span={24}>
            <Form.Item name="keywords" label={t('res.keywords')}>
              <Select data-testid="reg-keywords" mode="tags" open={false} suffixIcon={null} />
            </Form.Item>
          </Col>
        </Row>

        <Typography.Title level={5}>{t('reg.sharing')}</Typography.Title>
        <Row gutter={16}>
          <Col xs={24} md={12}>
            <Form.Item name="shareType" label={t('catalog.shareType')}>
              {radios('shareType', ['unconditional', 'conditional', 'none'], 'reg-share-type')}
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item name="shareMethod" label={t('res.shareMethod')}>
              {radios('shareMethod', ['api', 'table', 'file'], 'reg-share-method')}
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item name="openType" label={t('res.openType')}>
              {radios('openType', ['open', 'onApplication', 'closed'], 'reg-open-type')}
            </Form.Item>
          </Col>
          {restricted ? (
            <>
              <Col span={24}>
                {/* DG Art 19: conditional and not-shared resources state their conditions and legal basis. */}
                <Form.Item
                  name="shareConditions"
                  label={t('res.shareConditions')}
                  rules={[{ required: true, whitespace: true, message: t('reg.conditionsRequired') }]}
                >
                  <Input.TextArea data-testid="reg-share-conditions" rows={2} maxLength={1000} />
                </Form.Item>
              </Col>
              <Col span={24}>
                <Form.Item
                  name="legalBasis"
                  label={t('res.legalBasis')}
                  rules={[{ required: true, whitespace: true, message: t('reg.legalBasisRequired') }]}
                >
                  <Input.TextArea data-testid="reg-legal-basis" rows={2} maxLength={1000} />
                </Form.Item>
              </Col>
              <Col xs={24} md={12}>
                {/* DG Art 24, GD Art 16: a law, regulation or rule; never an internal document */}
                <Form.Item
                  name="legalBasisKind"
                  label={t('reg.legalBasisKind')}
                  rules={[{ required: true, message: t('reg.legalBasisKindRequired') }]}
                >
                  <Select
                    data-testid="reg-legal-basis-kind"
                    options={BASIS_KINDS.map((v) => ({ value: v, label: tEnum('legalBasisKind', v) }))}
                  />
                </Form.Item>
              </Col>
            </>
          ) : null}
        </Row>

        <Typography.Title level={5}>{t('res.fields')}</Typography.Title>
        <Typography.Paragraph type="secondary">{t('reg.fieldsHint')}</Typography.Paragraph>
        {fieldError ? (
          <Alert
            data-testid="reg-field-error"
            type="error"
            showIcon
            title={fieldError}
            style={{ marginBottom: 12 }}
          />
        ) : null}
        <Table<FieldRow>
          data-testid="reg-fields"
          size="small"
          rowKey="rowKey"
          pagination={false}
          scroll={{ x: 'max-content' }}
          dataSource={rows}
          columns={[
            {
              title: t('field.code'),
              width: 150,
              render: (_, r, i) => (
                <Input
                  data-testid={`field-code-${i}`}
                  value={r.code}
                  status={r.code && !CODE_RE.test(r.code) ? 'error' : undefined}
                  onChange={(e) => patch(r.rowKey, { code: e.target.value })}
                />
              ),
            },
            {
              title: t('field.name'),
              width: 150,
              render: (_, r, i) => (
                <Input
                  data-testid={`field-name-${i}`}
                  value={r.name}
                  onChange={(e) => patch(r.rowKey, { name: e.target.value })}
                />
              ),
            },
            {
              // 1272 信息项数据类型; the storage type follows from it (one mapping, shared with the server)
              title: t('field.dataType'),
              width: 130,
              render: (_, r, i) => (
                <Select
                  data-testid={`field-type-${i}`}
                  style={{ width: 120 }}
                  value={r.dataType ?? 'C'}
                  onChange={(v: DataTypeLetter) =>
                    patch(r.rowKey, { dataType: v, type: DATA_TYPE_STORAGE[v] })
                  }
                  options={DATA_TYPE_LETTERS.map((v) => ({ value: v, label: tEnum('dataType', v) }))}
                />
              ),
            },
            {
              title: t('field.securityLevel'),
              width: 120,
              render: (_, r, i) => (
                <Select
                  data-testid={`field-securityLevel-${i}`}
                  style={{ width: 110 }}
                  value={r.securityLevel ?? 'general'}
                  onChange={(v: SecurityLevel) => patch(r.rowKey, { securityLevel: v })}
                  options={LEVELS.map((v) => ({ value: v, label: tEnum('securityLevel', v) }))}
                />
              ),
            },
            {
              title: t('field.length'),
              width: 90,
              render: (_, r, i) => (
                <InputNumber
                  data-testid={`field-length-${i}`}
                  min={1}
                  max={4000}
                  style={{ width: 80 }}
                  value={r.length ?? null}
                  onChange={(v) => patch(r.rowKey, { length: typeof v === 'number' ? v : null })}
                />
              ),
            },
            ...(
              [
                ['required', 'field.required'],
                ['isKey', 'field.isKey'],
                ['personal', 'field.personal'],
                ['sensitivePersonal', 'field.sensitivePersonal'],
                ['sensitive', 'field.sensitive'],
              ] as const
            ).map(([k, label]) => ({
              title: t(label),
              width: 70,
              align: 'center' as const,
              render: (_: unknown, r: FieldRow, i: number) => (
                <span data-testid={`field-${k}-${i}`}>
                  <Checkbox
                    checked={!!r[k]}
                    onChange={(e) => {
                      const p: Partial<Field> = { [k]: e.target.checked };
                      // A key is always present.
                      if (k === 'isKey' && e.target.checked) p.required = true;
                      // GB/T 35273: sensitive personal information is personal information
                      if (k === 'sensitivePersonal' && e.target.checked) p.personal = true;
                      if (k === 'personal' && !e.target.checked) p.sensitivePersonal = false;
                      patch(r.rowKey, p);
                    }}
                  />
                </span>
              ),
            })),
            {
              title: t('field.masking'),
              width: 150,
              render: (_, r, i) => (
                <Select
                  data-testid={`field-masking-${i}`}
                  style={{ width: 140 }}
                  value={r.masking}
                  onChange={(v) => patch(r.rowKey, { masking: v })}
                  options={MASKINGS.map((v) => ({ value: v, label: tEnum('masking', v) }))}
                />
              ),
            },
            {
              title: t('field.validator'),
              width: 200,
              render: (_, r, i) => (
                <Select
                  data-testid={`field-validator-${i}`}
                  style={{ width: 190 }}
                  value={r.validator ?? 'none'}
                  onChange={(v) => patch(r.rowKey, validatorPatch(v === 'none' ? null : (v as Validator)))}
                  options={VALIDATORS.map((v) => ({ value: v, label: tEnum('validator', v) }))}
                />
              ),
            },
            {
              title: t('field.allowedValues'),
              width: 200,
              render: (_, r, i) => (
                <Select
                  data-testid={`field-allowed-${i}`}
                  mode="tags"
                  open={false}
                  style={{ width: 190 }}
                  disabled={r.type !== 'string' && r.type !== 'integer'}
                  placeholder={t('field.allowedValuesHint')}
                  tokenSeparators={[',', '，', '、']}
                  value={r.allowedValues ?? []}
                  onChange={(v: string[]) => {
                    const values = [...new Set(v.map((x) => x.trim()).filter(Boolean))].slice(0, 500);
                    patch(r.rowKey, { allowedValues: values.length ? values : null });
                  }}
                />
              ),
            },
            {
              title: t('common.actions'),
              width: 70,
              render: (_, r, i) => (
                <Button
                  data-testid={`field-remove-${i}`}
                  type="text"
                  danger
                  icon={<DeleteOutlined />}
                  disabled={rows.length <= 1}
                  aria-label={t('field.remove')}
                  onClick={() => setRows((rs) => rs.filter((x) => x.rowKey !== r.rowKey))}
                />
              ),
            },
          ]}
        />
        <Button
          data-testid="field-add"
          type="dashed"
          icon={<PlusOutlined />}
          style={{ marginTop: 8, width: '100%' }}
          onClick={() => setRows((rs) => [...rs, emptyField()])}
        >
          {t('field.add')}
        </Button>
        <div style={{ marginTop: 24 }}>
          <Space>
            <Button
              data-testid="reg-submit"
              type="primary"
              htmlType="submit"
              loading={busy}
              onClick={() => {
                submitMode.current = true;
              }}
            >
              {t('reg.submit')}
            </Button>
            <Button
              data-testid="reg-save"
              htmlType="submit"
              loading={busy}
              onClick={() => {
                submitMode.current = false;
              }}
            >
              {t('reg.saveDraft')}
            </Button>
          </Space>
        </div>
      </Form>
    </Card>
  );
}
