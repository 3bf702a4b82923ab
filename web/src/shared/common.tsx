import { Alert, Segmented, Tag, Tooltip } from 'antd';
import { api, errorText } from './api.js';
import { useAsync } from './hooks.js';
import { useI18n } from './i18n.js';

/** DG Art 33: wherever personal data is shown, say that it is masked and for official duties only. */
export function PersonalNotice() {
  const { t } = useI18n();
  return (
    <Alert
      data-testid="personal-notice"
      type="warning"
      showIcon
      title={t('notice.personal')}
      style={{ marginBottom: 16 }}
    />
  );
}

export function ErrorAlert({ error }: { error: unknown }) {
  const { lang } = useI18n();
  if (!error) return null;
  return (
    <Alert
      data-testid="error-alert"
      type="error"
      showIcon
      title={errorText(error, lang)}
      style={{ marginBottom: 16 }}
    />
  );
}

const colors: Record<string, Record<string, string>> = {
  shareType: { unconditional: 'green', conditional: 'orange', none: 'red' },
  catalogLevel: { city: 'blue', department: 'geekblue', section: 'purple' },
  securityLevel: { general: 'default', important: 'orange', core: 'red' },
  reqStatus: { pending: 'processing', approved: 'success', rejected: 'error', withdrawn: 'default' },
  grantStatus: { active: 'success', revoked: 'default', expired: 'warning', appSuspended: 'error' },
  appStatus: { active: 'success', suspended: 'error', revoked: 'default' },
  resStatus: {
    published: 'success',
    submitted: 'processing',
    draft: 'default',
    returned: 'warning',
    retired: 'default',
  },
  versionStatus: {
    published: 'success',
    submitted: 'processing',
    draft: 'default',
    returned: 'warning',
    superseded: 'default',
  },
  diffKind: { added: 'green', removed: 'red', changed: 'blue' },
  reviewDecision: { published: 'success', returned: 'warning' },
  decision: { allow: 'success', deny: 'error' },
  batchStatus: {
    succeeded: 'success',
    committed: 'success',
    failed: 'error',
    rejected: 'error',
    running: 'processing',
    queued: 'default',
    rolled_back: 'warning',
  },
};

/** A coloured tag for an enum value, labelled from the dictionary. */
export function EnumTag({ kind, value }: { kind: string; value: string | null | undefined }) {
  const { tEnum } = useI18n();
  if (value === null || value === undefined) return <span>-</span>;
  return <Tag color={colors[kind]?.[value] ?? 'default'}>{tEnum(kind, value)}</Tag>;
}

/** The due date's year has no holiday notice yet, so it was counted Mon–Fri (docs/API.md `dueDateProvisional`). */
export function ProvisionalTag({ show, testid }: { show: boolean | undefined; testid?: string }) {
  const { t } = useI18n();
  if (!show) return null;
  return (
    <Tooltip title={t('req.provisionalTip')}>
      <Tag color="warning" data-testid={testid ?? 'due-provisional'} style={{ marginInlineEnd: 0 }}>
        {t('req.provisional')}
      </Tag>
    </Tooltip>
  );
}

/**
 * A drill-down filter shown in a list's filter bar (issue 12): the department named, closable. The name comes from
 * /api/orgs, so a shared link shows the same words.
 */
export function OrgFilterTag({
  orgId,
  onClose,
  testid,
}: {
  orgId: number;
  onClose: () => void;
  testid?: string;
}) {
  const { t } = useI18n();
  const orgs = useAsync(() => api<{ id: number; name: string }[]>('/api/orgs'), []);
  // while the names load the tag says so (never a bare id); an id no organisation has is named as unknown
  const name = orgs.data
    ? (orgs.data.find((o) => Number(o.id) === orgId)?.name ?? t('filter.orgUnknown'))
    : t('filter.orgLoading');
  return (
    <Tag closable onClose={onClose} color="blue" data-testid={testid ?? 'filter-org'}>
      {t('filter.org', { name })}
    </Tag>
  );
}

/** A yes/no drill-down filter (e.g. 仅逾期) shown as a closable tag. */
export function FlagFilterTag({
  label,
  onClose,
  testid,
}: {
  label: string;
  onClose: () => void;
  testid?: string;
}) {
  return (
    <Tag closable onClose={onClose} color="orange" data-testid={testid}>
      {label}
    </Tag>
  );
}

/** The language switch (中文 / EN) of the console's header, the login card and the open portal. */
export function LanguageToggle() {
  const { t, lang, setLang } = useI18n();
  return (
    <Segmented
      data-testid="lang-toggle"
      aria-label={t('app.lang')}
      size="small"
      value={lang}
      onChange={(v) => setLang(v === 'en' ? 'en' : 'zh')}
      options={[
        { label: '中文', value: 'zh' },
        { label: 'EN', value: 'en' },
      ]}
    />
  );
}
