import { shanghaiDate, workdaysBetween } from '../calendar/model.js';
import { currentCalendar } from '../calendar/service.js';
import { reviewInbox } from '../catalog/service.js';
import type { Actor, AppContext } from '../context.js';
import { hasRole } from '../context.js';
import { inbox as inventoryInbox } from '../inventory/service.js';
import { applicationsToDo } from '../opening/applications.js';
import { governanceToDo } from '../opening/governance.js';
import { objectionsToAnswer } from '../quality/objections.js';
import { rectificationsToDo } from '../quality/rectifications.js';
import { labelOf } from '../shared/labels.js';
import { listDisputes } from '../sharing/cases.js';
import { shareReevaluations } from '../sharing/reevaluation.js';
import { listRequests } from '../sharing/service.js';

/**
 * What waits for the signed-in person, due when and how many working days are left (brief: each role's home page is
 * its own work). Items are the requests whose current step this person may decide and the catalog versions they
 * review; the inventories contribute counts. Overdue first, then by due date, then the undated by arrival.
 */
export interface WorkItem {
  kind:
    | 'shareRequest'
    | 'catalogReview'
    | 'objection'
    | 'rectification'
    | 'dispute'
    | 'openApplication'
    | 'openReview'
    | 'openOperation'
    | 'openReevaluation'
    | 'shareReevaluation';
  id: number;
  title: string;
  /** the other party: the consumer department, or the entry's provider */
  party: string;
  stepZh: string | null;
  stepEn: string | null;
  since: string | null;
  dueDate: string | null;
  dueDateProvisional: boolean;
  overdue: boolean;
  /** working days from today to the due date (0 = due today); null when undated or overdue */
  workdaysLeft: number | null;
  /** working days past the due date; null unless overdue */
  workdaysOverdue: number | null;
}

