import { CheckOutlined, CloseOutlined } from '@ant-design/icons';
import {
  App as AntApp,
  Button,
  Card,
  Descriptions,
  Drawer,
  Form,
  Input,
  InputNumber,
  Modal,
  Space,
  Steps,
  Table,
  Tabs,
  Tag,
  Typography,
} from 'antd';
import { useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router-dom';
import { articleText } from '../../../src/shared/labels.js';
import { api, errorText, post } from '../shared/api.js';
import { access, useAuth } from '../shared/auth.js';
import { EnumTag, ErrorAlert, FlagFilterTag, OrgFilterTag, ProvisionalTag } from '../shared/common.js';
import { fmtDate, fmtTime } from '../shared/format.js';
import { useAsync, usePaging, useUrlFilters } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import type { Page, ShareRequest, Step } from '../shared/types.js';
import { ContestButton } from './Cases.js';
import { ResubmissionTimeline, ResubmitButton } from './Resubmit.js';
import { RiskAssessmentSection } from './RiskAssessment.js';
import { currentStepOf, deadlineText, personName, stepName } from './steps.js';

function DueCell({ req }: { req: ShareRequest }) {
  const { t } = useI18n();
  // a decided request keeps its marks: approved by deemed consent (SY Art 25), escalated on the way
  if (!req.dueDate || req.status !== 'pending')
    return (
      <Space size={4} wrap>
        <span>{fmtDate(req.dueDate)}</span>
        <Marks req={req} />
      </Space>
    );
  return (
    <Space size={4} wrap>
      <span data-testid={`req-due-${req.id}`}>{fmtDate(req.dueDate)}</span>
      <ProvisionalTag show={req.dueDateProvisional} testid={`req-provisional-${req.id}`} />
      {req.overdue ? (
        <Tag color="red" data-testid={`req-overdue-${req.id}`}>
          {t('req.overdue')}
        </Tag>
      ) : req.workdaysLeft !== null ? (
        <Tag color={req.workdaysLeft <= 1 ? 'orange' : 'default'} data-testid={`req-left-${req.id}`}>
          {req.workdaysLeft === 0 ? t('req.dueToday') : t('req.workdaysLeft', { n: req.workdaysLeft })}
        </Tag>
      ) : null}
      <Marks req={req} />
    </Space>
  );
}

/** Escalated to the authority, deemed consent (SY Art 25), overall deadline passed (NY task 7). */
function Marks({ req }: { req: ShareRequest }) {
  const { t } = useI18n();
  return (
    <>
      {req.escalatedOn ? (
        <Tag color="volcano" data-testid={`req-escalated-${req.id}`}>
          {t('req.escalated', { date: fmtDate(req.escalatedOn) })}
        </Tag>
      ) : null}
      {req.deemedConsent ? (
        <Tag color="green" data-testid={`req-deemed-${req.id}`}>
          {t('req.deemedConsent')}
        </Tag>
      ) : null}
      {req.overallOverdue ? (
        <Tag color="red" data-testid={`req-overall-overdue-${req.id}`}>
          {t('req.overallOverdue')}
        </Tag>
      ) : null}
    </>
  );
}

function stepStatus(req: ShareRequest, s: Step): 'wait' | 'process' | 'finish' | 'error' {
  if (s.decision === 'rejected' || s.decision === 'reject') return 'error';
  if (s.decision) return 'finish';
  const cur = currentStepOf(req);
  if (req.status === 'pending' && cur && cur.index === s.index) return 'process';
  return 'wait';
}

function RequestDrawer({
  id,
  onClose,
  onChanged,
}: {
  id: number | null;
  onClose: () => void;
  onChanged: () => void;
}) {
  const i18n = useI18n();
  const { t, tEnum, lang } = i18n;
  const { message, modal } = AntApp.useApp();
  const req = useAsync(
    () => (id ? api<ShareRequest>(`/api/sharing/requests/${id}`) : Promise.resolve(null)),
    [id],
  );
  const [mode, setMode] = useState<'approve' | 'reject' | null>(null);
  // the authority decides an escalated request in place of the late party (DG Art 15/35)
  const [override, setOverride] = useState(false);
  const { me } = useAuth();
  const navigate = useNavigate();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [form] = Form.useForm<{
    comment?: string;
    reason?: string;
    legalBasis?: string;
    callsPerDay?: number | null;
    rowsPerCall?: number | null;
  }>();
  const r = req.data;
  // a request whose steps run at more than one jurisdiction level (XT Art 26, GD Art 15): each step says its level
  const crossLevel = new Set((r?.steps ?? []).map((s) => s.level).filter(Boolean)).size > 1;

  async function decide() {
    if (!r || !mode) return;
    const v = await form.validateFields();
    setBusy(true);
    setError(null);
    try {
      if (override) {
        await post(`/api/sharing/requests/${r.id}/override`, {
          approve: mode === 'approve',
          comment: (mode === 'approve' ? v.comment : v.reason)?.trim(),
          legalBasis: v.legalBasis?.trim() || undefined,
        });
      } else if (mode === 'approve') {
        const quota = {
          ...(v.callsPerDay ? { callsPerDay: v.callsPerDay } : {}),
          ...(v.rowsPerCall ? { rowsPerCall: v.rowsPerCall } : {}),
        };
        await post(`/api/sharing/requests/${r.id}/approve`, {
          comment: v.comment?.trim() || undefined,
          ...(Object.keys(quota).length ? { quota } : {}),
        });
      } else
        await post(`/api/sharing/requests/${r.id}/reject`, {
          reason: v.reason?.trim(),
          legalBasis: v.legalBasis?.trim() || undefined,
        });
      message.success(t(mode === 'approve' ? 'req.approved' : 'req.rejected'));
      setMode(null);
      setOverride(false);
      form.resetFields();
      req.reload();
      onChanged();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Drawer
      open={id !== null}
      onClose={onClose}
      size={760}
      title={t('req.detail')}
      destroyOnHidden
      extra={
        r?.canWithdraw ? (
          <Button
            data-testid="req-withdraw"
            onClick={() =>
              modal.confirm({
                title: t('req.withdrawConfirm'),
                okText: t('common.ok'),
                cancelText: t('common.cancel'),
                onOk: async () => {
                  await post(`/api/sharing/requests/${r.id}/withdraw`, {});
                  message.success(t('req.withdrawn'));
                  req.reload();
                  onChanged();
                },
              })
            }
          >
            {t('req.withdraw')}
          </Button>
        ) : r?.canDecide ? (
          <Space>
            <Button
              data-testid="req-reject"
              danger
              icon={<CloseOutlined />}
              onClick={() => setMode('reject')}
            >
              {t('req.reject')}
            </Button>
            <Button
              data-testid="req-approve"
              type="primary"
              icon={<CheckOutlined />}
              onClick={() => setMode('approve')}
            >
              {t('req.approve')}
            </Button>
          </Space>
        ) : r?.canOverride ? (
          <Space>
            <Button
              data-testid="req-override-reject"
              danger
              onClick={() => {
                setOverride(true);
                setMode('reject');
              }}
            >
              {t('req.overrideReject')}
            </Button>
            <Button
              data-testid="req-override-approve"
              type="primary"
              onClick={() => {
                setOverride(true);
                setMode('approve');
              }}
            >
              {t('req.overrideApprove')}
            </Button>
          </Space>
        ) : r?.status === 'rejected' && me?.user.org.id === r.consumerOrg.id ? (
          <Space>
            <ResubmitButton
              req={r}
              onDone={() => {
                req.reload();
                onChanged();
              }}
            />
            <ContestButton
              requestId={r.id}
              onDone={(disputeId) => navigate(`/sharing-cases?tab=disputes&open=${disputeId}`)}
            />
          </Space>
        ) : null
      }
    >
      <div data-testid="req-drawer">
        <ErrorAlert error={req.error} />
        {r ? (
          <>
            <Descriptions
              bordered
              size="small"
              column={2}
              items={[
                {
                  key: 'res',
                  label: t('req.resource'),
                  span: 2,
                  children: `${r.resource.name} (${r.resource.code})`,
                },
                { key: 'provider', label: t('req.provider'), children: r.resource.providerOrgName },
                { key: 'consumer', label: t('req.consumer'), children: r.consumerOrg.name },
                { key: 'app', label: t('req.app'), children: r.app.name },
                { key: 'requester', label: t('req.requester'), children: r.requester.displayName },
                {
                  key: 'status',
                  label: t('req.status'),
                  children: (
                    <span data-testid="req-status">
                      <EnumTag kind="reqStatus" value={r.status} />
                    </span>
                  ),
                },
                { key: 'due', label: t('req.dueDate'), children: <DueCell req={r} /> },
                ...(r.overallDueDate
                  ? [{ key: 'overall', label: t('req.overallDueDate'), children: fmtDate(r.overallDueDate) }]
                  : []),
                {
                  key: 'fields',
                  label: t('req.fields'),
                  span: 2,
                  children: (
                    <span data-testid="req-fields">
                      {r.fields.map((f, i) => (
                        <Tag key={f}>{r.fieldNames?.[i] ?? f}</Tag>
                      ))}
                    </span>
                  ),
                },
                { key: 'purpose', label: t('req.purpose'), span: 2, children: r.purpose },
                { key: 'scenario', label: t('req.scenario'), span: 2, children: r.scenario || '-' },
                ...(r.scope ? [{ key: 'scope', label: t('req.scope'), span: 2, children: r.scope }] : []),
                { key: 'validUntil', label: t('req.validUntil'), children: fmtDate(r.validUntil) },
                { key: 'submitted', label: t('req.submittedAt'), children: fmtTime(r.submittedAt) },
                ...(r.decidedAt
                  ? [{ key: 'decided', label: t('req.decidedAt'), children: fmtTime(r.decidedAt) }]
                  : []),
                ...(r.grantId ? [{ key: 'grant', label: t('req.grant'), children: String(r.grantId) }] : []),
              ]}
            />
            <Typography.Title level={5} style={{ marginTop: 24 }}>
              {t('req.steps')}
            </Typography.Title>
            <Steps
              data-testid="req-steps"
              orientation="vertical"
              size="small"
              items={r.steps.map((s) => ({
                status: stepStatus(r, s),
                title: (
                  <span data-testid={`req-step-${s.index}`}>
                    {s.level && crossLevel ? (
                      <Tag
                        color={s.level === 'county' ? 'purple' : 'blue'}
                        data-testid={`req-step-level-${s.index}`}
                      >
                        {tEnum('jurisdictionLevel', s.level)}
                      </Tag>
                    ) : null}
                    {stepName(s, lang)}{' '}
                    {[s.actor, ...(s.coActors ?? [])].map((a) => (
                      <Tag key={a} color={a === 'authority' ? 'geekblue' : 'cyan'}>
                        {tEnum('actor', a)}
                        {s.approvals?.includes(a) && !s.decision ? ' ✓' : ''}
                      </Tag>
                    ))}
                  </span>
                ),
                content: (
                  <div style={{ fontSize: 13, color: '#555', lineHeight: '22px' }}>
                    <div>
                      {t('req.stepDeadline')}
                      {i18n.colon}
                      <b data-testid={`req-step-deadline-${s.index}`}>{deadlineText(s, i18n)}</b>
                      {s.article ? (
                        <>
                          {'　'}
                          {t('req.stepArticle')}
                          {i18n.colon}
                          {articleText(s.article, i18n.lang)}
                        </>
                      ) : null}
                    </div>
                    <div>
                      {t('req.stepStarted')}
                      {i18n.colon}
                      {fmtDate(s.startedOn)}
                      {'　'}
                      {t('req.stepDue')}
                      {i18n.colon}
                      {fmtDate(s.dueDate)}
                      {s.workdaysLeft !== null && s.workdaysLeft !== undefined ? (
                        <>
                          {'　'}
                          <b data-testid={`req-step-left-${s.index}`}>
                            {s.workdaysLeft === 0
                              ? t('req.dueToday')
                              : t('req.workdaysLeft', { n: s.workdaysLeft })}
                          </b>
                        </>
                      ) : null}
                    </div>
                    {crossLevel && s.authorityOrg ? (
                      <div data-testid={`req-step-authority-${s.index}`}>
                        {t('req.stepAuthority')}
                        {i18n.colon}
                        {s.authorityOrg.name}
                      </div>
                    ) : null}
                    {s.holders?.length ? (
                      <div data-testid={`req-step-holders-${s.index}`}>
                        {t('req.stepHolders')}
                        {i18n.colon}
                        {s.holders.map((h) => tEnum('actor', h)).join(t('punct.list'))}
                        {'　'}
                        {t('prof.onTimeout')}
                        {i18n.colon}
                        {tEnum('timeout', s.onTimeout)}
                      </div>
                    ) : null}
                    {s.decision ? (
                      <div>
                        {t('req.stepDecision')}
                        {i18n.colon}
                        {tEnum('decision', s.decision)}
                        {'　'}
                        {t('req.stepDecidedBy')}
                        {i18n.colon}
                        {personName(s.decidedBy)}
                        {'　'}
                        {fmtTime(s.decidedAt)}
                      </div>
                    ) : null}
                    {s.comment ? (
                      <div>
                        {t('req.stepComment')}
                        {i18n.colon}
                        {s.comment}
                      </div>
                    ) : null}
                  </div>
                ),
              }))}
            />
            <ResubmissionTimeline req={r} />
            <RiskAssessmentSection key={`${r.id}-${r.status}`} requestId={r.id} onChanged={onChanged} />
          </>
        ) : null}
      </div>
      <Modal
        open={mode !== null}
        title={t(mode === 'reject' ? 'req.rejectTitle' : 'req.approveTitle')}
        onCancel={() => {
          setMode(null);
          setOverride(false);
          setError(null);
        }}
        onOk={decide}
        okText={t('common.ok')}
        cancelText={t('common.cancel')}
        okButtonProps={{
          loading: busy,
          danger: mode === 'reject',
          ...({ 'data-testid': 'req-decide-ok' } as object),
        }}
        destroyOnHidden
      >
        {error ? <div style={{ marginBottom: 12, color: '#cf1322' }}>{errorText(error, lang)}</div> : null}
        <Form form={form} layout="vertical" preserve={false}>
          {mode === 'reject' ? (
            <>
              <Form.Item
                name="reason"
                label={t('req.reason')}
                rules={[{ required: true, whitespace: true, message: t('req.reasonRequired') }]}
              >
                <Input.TextArea data-testid="req-reason" rows={3} />
              </Form.Item>
              <Form.Item name="legalBasis" label={t('req.legalBasis')}>
                <Input data-testid="req-legal-basis" />
              </Form.Item>
            </>
          ) : (
            <>
              <Form.Item
                name="comment"
                label={t('req.comment')}
                rules={
                  override ? [{ required: true, whitespace: true, message: t('req.overrideGrounds') }] : []
                }
              >
                <Input.TextArea data-testid="req-comment" rows={3} />
              </Form.Item>
              {r && r.currentStep === r.steps.length - 1 ? (
                // the last approval issues the grant: its quota on the data API
                <Form.Item label={t('quota.title')} extra={t('quota.hint')} style={{ marginBottom: 0 }}>
                  <Space wrap>
                    <Form.Item name="callsPerDay" noStyle>
                      <InputNumber
                        data-testid="req-quota-calls"
                        min={1}
                        max={100_000_000}
                        precision={0}
                        style={{ width: 200 }}
                        placeholder={`${t('quota.callsPerDay')}${i18n.paren(t('quota.default'))}`}
                      />
                    </Form.Item>
                    <Form.Item name="rowsPerCall" noStyle>
                      <InputNumber
                        data-testid="req-quota-rows"
                        min={1}
                        max={1000}
                        precision={0}
                        style={{ width: 200 }}
                        placeholder={`${t('quota.rowsPerCall')}${i18n.paren(t('quota.default'))}`}
                      />
                    </Form.Item>
                  </Space>
                </Form.Item>
              ) : null}
            </>
          )}
        </Form>
      </Modal>
    </Drawer>
  );
}

type Box = 'outgoing' | 'incoming' | 'handled' | 'all';

interface DueFilter {
  from: string;
  to: string;
  providerOrgId?: number;
  timeliness?: 'onTime' | 'late';
}

function RequestTable({
  box,
  onOpen,
  version,
  overdue,
  orgId,
  due,
}: {
  box: Box;
  onOpen: (id: number) => void;
  version: number;
  overdue: boolean;
  orgId: number | undefined;
  /** the cockpit's on-time rate: provider steps due in a period, of one provider, on time or late */
  due?: DueFilter;
}) {
  const { t, lang } = useI18n();
  const paging = usePaging();
  const { page, pageSize } = paging;
  const list = useAsync(
    () =>
      api<Page<ShareRequest>>('/api/sharing/requests', {
        query: {
          box,
          page,
          pageSize,
          overdue: overdue || undefined,
          orgId,
          dueFrom: due?.from,
          dueTo: due?.to,
          providerOrgId: due?.providerOrgId,
          timeliness: due?.timeliness,
        },
      }),
    [box, page, pageSize, version, overdue, orgId, due?.from, due?.to, due?.providerOrgId, due?.timeliness],
  );
  return (
    <>
      <ErrorAlert error={list.error} />
      <Table<ShareRequest>
        data-testid={`req-table-${box}`}
        rowKey="id"
        size="middle"
        loading={list.loading}
        dataSource={list.data?.items ?? []}
        onRow={(r) => ({ onClick: () => onOpen(r.id), style: { cursor: 'pointer' } })}
        pagination={paging.pagination(list.data?.total, (n) => t('common.total', { n }))}
        columns={[
          {
            title: t('req.resource'),
            render: (_, r) => (
              <Typography.Link data-testid={`req-open-${r.id}`} onClick={() => onOpen(r.id)}>
                {r.resource.name}
              </Typography.Link>
            ),
          },
          { title: t('req.consumer'), render: (_, r) => r.consumerOrg.name },
          { title: t('req.app'), render: (_, r) => r.app.name },
          {
            title: t('req.status'),
            dataIndex: 'status',
            render: (v: string) => <EnumTag kind="reqStatus" value={v} />,
          },
          {
            title: t('req.currentStep'),
            render: (_, r) => (r.status === 'pending' ? stepName(currentStepOf(r), lang) : '-'),
          },
          { title: t('req.dueDate'), render: (_, r) => <DueCell req={r} /> },
          { title: t('req.submittedAt'), dataIndex: 'submittedAt', render: (v: string) => fmtTime(v) },
        ]}
      />
    </>
  );
}

export default function Requests() {
  const { t } = useI18n();
  const { me } = useAuth();
  const [params] = useSearchParams();
  const filters = useUrlFilters();
  const box = (params.get('box') as Box | null) ?? 'outgoing';
  // the cockpit's drill-down (issue 12): ?overdue=1&orgId=<department holding the late step>
  const overdue = filters.flag('overdue');
  const orgId = filters.num('orgId');
  // the on-time rate's drill-down: ?dueFrom&dueTo[&providerOrgId][&timeliness=onTime|late]
  const dueFrom = filters.str('dueFrom');
  const dueTo = filters.str('dueTo');
  const providerOrgId = filters.num('providerOrgId');
  const timelinessParam = filters.str('timeliness');
  const timeliness = timelinessParam === 'onTime' || timelinessParam === 'late' ? timelinessParam : undefined;
  const due: DueFilter | undefined =
    dueFrom && dueTo ? { from: dueFrom, to: dueTo, providerOrgId, timeliness } : undefined;
  // ?open=<id> opens a request straight away (links from the home page's to-do list)
  const [openId, setOpenId] = useState<number | null>(() => Number(params.get('open')) || null);
  const [version, setVersion] = useState(0);

  const tabs: { key: Box; label: string }[] = [
    { key: 'outgoing', label: t('req.outgoing') },
    { key: 'incoming', label: t('req.incoming') },
    { key: 'handled', label: t('req.handled') },
  ];
  if (access.allRequests(me)) tabs.push({ key: 'all', label: t('req.all') });

  return (
    <Card data-testid="page-requests" title={t('menu.requests')}>
      {(overdue || orgId || due) && (
        <Space style={{ marginBottom: 8 }} wrap data-testid="req-filters">
          {orgId && <OrgFilterTag orgId={orgId} onClose={() => filters.set({ orgId: undefined })} />}
          {due && (
            <FlagFilterTag
              testid="filter-due"
              label={t('filter.providerDue', { from: due.from, to: due.to })}
              onClose={() =>
                filters.set({
                  dueFrom: undefined,
                  dueTo: undefined,
                  providerOrgId: undefined,
                  timeliness: undefined,
                })
              }
            />
          )}
          {due?.providerOrgId && (
            <OrgFilterTag
              testid="filter-provider"
              orgId={due.providerOrgId}
              onClose={() => filters.set({ providerOrgId: undefined })}
            />
          )}
          {due?.timeliness && (
            <FlagFilterTag
              testid="filter-timeliness"
              label={t(due.timeliness === 'onTime' ? 'cockpit.onTimeN' : 'cockpit.lateN')}
              onClose={() => filters.set({ timeliness: undefined })}
            />
          )}
          {overdue && (
            <FlagFilterTag
              testid="filter-overdue"
              label={t('filter.overdue')}
              onClose={() => filters.set({ overdue: undefined })}
            />
          )}
        </Space>
      )}
      <Tabs
        activeKey={box}
        onChange={(k) => filters.set({ box: k })}
        items={tabs.map((tab) => ({
          key: tab.key,
          label: <span data-testid={`tab-${tab.key}`}>{tab.label}</span>,
          children: (
            <RequestTable
              box={tab.key}
              onOpen={setOpenId}
              version={version}
              overdue={overdue}
              orgId={orgId}
              due={due}
            />
          ),
        }))}
        destroyOnHidden
      />
      <RequestDrawer id={openId} onClose={() => setOpenId(null)} onChanged={() => setVersion((v) => v + 1)} />
    </Card>
  );
}
