import { Select, Tag, Typography } from 'antd';
import { useNavigate } from 'react-router-dom';
import { api } from '../shared/api.js';
import { hasRole, useAuth } from '../shared/auth.js';
import { useAsync } from '../shared/hooks.js';
import { type Key, useI18n } from '../shared/i18n.js';
import type { Me, Org } from '../shared/types.js';

/** Shared bits of the inventory pages (negative list, duties, systems, double lists, open list). */

export interface Paged<T> {
  total: number;
  items: T[];
}

/** The inventory tables' pager: 20 a page, the total shown in words. */
export function inventoryPager(
  t: ReturnType<typeof useI18n>['t'],
  page: number,
  total: number | undefined,
  onChange: (page: number) => void,
) {
  return {
    current: page,
    pageSize: 20,
    total: total ?? 0,
    onChange,
    showTotal: (n: number) => t('common.total', { n }),
  };
}

export const isAuthorityUser = (me: Me | null) =>
  !!me && me.user.org.kind === 'authority' && hasRole(me, 'authority_reviewer', 'platform_admin', 'auditor');
export const isOfficer = (me: Me | null) =>
  !!me && me.user.org.kind === 'department' && hasRole(me, 'data_officer');

/** Department filter: only the authority chooses; a department sees its own lists. */
export function OrgFilter({
  me,
  value,
  onChange,
}: {
  me: Me | null;
  value: number | undefined;
  onChange: (v: number | undefined) => void;
}) {
  const { t } = useI18n();
  const orgs = useAsync(() => (isAuthorityUser(me) ? api<Org[]>('/api/orgs') : Promise.resolve([])), []);
  if (!isAuthorityUser(me)) return null;
  return (
    <Select
      data-testid="inv-org-filter"
      allowClear
      showSearch={{ optionFilterProp: 'label' }}
      placeholder={t('inv.department')}
      style={{ width: 240 }}
      value={value}
      onChange={onChange}
      options={(orgs.data ?? [])
        .filter((o) => o.kind === 'department' || o.id === value) // a drill-down link may name another provider
        .map((o) => ({ value: o.id, label: o.name }))}
    />
  );
}

export function StatusSelect({
  kind,
  values,
  value,
  onChange,
  testid,
}: {
  kind: string;
  values: readonly string[];
  value: string | undefined;
  onChange: (v: string | undefined) => void;
  testid: string;
}) {
  const { t, tEnum } = useI18n();
  return (
    <Select
      data-testid={testid}
      allowClear
      placeholder={t('common.status')}
      style={{ width: 160 }}
      value={value}
      onChange={onChange}
      options={values.map((v) => ({ value: v, label: tEnum(kind, v) }))}
    />
  );
}

const colors: Record<string, string> = {
  proposed: 'processing',
  approved: 'success',
  filed: 'success',
  rejected: 'error',
  withdrawn: 'default',
  open: 'processing',
  done: 'success',
  planned: 'default',
  built: 'processing',
  accepted: 'success',
  matched: 'success',
  unmatched: 'error',
  confirmed: 'success',
};

export function InvTag({ kind, value }: { kind: string; value: string }) {
  const { tEnum } = useI18n();
  return <Tag color={colors[value] ?? 'default'}>{tEnum(kind, value)}</Tag>;
}

export function ResourceCell({ r }: { r: { name: string; code: string } }) {
  return (
    <span>
      {r.name}
      <br />
      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
        {r.code}
      </Typography.Text>
    </span>
  );
}

/** Download a CSV export through the session (a plain link keeps the cookie; same origin). */
export function csvHref(path: string, query: Record<string, string | number | undefined>): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') qs.set(k, String(v));
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

/** One renderer of article citations for server and console: src/shared/labels.ts. */
export { articleText } from '../../../src/shared/labels.js';

interface Inbox {
  negativePending: number;
  openPending: number;
  dutiesOpen: number;
  dutiesOverdue: number;
  demandsToConfirm: number;
  demandsUnmatched: number;
  systemsNotReady: number;
}

/** What waits for the signed-in user across the inventories (GET /api/inventory/inbox), with links. */
export function InboxBar() {
  const { t } = useI18n();
  const navigate = useNavigate();
  const inbox = useAsync(() => api<Inbox>('/api/inventory/inbox'), []);
  const { me } = useAuth();
  const authority = isAuthorityUser(me);
  const d = inbox.data;
  if (!d) return null;
  const items: [Key, number, string, string][] = [
    ['inbox.negativePending', d.negativePending, '/negative-list', 'processing'],
    ['inbox.dutiesOverdue', d.dutiesOverdue, '/duties', 'error'],
    ['inbox.dutiesOpen', d.dutiesOpen, '/duties', 'processing'],
    ['inbox.systemsNotReady', d.systemsNotReady, '/systems', 'warning'],
    ['inbox.demandsToConfirm', d.demandsToConfirm, '/double-lists', 'processing'],
    ['inbox.demandsUnmatched', d.demandsUnmatched, '/double-lists', 'warning'],
    ['inbox.openPending', d.openPending, '/open-list', 'processing'],
  ];
  // the authority decides, supervises overdue duties and coordinates unmatched demands; a department updates,
  // confirms matches and gets its systems ready
  const mine = authority
    ? [
        'inbox.negativePending',
        'inbox.openPending',
        'inbox.dutiesOverdue',
        'inbox.systemsNotReady',
        'inbox.demandsUnmatched',
      ]
    : ['inbox.dutiesOverdue', 'inbox.dutiesOpen', 'inbox.demandsToConfirm', 'inbox.systemsNotReady'];
  const shown = items.filter(([key, n]) => n > 0 && mine.includes(key));
  if (!shown.length) return null;
  return (
    <div data-testid="inv-inbox" style={{ marginBottom: 12 }}>
      <Typography.Text type="secondary">{t('inbox.title')}</Typography.Text>{' '}
      {shown.map(([key, n, path, color]) => (
        <Tag key={key} color={color} style={{ cursor: 'pointer' }} onClick={() => navigate(path)}>
          {t(key, { n })}
        </Tag>
      ))}
    </div>
  );
}