export async function myWork(ctx: AppContext, actor: Actor) {
  const cal = await currentCalendar(ctx);
  const today = shanghaiDate(ctx.clock.now());
  const inventories = hasRole(actor, 'data_officer', 'authority_reviewer', 'platform_admin');
  const settles = actor.orgKind === 'authority' && hasRole(actor, 'authority_reviewer');
  const [requests, reviews, inv, objections, rectifications, disputes, openApps, openGov, shareEval] =
    await Promise.all([
      listRequests(ctx, actor, { box: 'incoming', status: 'pending', page: 1, pageSize: 200 }),
      reviewInbox(ctx, actor),
      inventories ? inventoryInbox(ctx, actor) : Promise.resolve(null),
      objectionsToAnswer(ctx, actor),
      rectificationsToDo(ctx, actor),
      // sharing disputes the authority coordinates (DG Art 15, SY Art 28)
      settles ? listDisputes(ctx, actor, { page: 1, pageSize: 200 }) : Promise.resolve(null),
      applicationsToDo(ctx, actor),
      governanceToDo(ctx, actor),
      // restricted resources coming due for re-evaluation (XT Art 23.5, SY Art 31): the provider's data officer
      hasRole(actor, 'data_officer') ? shareReevaluations(ctx, actor, true) : Promise.resolve(null),
    ]);
  const dated = (dueDate: string | null, overdue: boolean) => ({
    dueDate,
    overdue,
    workdaysLeft: dueDate && !overdue ? workdaysBetween(cal, today, dueDate) : null,
    workdaysOverdue: dueDate && overdue ? workdaysBetween(cal, dueDate, today) : null,
  });
  const items: WorkItem[] = [
    ...requests.items
      .filter((r) => r.canDecide)
      .map((r) => {
        const step = r.steps.find((s) => s.index === r.currentStep);
        return {
          kind: 'shareRequest' as const,
          id: r.id,
          title: r.resource.name,
          party: r.consumerOrg.name,
          stepZh: step?.nameZh ?? null,
          stepEn: step?.nameEn ?? null,
          since: step?.startedOn ?? null,
          dueDateProvisional: r.dueDateProvisional,
          ...dated(r.dueDate, r.overdue),
        };
      }),
    ...reviews.items.map((v) => ({
      kind: 'catalogReview' as const,
      id: v.resourceId,
      title: v.name,
      party: v.provider.name,
      stepZh: null,
      stepEn: null,
      since: v.submittedAt ? shanghaiDate(new Date(v.submittedAt)) : null,
      dueDateProvisional: false,
      ...dated(null, false),
    })),
    // quality objections to verify (DG Art 28, NY task 8); a paused one waits without a running clock
    ...objections.map((o) => ({
      kind: 'objection' as const,
      id: o.id,
      title: o.resource.name,
      party: o.objectorOrg.name,
      stepZh: labelOf(`objectionStatus.${o.status}`, 'zh') ?? null,
      stepEn: labelOf(`objectionStatus.${o.status}`, 'en') ?? null,
      since: o.raisedOn,
      dueDateProvisional: o.dueDateProvisional,
      ...dated(o.status === 'paused' ? null : o.dueDate, o.overdue),
    })),
    // rectification tasks (XT Art 22)
    ...rectifications.map((r) => ({
      kind: 'rectification' as const,
      id: r.id,
      title: r.resource.name,
      party: r.title,
      stepZh: null,
      stepEn: null,
      since: r.openedOn,
      dueDateProvisional: r.dueDateProvisional,
      ...dated(r.dueDate, r.overdue),
    })),
    ...(disputes?.items ?? [])
      .filter((d) => d.canDecide)
      .map((d) => ({
        kind: 'dispute' as const,
        id: d.id,
        title: d.resource.name,
        party: d.consumerOrg.name,
        stepZh: labelOf(`disputeStatus.${d.status}`, 'zh') ?? null,
        stepEn: labelOf(`disputeStatus.${d.status}`, 'en') ?? null,
        since: shanghaiDate(new Date(d.raisedAt)),
        dueDateProvisional: false,
        ...dated(null, false),
      })),
    // on-application open data (SY Art 34): answers of the provider, reviews of the authority (SY Art 47)
    ...openApps.map((a) => ({
      kind: a.canReview ? ('openReview' as const) : ('openApplication' as const),
      id: a.id,
      title: a.dataset.title,
      party: a.applicant?.name ?? '',
      stepZh: labelOf(`openApplicationStatus.${a.status}`, 'zh') ?? null,
      stepEn: labelOf(`openApplicationStatus.${a.status}`, 'en') ?? null,
      since: a.filedOn,
      dueDateProvisional: false,
      ...dated(a.canReview ? null : a.dueDate, a.canReview ? false : a.overdue),
    })),
    // authorised operation awaiting the authority (SY Art 39): its review, then the government's recorded decision
    ...openGov.operations.map((o) => ({
      kind: 'openOperation' as const,
      id: o.id,
      title: o.operatorName,
      party: o.org.name,
      stepZh: labelOf(`openOperationStatus.${o.status}`, 'zh') ?? null,
      stepEn: labelOf(`openOperationStatus.${o.status}`, 'en') ?? null,
      since: shanghaiDate(new Date(o.submittedAt)),
      dueDateProvisional: false,
      ...dated(null, false),
    })),
    // open resources whose periodic re-evaluation comes due (SY Art 37)
    ...openGov.reevaluations.map((r) => ({
      kind: 'openReevaluation' as const,
      id: r.resource.id,
      title: r.resource.name,
      party: r.org.name,
      stepZh: null,
      stepEn: null,
      since: r.lastEvaluatedOn,
      dueDateProvisional: false,
      ...dated(r.dueDate, r.overdue),
    })),
    ...(shareEval?.items ?? [])
      .filter((r) => r.canRecord)
      .map((r) => ({
        kind: 'shareReevaluation' as const,
        id: r.resource.id,
        title: r.resource.name,
        party: r.org.name,
        stepZh: labelOf(`shareType.${r.shareType}`, 'zh') ?? null,
        stepEn: labelOf(`shareType.${r.shareType}`, 'en') ?? null,
        since: r.lastEvaluatedOn,
        dueDateProvisional: !cal.isYearKnown(Number(r.dueDate.slice(0, 4))),
        ...dated(r.dueDate, r.overdue),
      })),
  ];
  items.sort(
    (a, b) =>
      Number(b.overdue) - Number(a.overdue) ||
      (a.dueDate ?? '9999').localeCompare(b.dueDate ?? '9999') ||
      (a.since ?? '').localeCompare(b.since ?? ''),
  );
  return { today, items, inventories: inv };
}
