import { ApartmentOutlined, PlusOutlined, TeamOutlined } from '@ant-design/icons';
import { App, Button, Card, Form, Input, Modal, Select, Space, Table, Tag, Typography } from 'antd';
import { useMemo, useState } from 'react';
import { api } from '../shared/api.js';
import { EnumTag, ErrorAlert } from '../shared/common.js';
import { className, fmtNumber } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import type { ClassNode, Org } from '../shared/types.js';

interface Row extends ClassNode {
  children?: Row[];
}

/** What the authority is doing in the dialog: adding a node under a parent, or setting a theme's departments. */
type Editing = { mode: 'add'; parent: ClassNode } | { mode: 'departments'; node: ClassNode } | null;

/**
 * The authority organises the classification tree (DG Art 12, XT Art 13, SY Art 26): new themes under 主题 with a lead
 * and contributing departments, 目 and 细目 under any 项 or 目, and a theme's departments changed later. Codes are given
 * by the server (GB/T 21063.5 segment widths); the base libraries and department nodes are the platform's own.
 */
export default function Classes() {
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const classes = useAsync(() => api<{ items: ClassNode[] }>('/api/catalog/classes'), []);
  const orgs = useAsync(() => api<Org[]>('/api/orgs'), []);
  const [editing, setEditing] = useState<Editing>(null);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<unknown>(null);
  // expanded rows: the four roots at first, then whatever the user opens, and the parent of a node just added
  const [expanded, setExpanded] = useState<readonly React.Key[] | null>(null);
  const [form] = Form.useForm<{
    name: string;
    nameEn?: string;
    leadOrgId?: number;
    contributorOrgIds?: number[];
  }>();

  const nodes = classes.data?.items ?? [];
  const tree = useMemo(() => {
    const build = (parentId: number | null): Row[] =>
      nodes
        .filter((n) => n.parentId === parentId)
        .map((n) => {
          const children = build(n.id);
          return children.length ? { ...n, children } : { ...n };
        });
    return build(null);
  }, [nodes]);
  const rootKeys = nodes.filter((n) => n.depth === 1).map((n) => n.id);
  const departments = (orgs.data ?? [])
    .filter((o) => o.kind !== 'enterprise')
    .map((o) => ({ value: o.id, label: o.name }));

  // a new node goes under 主题 (a theme) or under a 项/目 (a 目/细目): never under 基础/部门 roots or below 细目
  const canAddUnder = (n: ClassNode) => n.depth < 4 && (n.depth > 1 || n.kind === 'theme');
  const isThemeRoot = (n: ClassNode) => n.depth === 1 && n.kind === 'theme';
  const depthLabel = (d: number) => t(`classDepth.${d}` as never);

  const open = (e: Editing) => {
    setError(null);
    form.resetFields();
    if (e?.mode === 'departments')
      form.setFieldsValue({
        leadOrgId: e.node.lead?.id,
        contributorOrgIds: e.node.contributors.map((c) => c.id),
      });
    setEditing(e);
  };

  const save = async () => {
    const v = await form.validateFields();
    setSaving(true);
    setError(null);
    try {
      if (editing?.mode === 'add') {
        await api('/api/catalog/classes', {
          body: {
            parentId: editing.parent.id,
            name: v.name,
            nameEn: v.nameEn || null,
            ...(isThemeRoot(editing.parent)
              ? { leadOrgId: v.leadOrgId, contributorOrgIds: v.contributorOrgIds ?? [] }
              : {}),
          },
        });
        const parentId = editing.parent.id;
        setExpanded((keys) => [...(keys ?? rootKeys), parentId]);
        message.success(t('classes.added'));
      } else if (editing?.mode === 'departments') {
        await api(`/api/catalog/classes/${editing.node.id}/departments`, {
          method: 'PUT',
          body: { leadOrgId: v.leadOrgId, contributorOrgIds: v.contributorOrgIds ?? [] },
        });
        message.success(t('classes.saved'));
      }
      setEditing(null);
      classes.reload();
    } catch (e) {
      setError(e);
    } finally {
      setSaving(false);
    }
  };

  const needsDepartments =
    (editing?.mode === 'add' && isThemeRoot(editing.parent)) || editing?.mode === 'departments';

  return (
    <Card
      title={
        <Space>
          <ApartmentOutlined />
          {t('classes.title')}
        </Space>
      }
      data-testid="page-catalog-classes"
    >
      <Typography.Paragraph type="secondary">{t('classes.intro')}</Typography.Paragraph>
      <ErrorAlert error={classes.error} />
      <Table<Row>
        rowKey="id"
        size="small"
        loading={classes.loading}
        dataSource={tree}
        pagination={false}
        expandable={{ expandedRowKeys: expanded ?? rootKeys, onExpandedRowsChange: setExpanded }}
        columns={[
          {
            title: t('classes.name'),
            dataIndex: 'name',
            render: (_: string, n) => (
              <span data-testid={`classes-row-${n.code}`}>
                {className(n, lang)} <Typography.Text type="secondary">{n.code}</Typography.Text>
              </span>
            ),
          },
          { title: t('classes.depth'), dataIndex: 'depth', width: 90, render: (d: number) => depthLabel(d) },
          {
            title: t('classes.kind'),
            dataIndex: 'kind',
            width: 110,
            render: (k: string) => <EnumTag kind="classification" value={k} />,
          },
          {
            title: t('classes.departments'),
            key: 'lead',
            render: (_, n) =>
              n.lead ? (
                <Space size={4} wrap>
                  <Tag color="blue">{n.lead.name}</Tag>
                  {n.contributors.map((c) => (
                    <Tag key={c.id}>{c.name}</Tag>
                  ))}
                </Space>
              ) : null,
          },
          {
            title: t('classes.count'),
            dataIndex: 'count',
            width: 90,
            align: 'right',
            render: (c: number) => fmtNumber(c),
          },
          {
            title: t('common.actions'),
            key: 'actions',
            width: 220,
            render: (_, n) => (
              <Space size={0}>
                {canAddUnder(n) ? (
                  <Button
                    size="small"
                    type="link"
                    icon={<PlusOutlined />}
                    data-testid={`classes-add-${n.code}`}
                    onClick={() => open({ mode: 'add', parent: n })}
                  >
                    {isThemeRoot(n)
                      ? t('classes.addTheme')
                      : t('classes.addChild', { level: depthLabel(n.depth + 1) })}
                  </Button>
                ) : null}
                {n.kind === 'theme' && n.depth === 2 ? (
                  <Button
                    size="small"
                    type="link"
                    icon={<TeamOutlined />}
                    data-testid={`classes-departments-${n.code}`}
                    onClick={() => open({ mode: 'departments', node: n })}
                  >
                    {t('classes.departments')}
                  </Button>
                ) : null}
              </Space>
            ),
          },
        ]}
      />
      <Modal
        open={!!editing}
        title={
          editing?.mode === 'add'
            ? `${isThemeRoot(editing.parent) ? t('classes.addTheme') : t('classes.addChild', { level: depthLabel(editing.parent.depth + 1) })} · ${editing.parent.name}`
            : editing?.mode === 'departments'
              ? `${t('classes.departments')} · ${editing.node.name}`
              : ''
        }
        okText={t('common.save')}
        okButtonProps={{ 'data-testid': 'classes-ok' } as never}
        confirmLoading={saving}
        onOk={save}
        onCancel={() => setEditing(null)}
        destroyOnHidden
      >
        <ErrorAlert error={error} />
        <Form form={form} layout="vertical" data-testid="classes-form">
          {editing?.mode === 'add' ? (
            <Form.Item name="name" label={t('classes.name')} rules={[{ required: true, max: 100 }]}>
              <Input data-testid="classes-name" maxLength={100} />
            </Form.Item>
          ) : null}
          {editing?.mode === 'add' ? (
            <Form.Item name="nameEn" label={t('classes.nameEn')} rules={[{ max: 100 }]}>
              <Input data-testid="classes-name-en" maxLength={100} />
            </Form.Item>
          ) : null}
          {needsDepartments ? (
            <>
              <Form.Item name="leadOrgId" label={t('catalog.treeLead')} rules={[{ required: true }]}>
                <Select
                  data-testid="classes-lead"
                  options={departments}
                  showSearch
                  optionFilterProp="label"
                />
              </Form.Item>
              <Form.Item name="contributorOrgIds" label={t('catalog.treeContributors')}>
                <Select
                  data-testid="classes-contributors"
                  mode="multiple"
                  options={departments}
                  optionFilterProp="label"
                />
              </Form.Item>
              <Typography.Text type="secondary">{t('classes.themeNote')}</Typography.Text>
            </>
          ) : null}
        </Form>
      </Modal>
    </Card>
  );
}
