import { Alert, Card, Col, Descriptions, Empty, Row, Space, Steps, Table, Tag, Typography } from 'antd';
import type { ReactNode } from 'react';
import { articleText } from '../../../src/shared/labels.js';
import { api } from '../shared/api.js';
import { ErrorAlert } from '../shared/common.js';
import { useAsync } from '../shared/hooks.js';
import { type I18n, type Key, useI18n } from '../shared/i18n.js';
import type { Deadline, Profile, WorkflowStep } from '../shared/types.js';
import { deadlineLabel } from '../sharing/steps.js';

const actorColor = (a: string) => (a === 'authority' ? 'geekblue' : 'cyan');
const timeoutColor: Record<string, string> = { remind: 'blue', escalate: 'orange', deemedConsent: 'green' };

function Article({ text }: { text: string | undefined }) {
  const { t, lang, colon } = useI18n();
  if (!text) return null;
  return (
    <Typography.Text type="secondary" style={{ fontSize: 12 }}>
      {t('req.stepArticle')}
      {colon}
      {articleText(text, lang)}
    </Typography.Text>
  );
}

function WorkflowSteps({ steps, testid }: { steps: WorkflowStep[]; testid: string }) {
  const i18n = useI18n();
  const { t, tEnum, lang } = i18n;
  return (
    <Steps
      data-testid={testid}
      orientation="vertical"
      size="small"
      items={steps.map((s, i) => ({
        status: 'process',
        title: (
          <span data-testid={`${testid}-${i}`}>
            {(lang === 'en' ? s.nameEn : s.nameZh) || s.key}{' '}
            <Tag color={actorColor(s.actor)}>{tEnum('actor', s.actor)}</Tag>
            {s.coActors?.length ? (
              <Tag>
                {t('prof.coActors', { who: s.coActors.map((a) => tEnum('actor', a)).join(t('punct.list')) })}
              </Tag>
            ) : null}
          </span>
        ),
        content: (
          <div style={{ fontSize: 13, color: '#555', lineHeight: '24px', paddingBottom: 8 }}>
            <div>
              {t('req.stepDeadline')}
              {i18n.colon}
              <b data-testid={`${testid}-deadline-${i}`}>{deadlineLabel(s.deadline, i18n)}</b>
              {'　'}
              {t('prof.onTimeout')}
              {i18n.colon}
              <Tag color={timeoutColor[s.onTimeout] ?? 'default'}>{tEnum('timeout', s.onTimeout)}</Tag>
            </div>
            <Article text={s.article} />
          </div>
        ),
      }))}
    />
  );
}

function enumTags(prefix: string, values: string[] | undefined, i18n: I18n, color?: string): ReactNode {
  if (!values?.length)
    return <Typography.Text type="secondary">{i18n.t('prof.notSpecified')}</Typography.Text>;
  return values.map((v) => (
    <Tag key={v} color={color}>
      {i18n.tEnum(prefix, v)}
    </Tag>
  ));
}

function withArticle(value: ReactNode, article: string | undefined): ReactNode {
  return (
    <Space size={8} wrap>
      {value}
      <Article text={article} />
    </Space>
  );
}

interface DeadlineRow {
  key: string;
  label: Key;
  deadline?: Deadline;
  article?: string;
  note?: Key;
  /** the profile field behind it, for the not-enforced mark */
  path?: string;
}

/** /api/profile: the profile and the fields nothing acts on yet */
type ProfileView = Profile & {
  notEnforced?: readonly string[];
  crossLevelInForce?: Profile['sharing']['crossLevel'] | null;
  /** the parent profile's name (its id is a code, not shown) */
  parentName?: { zh: string; en: string } | null;
};

