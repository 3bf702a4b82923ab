import { App, Button, Card, Form, Input, Modal, Select, Space, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { ROLES, type Role } from '../../../src/context.js';
import { DUTY_OF } from '../../../src/orgs/model.js';
import { api, errorText } from '../shared/api.js';
import { useAuth } from '../shared/auth.js';
import { ErrorAlert } from '../shared/common.js';
import { fmtTime } from '../shared/format.js';
import { useAsync, usePaging } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import type { Org, Page } from '../shared/types.js';

interface UserRow {
  id: number;
  username: string;
  displayName: string;
  orgId: number;
  orgName: string;
  sectionId: number | null;
  sectionName: string | null;
  roles: Role[];
  disabled: boolean;
  createdAt: string;
}

/** Roles the person can hold together with `picked` (GB/T 39477: administrator, auditor and operators apart). */
function compatible(picked: Role[]): Role[] {
  if (!picked.length) return [...ROLES];
  return ROLES.filter((r) => DUTY_OF[r] === DUTY_OF[picked[0]]);
}

/** Account administration for the platform administrator (GB/T 39477 separated duties; every change audited). */
export default function Users() {
  const { t, tEnum, lang, paren } = useI18n();
  const { me } = useAuth();
  const { message, modal } = App.useApp();
  const [orgId, setOrgId] = useState<number>();
  const [role, setRole] = useState<Role>();
  const [q, setQ] = useState('');
  const [search, setSearch] = useState('');
  const paging = usePaging();
  const { page, pageSize } = paging;
  const orgs = useAsync(() => api<Org[]>('/api/orgs'), []);
  const list = useAsync(
    () => api<Page<UserRow>>('/api/users', { query: { orgId, role, q: search, page, pageSize } }),
    [orgId, role, search, page, pageSize],
  );
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<UserRow | null>(null);
  const [form] = Form.useForm();
  const [rolesForm] = Form.useForm();
  const formOrg = Form.useWatch('orgId', form) as number | undefined;
  const formRoles = (Form.useWatch('roles', form) as Role[] | undefined) ?? [];
  const editRoles = (Form.useWatch('roles', rolesForm) as Role[] | undefined) ?? [];

  const roleOptions = (picked: Role[]) =>
    compatible(picked).map((r) => ({ value: r, label: tEnum('role', r) }));
  const sectionsOf = (id?: number) =>
    (orgs.data ?? []).find((o) => o.id === id)?.sections.map((s) => ({ value: s.id, label: s.name })) ?? [];

  const submitCreate = async () => {
    const v = await form.validateFields();
    try {
      await api('/api/users', { body: { ...v, sectionId: v.sectionId ?? null } });
      message.success(t('users.created'));
      setCreating(false);
      form.resetFields();
      list.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  };
  const submitRoles = async () => {
    if (!editing) return;
    const v = await rolesForm.validateFields();
    try {
      await api(`/api/users/${editing.id}/roles`, {
        method: 'PUT',
        body: { roles: v.roles, sectionId: v.sectionId ?? null },
      });
      message.success(t('users.rolesChanged'));
      setEditing(null);
      list.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  };
  const toggle = (u: UserRow) =>
    modal.confirm({
      title: u.disabled
        ? t('users.enableConfirm', { name: u.displayName })
        : t('users.disableConfirm', { name: u.displayName }),
      onOk: async () => {
        try {
          await api(`/api/users/${u.id}/${u.disabled ? 'enable' : 'disable'}`, { method: 'POST' });
          list.reload();
        } catch (e) {
          message.error(errorText(e, lang));
        }
      },
    });

  return (
    <Card
      data-testid="page-users"
      title={t('users.title')}
      extra={
        <Button type="primary" data-testid="user-create" onClick={() => setCreating(true)}>
          {t('users.create')}
        </Button>
      }
    >
      <Typography.Paragraph type="secondary">{t('users.duties')}</Typography.Paragraph>
      <Space wrap style={{ marginBottom: 16 }}>
        <Select
          allowClear
          showSearch
          optionFilterProp="label"
          style={{ width: 240 }}
          placeholder={t('audit.org')}
          value={orgId}
          onChange={(v) => {
            setOrgId(v);
            paging.reset();
          }}
          options={(orgs.data ?? []).map((o) => ({ value: o.id, label: o.name }))}
        />
        <Select
          allowClear
          style={{ width: 180 }}
          placeholder={t('users.role')}
          value={role}
          onChange={(v) => {
            setRole(v);
            paging.reset();
          }}
          options={ROLES.map((r) => ({ value: r, label: tEnum('role', r) }))}
        />
        <Input.Search
          allowClear
          maxLength={50}
          placeholder={t('users.search')}
          value={q}
          onChange={(e) => setQ(e.target.value)}
          onSearch={(v) => {
            setSearch(v.trim());
            paging.reset();
          }}
          style={{ width: 220 }}
        />
      </Space>
      <ErrorAlert error={list.error} />
      <Table<UserRow>
        data-testid="users-table"
        rowKey="id"
        size="small"
        loading={list.loading}
        dataSource={list.data?.items ?? []}
        scroll={{ x: 'max-content' }}
        pagination={paging.pagination(list.data?.total, (n) => t('common.total', { n }))}
        columns={[
          { title: t('users.name'), render: (_, u) => `${u.displayName}${paren(u.username)}` },
          { title: t('audit.org'), dataIndex: 'orgName' },
          { title: t('users.section'), dataIndex: 'sectionName', render: (v: string | null) => v ?? '—' },
          {
            title: t('users.role'),
            render: (_, u) => u.roles.map((r) => <Tag key={r}>{tEnum('role', r)}</Tag>),
          },
          {
            title: t('common.status'),
            render: (_, u) =>
              u.disabled ? (
                <Tag color="red">{t('users.disabled')}</Tag>
              ) : (
                <Tag color="green">{t('users.active')}</Tag>
              ),
          },
          { title: t('users.createdAt'), dataIndex: 'createdAt', render: (v: string) => fmtTime(v) },
          {
            title: t('common.actions'),
            render: (_, u) =>
              u.id === me?.user.id ? (
                <Typography.Text type="secondary">{t('users.self')}</Typography.Text>
              ) : (
                <Space>
                  <Button
                    size="small"
                    data-testid={`user-roles-${u.username}`}
                    onClick={() => {
                      setEditing(u);
                      rolesForm.setFieldsValue({ roles: u.roles, sectionId: u.sectionId ?? undefined });
                    }}
                  >
                    {t('users.editRoles')}
                  </Button>
                  <Button
                    size="small"
                    danger={!u.disabled}
                    data-testid={`user-toggle-${u.username}`}
                    onClick={() => toggle(u)}
                  >
                    {u.disabled ? t('users.enable') : t('users.disable')}
                  </Button>
                </Space>
              ),
          },
        ]}
      />
      <Modal
        open={creating}
        title={t('users.create')}
        okText={t('common.save')}
        onOk={submitCreate}
        onCancel={() => setCreating(false)}
        destroyOnHidden
      >
        <Form form={form} layout="vertical" preserve={false}>
          <Form.Item
            name="username"
            label={t('users.username')}
            rules={[
              { required: true, pattern: /^[a-z][a-z0-9_.-]{2,39}$/, message: t('users.usernameRule') },
            ]}
          >
            <Input data-testid="user-username" maxLength={40} />
          </Form.Item>
          <Form.Item name="displayName" label={t('users.name')} rules={[{ required: true }]}>
            <Input data-testid="user-display-name" maxLength={50} />
          </Form.Item>
          <Form.Item name="orgId" label={t('audit.org')} rules={[{ required: true }]}>
            <Select
              data-testid="user-org"
              showSearch
              optionFilterProp="label"
              options={(orgs.data ?? []).map((o) => ({ value: o.id, label: o.name }))}
            />
          </Form.Item>
          <Form.Item name="sectionId" label={t('users.section')}>
            <Select allowClear options={sectionsOf(formOrg)} />
          </Form.Item>
          <Form.Item
            name="roles"
            label={t('users.role')}
            rules={[{ required: true }]}
            extra={t('users.dutiesShort')}
          >
            <Select data-testid="user-roles" mode="multiple" options={roleOptions(formRoles)} />
          </Form.Item>
          <Form.Item
            name="password"
            label={t('users.password')}
            rules={[{ required: true }]}
            extra={t('users.passwordRule')}
          >
            <Input.Password data-testid="user-password" maxLength={200} autoComplete="new-password" />
          </Form.Item>
        </Form>
      </Modal>
      <Modal
        open={!!editing}
        title={editing ? t('users.editRolesOf', { name: editing.displayName }) : ''}
        okText={t('common.save')}
        onOk={submitRoles}
        onCancel={() => setEditing(null)}
        destroyOnHidden
      >
        <Typography.Paragraph type="secondary">{t('users.rolesEffect')}</Typography.Paragraph>
        <Form form={rolesForm} layout="vertical" preserve={false}>
          <Form.Item
            name="roles"
            label={t('users.role')}
            rules={[{ required: true }]}
            extra={t('users.dutiesShort')}
          >
            <Select data-testid="user-edit-roles" mode="multiple" options={roleOptions(editRoles)} />
          </Form.Item>
          <Form.Item name="sectionId" label={t('users.section')}>
            <Select allowClear options={sectionsOf(editing?.orgId)} />
          </Form.Item>
        </Form>
      </Modal>
    </Card>
  );
}
