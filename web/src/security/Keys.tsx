import { LockOutlined } from '@ant-design/icons';
import { Alert, App, Button, Card, Descriptions, Modal, Space, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { api, errorText } from '../shared/api.js';
import { hasRole, useAuth } from '../shared/auth.js';
import { ErrorAlert } from '../shared/common.js';
import { fmtNumber, fmtTime } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { type Key, useI18n } from '../shared/i18n.js';

/*
 * Encryption at rest (issue 10 point 3, docs/ENCRYPTION.md): the administrator's key panel. Per resource holding
 * sensitive-personal fields: its encrypted fields, data key versions (algorithm, state, created and rotated times) and
 * the values still to re-encrypt; a rotation button (audited key.rotate), and for a resource with fields still stored
 * in clear (存量明文) an "encrypt stored data" button (audited key.encrypt). The auditor sees the same, without buttons;
 * the server refuses a rotation by anyone but the platform administrator. Above the table, the platform's lookup-index
 * key (检索索引密钥): its versions, how many resources each holds and how many are left to convert during a rotation,
 * and for the administrator a rotation button (audited key.rotateIndex).
 */

interface KeyVersion {
  version: number;
  state: 'active' | 'retiring' | 'retired';
  alg: string;
  kek: string;
  createdAt: string;
  rotatedAt: string | null;
  retiredAt: string | null;
}
interface ResourceKeys {
  id: number;
  code: string;
  name: string;
  fields: { code: string; name: string; encrypted: boolean }[];
  version: number | null;
  versions: KeyVersion[];
  pending: number;
}
interface IndexVersion {
  version: number;
  state: KeyVersion['state'];
  alg: string;
  createdAt: string;
  retiredAt: string | null;
  resources: number;
}
interface KeyStatus {
  cipher: string;
  kek: { current: string; configured: string[]; keysByKek: Record<string, number>; toRewrap: number };
  index: { version: number; alg: string | null; versions: IndexVersion[]; resourcesLeft: number };
  resources: ResourceKeys[];
}

const STATE_COLOR: Record<KeyVersion['state'], string> = {
  active: 'green',
  retiring: 'orange',
  retired: 'default',
};

export default function Keys() {
  const { t, tEnum, lang } = useI18n();
  const { me } = useAuth();
  const { message } = App.useApp();
  const status = useAsync(() => api<KeyStatus>('/api/security/keys'), []);
  const [busy, setBusy] = useState<number | null>(null);
  const canRotate = hasRole(me, 'platform_admin');
  const cipherLabel = (alg: string) => t(`keys.cipher.${alg}` as Key);

  const rotate = (r: ResourceKeys) =>
    Modal.confirm({
      title: t('keys.rotateConfirm', { name: r.name }),
      content: t('keys.rotateHint'),
      okText: t('keys.rotate'),
      onOk: async () => {
        setBusy(r.id);
        try {
          const out = await api<{ version: number }>(`/api/security/keys/resources/${r.id}/rotate`, {
            method: 'POST',
            body: {},
          });
          message.success(t('keys.rotatedTo', { version: out.version }));
          status.reload();
        } catch (e) {
          message.error(errorText(e, lang));
        } finally {
          setBusy(null);
        }
      },
    });

  // converting clear columns (存量明文: tables from before encryption; a flag turned on while the table held rows is
  // converted by the same job, queued at publication): a job rewrites the resource in one transaction
  const encrypt = (r: ResourceKeys) =>
    Modal.confirm({
      title: t('keys.encryptConfirm', { name: r.name }),
      content: t('keys.encryptHint'),
      okText: t('keys.encrypt'),
      onOk: async () => {
        setBusy(r.id);
        try {
          await api(`/api/security/keys/resources/${r.id}/encrypt`, { method: 'POST', body: {} });
          message.success(t('keys.encryptScheduled'));
          status.reload();
        } catch (e) {
          message.error(errorText(e, lang));
        } finally {
          setBusy(null);
        }
      },
    });

  // the platform's lookup-index key: a new version, then a job converts every resource (docs/ENCRYPTION.md)
  const rotateIndex = () =>
    Modal.confirm({
      title: t('keys.index.rotateConfirm'),
      content: t('keys.index.rotateHint'),
      okText: t('keys.index.rotate'),
      onOk: async () => {
        setBusy(0);
        try {
          const out = await api<{ version: number }>('/api/security/keys/index/rotate', {
            method: 'POST',
            body: {},
          });
          message.success(t('keys.index.rotated', { version: out.version }));
          status.reload();
        } catch (e) {
          message.error(errorText(e, lang));
        } finally {
          setBusy(null);
        }
      },
    });
  const indexAlg = (alg: string | null) => (alg ? t(`keys.index.alg.${alg}` as Key) : '-');

  const s = status.data;
  return (
    <Card
      data-testid="page-encryption-keys"
      title={
        <Space>
          <LockOutlined />
          {t('keys.title')}
        </Space>
      }
    >
      <ErrorAlert error={status.error} />
      {!canRotate && <Alert type="info" showIcon style={{ marginBottom: 16 }} message={t('keys.readOnly')} />}
      {s && (
        <Descriptions size="small" column={{ xs: 1, md: 3 }} style={{ marginBottom: 16 }}>
          <Descriptions.Item label={t('keys.cipher')}>
            <span data-testid="keys-cipher">{cipherLabel(s.cipher)}</span>
          </Descriptions.Item>
          <Descriptions.Item label={t('keys.kekCurrent')}>
            <Typography.Text code>{s.kek.current}</Typography.Text>
          </Descriptions.Item>
          <Descriptions.Item label={t('keys.kekStale')}>{fmtNumber(s.kek.toRewrap)}</Descriptions.Item>
        </Descriptions>
      )}
      {s?.index && (
        <Card
          size="small"
          data-testid="index-key"
          style={{ marginBottom: 16 }}
          title={t('keys.index.title')}
          extra={
            canRotate && (
              <Button
                size="small"
                data-testid="index-key-rotate"
                loading={busy === 0}
                disabled={s.index.resourcesLeft > 0}
                onClick={rotateIndex}
              >
                {t('keys.index.rotate')}
              </Button>
            )
          }
        >
          <Descriptions size="small" column={{ xs: 1, md: 3 }}>
            <Descriptions.Item label={t('keys.index.version')}>
              <span data-testid="index-key-version">v{s.index.version}</span>
            </Descriptions.Item>
            <Descriptions.Item label={t('keys.index.alg')}>{indexAlg(s.index.alg)}</Descriptions.Item>
            <Descriptions.Item label={t('keys.index.left')}>
              <span data-testid="index-key-left">{fmtNumber(s.index.resourcesLeft)}</span>
            </Descriptions.Item>
          </Descriptions>
          <Table<IndexVersion>
            rowKey="version"
            size="small"
            pagination={false}
            dataSource={[...s.index.versions].reverse()}
            columns={[
              { title: t('keys.col.version'), dataIndex: 'version', render: (v: number) => `v${v}` },
              {
                title: t('keys.col.state'),
                dataIndex: 'state',
                render: (v: KeyVersion['state']) => <Tag color={STATE_COLOR[v]}>{tEnum('keyState', v)}</Tag>,
              },
              { title: t('keys.index.alg'), dataIndex: 'alg', render: (v: string) => indexAlg(v) },
              {
                title: t('keys.index.resources'),
                dataIndex: 'resources',
                render: (v: number) => fmtNumber(v),
              },
              { title: t('keys.col.createdAt'), dataIndex: 'createdAt', render: (v: string) => fmtTime(v) },
              {
                title: t('keys.col.retiredAt'),
                dataIndex: 'retiredAt',
                render: (v: string | null) => (v ? fmtTime(v) : '-'),
              },
            ]}
          />
        </Card>
      )}
      <Table<ResourceKeys>
        data-testid="keys-table"
        rowKey="id"
        size="small"
        loading={status.loading}
        dataSource={s?.resources ?? []}
        pagination={false}
        scroll={{ x: 'max-content' }}
        locale={{ emptyText: t('keys.empty') }}
        expandable={{
          expandedRowRender: (r) => (
            <Table<KeyVersion>
              data-testid="key-versions"
              rowKey="version"
              size="small"
              pagination={false}
              dataSource={[...r.versions].reverse()}
              columns={[
                { title: t('keys.col.version'), dataIndex: 'version', render: (v: number) => `v${v}` },
                {
                  title: t('keys.col.state'),
                  dataIndex: 'state',
                  render: (v: KeyVersion['state']) => (
                    <Tag color={STATE_COLOR[v]}>{tEnum('keyState', v)}</Tag>
                  ),
                },
                { title: t('keys.cipher'), dataIndex: 'alg', render: (v: string) => cipherLabel(v) },
                { title: t('keys.col.createdAt'), dataIndex: 'createdAt', render: (v: string) => fmtTime(v) },
                {
                  title: t('keys.col.rotatedAt'),
                  dataIndex: 'rotatedAt',
                  render: (v: string | null) => (v ? fmtTime(v) : '-'),
                },
                {
                  title: t('keys.col.retiredAt'),
                  dataIndex: 'retiredAt',
                  render: (v: string | null) => (v ? fmtTime(v) : '-'),
                },
                {
                  title: t('keys.kek'),
                  dataIndex: 'kek',
                  render: (v: string) => <Typography.Text code>{v}</Typography.Text>,
                },
              ]}
            />
          ),
        }}
        columns={[
          {
            title: t('keys.resource'),
            key: 'resource',
            render: (_, r) => (
              <Space direction="vertical" size={2}>
                <span>{r.name}</span>
                <Typography.Text type="secondary">{r.code}</Typography.Text>
              </Space>
            ),
          },
          {
            title: t('keys.fields'),
            key: 'fields',
            render: (_, r) => (
              <Space size={4} wrap>
                {r.fields.map((f) =>
                  f.encrypted ? (
                    <Tag key={f.code} color="geekblue" icon={<LockOutlined />}>
                      {f.name}
                    </Tag>
                  ) : (
                    <Tag key={f.code}>
                      {f.name} · {t('keys.legacy')}
                    </Tag>
                  ),
                )}
              </Space>
            ),
          },
          {
            title: t('keys.version'),
            key: 'version',
            render: (_, r) =>
              r.version === null ? '-' : <span data-testid="key-version">v{r.version}</span>,
          },
          {
            title: t('keys.cipher'),
            key: 'alg',
            render: (_, r) => {
              const active = r.versions.find((v) => v.state === 'active');
              return active ? cipherLabel(active.alg) : '-';
            },
          },
          {
            title: t('keys.col.rotatedAt'),
            key: 'rotatedAt',
            // the active version's creation is the last rotation (or the key's creation, for version 1)
            render: (_, r) => {
              const active = r.versions.find((v) => v.state === 'active');
              return active ? fmtTime(active.createdAt) : '-';
            },
          },
          { title: t('keys.pending'), dataIndex: 'pending', render: (v: number) => fmtNumber(v) },
          ...(canRotate
            ? [
                {
                  title: t('common.actions' as Key),
                  key: 'actions',
                  render: (_: unknown, r: ResourceKeys) => (
                    <Space size={4} wrap>
                      <Button
                        size="small"
                        data-testid="key-rotate"
                        loading={busy === r.id}
                        disabled={!r.fields.some((f) => f.encrypted)}
                        onClick={() => rotate(r)}
                      >
                        {t('keys.rotate')}
                      </Button>
                      {r.fields.some((f) => !f.encrypted) && (
                        <Button
                          size="small"
                          data-testid="key-encrypt"
                          loading={busy === r.id}
                          onClick={() => encrypt(r)}
                        >
                          {t('keys.encrypt')}
                        </Button>
                      )}
                    </Space>
                  ),
                },
              ]
            : []),
        ]}
      />
    </Card>
  );
}