export default function ProfilePage() {
  const i18n = useI18n();
  const { t, tEnum, lang } = i18n;
  const prof = useAsync(() => api<ProfileView>('/api/profile'), []);
  const p = prof.data;

  if (!p)
    return (
      <div data-testid="page-profile">
        <ErrorAlert error={prof.error} />
        <Card loading={prof.loading} title={t('prof.title')} />
      </div>
    );

  const sh = p.sharing;
  const yes = <Tag color="green">{t('prof.applies')}</Tag>;
  // rules nothing acts on yet (server: src/profiles/enforcement.ts) say so, never "applies"
  const pending = (path: string) => (p.notEnforced ?? []).some((n) => path === n || path.startsWith(`${n}.`));
  const notYet = (path: string) => (
    <Tag color="default" data-testid={`prof-not-enforced-${path}`}>
      {t('prof.notEnforced')}
    </Tag>
  );
  const appliesOr = (path: string) => (pending(path) ? notYet(path) : yes);
  const rules: { key: string; label: string; children: ReactNode }[] = [
    {
      key: 'mustState',
      label: t('prof.mustState'),
      children: withArticle(
        enumTags('statement', sh.conditional.requestMustState, i18n, 'blue'),
        sh.conditional.article,
      ),
    },
    {
      key: 'refusal',
      label: t('prof.refusal'),
      children: withArticle(
        <Tag color="red" data-testid="profile-refusal">
          {tEnum('refusal', sh.refusalRequires)}
        </Tag>,
        sh.refusalArticle,
      ),
    },
  ];
  if (sh.conditionalNeedsLegalBasis)
    rules.push({
      key: 'basis',
      label: t('prof.basis'),
      children: withArticle(yes, sh.conditionalBasisArticle),
    });
  if (sh.negativeList)
    rules.push({
      key: 'negativeList',
      label: t('prof.negativeList'),
      children: withArticle(
        <Tag>{tEnum('negativeList', sh.negativeList.authority)}</Tag>,
        sh.negativeList.article,
      ),
    });
  if (sh.purposeLimited)
    rules.push({
      key: 'purpose',
      label: t('prof.purposeLimited'),
      children: withArticle(appliesOr('sharing.purposeLimited'), sh.purposeLimited),
    });
  if (sh.noneOffersVerification)
    rules.push({
      key: 'verify',
      label: t('prof.noneOffersVerification'),
      children: withArticle(appliesOr('sharing.noneOffersVerification'), sh.noneOffersVerification),
    });
  if (sh.deidentifiedMayBeShared)
    rules.push({
      key: 'deid',
      label: t('prof.deidentified'),
      children: withArticle(appliesOr('sharing.deidentifiedMayBeShared'), sh.deidentifiedMayBeShared),
    });
  if (sh.stopSupplyNeedsFiling)
    rules.push({
      key: 'stop',
      label: t('prof.stopSupply'),
      children: withArticle(appliesOr('sharing.stopSupplyNeedsFiling'), sh.stopSupplyNeedsFiling),
    });
  // enforced: a county department's request for a city resource first goes to its own authority (src/sharing/levels.ts)
  const cross = p.crossLevelInForce;
  if (cross)
    rules.push({
      key: 'crossLevel',
      label: t('prof.crossLevel'),
      children: withArticle(
        <span data-testid="prof-cross-level">
          {(lang === 'en' ? cross.step.nameEn : cross.step.nameZh) || cross.step.key}{' '}
          <b>{deadlineLabel(cross.step.deadline, i18n)}</b>{' '}
          {enumTags('shareType', cross.appliesTo, i18n, 'gold')}
          {pending('sharing.crossLevel') ? notYet('sharing.crossLevel') : yes}
        </span>,
        cross.article,
      ),
    });
  // enforced: recorded with every grant of the profile and confirmed by the consumer's officer (src/sharing/service.ts)
  if (sh.useAgreement)
    rules.push({
      key: 'useAgreement',
      label: t('prof.useAgreement'),
      children: withArticle(appliesOr('sharing.useAgreement'), sh.useAgreement.article),
    });
  // enforced: restricted resources come due for re-evaluation on the provider's to-do (src/sharing/reevaluation.ts)
  if (sh.reevaluation)
    rules.push({
      key: 'shareReevaluation',
      label: t('prof.shareReevaluation'),
      children: withArticle(
        <>
          {enumTags('shareType', sh.reevaluation.shareTypes, i18n, 'gold')}
          {pending('sharing.reevaluation') ? notYet('sharing.reevaluation') : yes}
        </>,
        sh.reevaluation.article,
      ),
    });
  // enforced: an incident closes only when every recipient's notice is recorded (src/security/incidents.ts)
  if (p.security?.incidentNotify)
    rules.push({
      key: 'incidentNotify',
      label: t('prof.incidentNotify'),
      children: withArticle(
        enumTags('incidentRecipient', p.security.incidentNotify.recipients, i18n, 'red'),
        p.security.incidentNotify.article,
      ),
    });
  // enforced: an important/core resource's grant waits for a passing risk assessment (src/sharing/risk.ts)
  if (p.security?.riskAssessment)
    rules.push({
      key: 'riskAssessment',
      label: t('prof.riskAssessment'),
      children: withArticle(
        enumTags('securityLevel', p.security.riskAssessment.levels, i18n, 'red'),
        p.security.riskAssessment.article,
      ),
    });
  if (sh.emergency)
    rules.push({
      key: 'emergency',
      label: t('prof.emergency'),
      children: withArticle(
        <>
          <Tag color="volcano">{tEnum('emergency', sh.emergency.mode)}</Tag>
          {pending('sharing.emergency') ? notYet('sharing.emergency') : null}
        </>,
        sh.emergency.article,
      ),
    });
  if (sh.bulkGrants)
    rules.push({
      key: 'bulk',
      label: t('prof.bulkGrants'),
      children: withArticle(
        <>
          {enumTags('grantKind', sh.bulkGrants.kinds, i18n, 'purple')}
          {sh.bulkGrants.deadline ? <b>{deadlineLabel(sh.bulkGrants.deadline, i18n)}</b> : null}
          {pending('sharing.bulkGrants') ? notYet('sharing.bulkGrants') : null}
        </>,
        sh.bulkGrants.article,
      ),
    });
  if (sh.disputes)
    rules.push({
      key: 'disputes',
      label: t('prof.disputes'),
      children: withArticle(
        <>
          {enumTags('resolvedBy', sh.disputes.resolvedBy, i18n)}
          {pending('sharing.disputes') ? notYet('sharing.disputes') : null}
        </>,
        sh.disputes.article,
      ),
    });

  // the catalog (issue 6): who reviews and who sees each level, and the sharing consistency rules
  const cat = p.catalog;
  for (const level of ['city', 'department', 'section'] as const)
    rules.push({
      key: `level-${level}`,
      label: `${tEnum('catalogLevel', level)} · ${t('prof.levelRule')}`,
      children: withArticle(
        <>
          <Tag color="blue">{tEnum('reviewer', cat.levels[level].reviewer)}</Tag>
          <Tag>{tEnum('visibleTo', cat.levels[level].visibleTo)}</Tag>
        </>,
        cat.levels[level].article,
      ),
    });
  rules.push({
    key: 'baseLibrary',
    label: t('prof.baseLibrary'),
    children: withArticle(
      <Tag color="green">{tEnum('baseLibrary', cat.baseLibrary.restricted)}</Tag>,
      cat.baseLibrary.article,
    ),
  });
  rules.push({
    key: 'basisKind',
    label: t('prof.basisKind'),
    children: withArticle(
      cat.basisOtherRefusedFor.length ? (
        <Tag color="orange">{t('prof.basisOtherRefused')}</Tag>
      ) : (
        <Tag>{t('prof.basisAnyKind')}</Tag>
      ),
      cat.basisKindArticle,
    ),
  });
  rules.push({
    key: 'shareTypeChange',
    label: t('prof.shareTypeChange'),
    children: withArticle(yes, cat.shareTypeChangeArticle),
  });
  if (cat.unlistedIsUnconditional)
    rules.push({
      key: 'unlisted',
      label: t('prof.unlisted'),
      // share requests consult the negative list: without an entry in force the resource is shared unconditionally
      children: withArticle(
        <Tag color="green" data-testid="prof-unlisted-enforced">
          {t('prof.unlistedEnforced')}
        </Tag>,
        cat.unlistedIsUnconditional,
      ),
    });

  const deadlines: DeadlineRow[] = [];
  if (p.catalog.updateAfterChange || p.catalog.updateArticle)
    deadlines.push({
      key: 'catalog',
      label: 'prof.catalogUpdate',
      deadline: p.catalog.updateAfterChange,
      article: p.catalog.updateArticle,
    });
  if (p.quality.objectionDeadline || p.quality.objectionArticle)
    deadlines.push({
      key: 'objection',
      label: 'prof.objection',
      deadline: p.quality.objectionDeadline,
      article: p.quality.objectionArticle,
      note: p.quality.objectionExcludesExpertTime ? 'prof.objectionExcludes' : undefined,
      path: 'quality.objectionDeadline',
    });
  if (p.quality.rectificationDeadline || p.quality.rectificationArticle)
    deadlines.push({
      key: 'rectification',
      label: 'prof.rectification',
      deadline: p.quality.rectificationDeadline,
      article: p.quality.rectificationArticle,
      path: 'quality.rectificationDeadline',
    });
  if (p.opening?.onApplicationReply || p.opening?.article)
    deadlines.push({
      key: 'opening',
      label: 'prof.openingReply',
      deadline: p.opening.onApplicationReply,
      article: p.opening.article,
      path: 'opening.onApplicationReply',
    });

  return (
    <div data-testid="page-profile">
      {p.regulation.draft ? (
        <Alert
          data-testid="profile-draft-note"
          type="warning"
          showIcon
          title={t('prof.draftNote')}
          style={{ marginBottom: 16 }}
        />
      ) : null}
      <Card title={t('prof.title')} style={{ marginBottom: 16 }}>
        <Descriptions
          data-testid="profile-regulation"
          bordered
          size="small"
          column={{ xs: 1, md: 2 }}
          items={[
            {
              key: 'name',
              label: t('prof.name'),
              children: <span data-testid="profile-name-text">{lang === 'en' ? p.nameEn : p.nameZh}</span>,
            },
            { key: 'issued', label: t('prof.issued'), children: p.regulation.issued },
            {
              key: 'title',
              label: t('prof.regulation'),
              children: (
                <Space wrap>
                  <span data-testid="profile-regulation-title">{p.regulation.titleZh}</span>
                  {p.regulation.draft ? (
                    <Tag color="orange" data-testid="profile-draft">
                      {t('prof.draft')}
                    </Tag>
                  ) : null}
                </Space>
              ),
            },
            { key: 'doc', label: t('prof.docNumber'), children: p.regulation.docNumber || '-' },
            ...(p.parent
              ? [
                  {
                    key: 'parent',
                    label: t('prof.parent'),
                    children: (
                      <>
                        <span data-testid="profile-parent">
                          {p.parentName ? (lang === 'en' ? p.parentName.en : p.parentName.zh) : '-'}
                        </span>{' '}
                        {pending('parent') ? notYet('parent') : null}
                      </>
                    ),
                  },
                ]
              : []),
          ]}
        />
      </Card>
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={12}>
          <Card title={t('prof.conditional')} style={{ marginBottom: 16 }}>
            {sh.conditional.steps.length ? (
              <WorkflowSteps steps={sh.conditional.steps} testid="profile-steps" />
            ) : (
              <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} />
            )}
            <Space orientation="vertical" size={2}>
              {sh.conditional.overallDeadline ? (
                <span data-testid="profile-overall">
                  {t('prof.overall')}
                  {i18n.colon}
                  <b>{deadlineLabel(sh.conditional.overallDeadline, i18n)}</b>
                </span>
              ) : null}
              <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                {t('prof.workflowArticle')}
                {i18n.colon}
                {articleText(sh.conditional.article, lang)}
              </Typography.Text>
            </Space>
          </Card>
          <Card title={t('prof.unconditional')}>
            {sh.unconditional.steps.length ? (
              <WorkflowSteps steps={sh.unconditional.steps} testid="profile-unconditional-steps" />
            ) : (
              <div data-testid="profile-direct" style={{ marginBottom: 8 }}>
                <Tag color="green" style={{ fontSize: 13, padding: '2px 8px' }}>
                  {t('prof.direct')}
                </Tag>
              </div>
            )}
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              {t('prof.workflowArticle')}
              {i18n.colon}
              {articleText(sh.unconditional.article, lang)}
            </Typography.Text>
          </Card>
        </Col>
        <Col xs={24} xl={12}>
          <Card title={t('prof.requests')} style={{ marginBottom: 16 }}>
            <Descriptions data-testid="profile-rules" bordered size="small" column={1} items={rules} />
          </Card>
          <Card title={t('prof.deadlines')}>
            <Table<DeadlineRow>
              data-testid="profile-deadlines"
              rowKey="key"
              size="small"
              pagination={false}
              dataSource={deadlines}
              columns={[
                {
                  title: t('prof.item'),
                  render: (_, r) => (
                    <div>
                      {t(r.label)} {r.path && pending(r.path) ? notYet(r.path) : null}
                      {r.note ? <div style={{ fontSize: 12, color: '#8c8c8c' }}>{t(r.note)}</div> : null}
                    </div>
                  ),
                },
                {
                  title: t('req.stepDeadline'),
                  onCell: () => ({ style: { whiteSpace: 'nowrap' } }),
                  render: (_, r) =>
                    r.deadline ? (
                      <b>{deadlineLabel(r.deadline, i18n)}</b>
                    ) : (
                      <Typography.Text type="secondary">{t('prof.noDeadline')}</Typography.Text>
                    ),
                },
                {
                  title: t('req.stepArticle'),
                  onCell: () => ({ style: { whiteSpace: 'nowrap' } }),
                  render: (_, r) => (r.article ? articleText(r.article, lang) : '-'),
                },
              ]}
            />
            {p.opening?.requestMustState?.length ? (
              <div style={{ marginTop: 12 }}>
                {t('prof.openingMustState')}
                {i18n.colon}
                {enumTags('statement', p.opening.requestMustState, i18n, 'blue')}
              </div>
            ) : null}
          </Card>
        </Col>
      </Row>
    </div>
  );
}
