import { applyRetention, ensureAuditPartitions, PARTITIONS_JOB, RETENTION_JOB } from '../audit/archive.js';
import { sealPending } from '../audit/seal.js';
import { ASSEMBLE_JOB, runAssembly } from '../baselib/assemble.js';
import type { AppContext } from '../context.js';
import { BUDGET_PRUNE_JOB, pruneAggregateBudget } from '../dataapi/aggregate.js';
import { deliverFeedJob, FEED_DELIVER_JOB } from '../dataapi/feed.js';
import { explodeLedgerBatches, LEDGER_EXPLODE_JOB } from '../dataapi/ledger.js';
import { EVALUATION_JOB, evaluationJob } from '../evaluation/service.js';
import { checkFreshness } from '../ingest/freshness.js';
import { FRESHNESS_JOB, IMPORT_JOB, importJob } from '../ingest/pipeline.js';
import { CHANNELS, deliverNotifications, NOTIFY_DELIVER_JOB, senderOf } from '../notify/senders.js';
import { OPEN_REMINDERS_JOB, tickOpenReminders } from '../opening/notices.js';
import {
  QUALITY_CHECK_JOB,
  QUALITY_NIGHTLY_JOB,
  qualityCheckJob,
  scheduleNightlyChecks,
} from '../quality/checks.js';
import { QUALITY_DEADLINES_JOB, tickQuality } from '../quality/deadlines.js';
import { ALERT_JOB, evaluateAlerts } from '../security/alerts.js';
import { ROTATE_INDEX_JOB, rotateIndexJob } from '../security/index-rotation.js';
import { DECRYPT_JOB, decryptJob, ENCRYPT_JOB, encryptJob } from '../security/key-convert.js';
import { REENCRYPT_JOB, reencryptJob } from '../security/key-service.js';
import { tickDeadlines } from '../sharing/deadlines.js';
import { detectViolations, VIOLATION_JOB } from '../supervision/violations.js';
import { runUsageRollup, USAGE_ROLLUP_JOB } from '../usage/rollup.js';

/**
 * The jobs every node runs, registered at boot (openContext) so a test's context can `runDue()` them too. Features
 * add theirs here: one register + one schedule each.
 */
export async function registerPlatformJobs(ctx: AppContext): Promise<void> {
  // sharing deadlines (issue 8): reminders, escalation, deemed consent, overall deadline; date-based and idempotent,
  // so a minute's delay is harmless and a node that was off catches up on its first tick
  ctx.jobs.register('sharing.deadlines', async () => {
    await tickDeadlines(ctx);
  });
  await ctx.jobs.recurring(ctx.db, { kind: 'sharing.deadlines', key: 'all', every: { seconds: 60 } });
  // reminders outside the console (issue 8 point 4): warning and critical notifications to the person's mobile or
  // e-mail through the configured senders (src/notify/senders.ts); a sender name that does not exist fails the boot
  for (const c of CHANNELS) senderOf(ctx, c);
  ctx.jobs.register(NOTIFY_DELIVER_JOB, async () => {
    await deliverNotifications(ctx);
  });
  await ctx.jobs.recurring(ctx.db, { kind: NOTIFY_DELIVER_JOB, key: 'all', every: { seconds: 60 } });
  // quality (issue 12): the same reminders and escalation on objection deadlines (DG Art 28, NY task 8) and
  // rectification tasks (XT Art 22)
  ctx.jobs.register(QUALITY_DEADLINES_JOB, async () => {
    await tickQuality(ctx);
  });
  await ctx.jobs.recurring(ctx.db, { kind: QUALITY_DEADLINES_JOB, key: 'all', every: { seconds: 60 } });
  // quality checks (issue 12 point 2): one job per resource after each committed import (queued by the import's
  // transaction) and nightly at 02:30 Beijing time
  ctx.jobs.register(QUALITY_CHECK_JOB, async (job) => {
    await qualityCheckJob(ctx, job.payload as { resourceId: number; batchId?: number });
  });
  ctx.jobs.register(QUALITY_NIGHTLY_JOB, async () => {
    await scheduleNightlyChecks(ctx);
  });
  await ctx.jobs.recurring(ctx.db, { kind: QUALITY_NIGHTLY_JOB, key: 'all', every: { dailyAt: '02:30' } });
  // audit sealing (issue 10): closes every finished transaction range into a signed block; one node at a time
  ctx.jobs.register('audit.seal', async () => {
    await sealPending(ctx);
  });
  if (ctx.config.sealIntervalMs > 0)
    await ctx.jobs.recurring(ctx.db, {
      kind: 'audit.seal',
      key: 'all',
      every: { seconds: Math.max(1, Math.round(ctx.config.sealIntervalMs / 1000)) },
    });
  // audit at province scale (issue 10 point 12): monthly partitions of audit_log exist ahead of time (checked every 6
  // hours; creating one is a no-op when it exists), and months older than AUDIT_RETENTION_MONTHS leave the database
  // nightly once an archive holds them (src/audit/archive.ts)
  ctx.jobs.register(PARTITIONS_JOB, async () => {
    await ensureAuditPartitions(ctx.db, ctx.clock.now());
  });
  await ctx.jobs.recurring(ctx.db, { kind: PARTITIONS_JOB, key: 'all', every: { seconds: 6 * 3600 } });
  ctx.jobs.register(RETENTION_JOB, async () => {
    await applyRetention(ctx, ctx.clock.now());
  });
  await ctx.jobs.recurring(ctx.db, { kind: RETENTION_JOB, key: 'all', every: { dailyAt: '03:30' } });

  // aggregation (issue 7): uploaded files are imported by a job (restart-safe: the batch's state is in the database),
  // and overdue resources are flagged hourly (XT Art 20, DG Art 17; once per due date, so a repeat is harmless)
  ctx.jobs.register(IMPORT_JOB, async (job) => {
    await importJob(ctx, (job.payload as { batchId: number }).batchId);
  });
  ctx.jobs.register(FRESHNESS_JOB, async () => {
    await checkFreshness(ctx);
  });
  await ctx.jobs.recurring(ctx.db, { kind: FRESHNESS_JOB, key: 'all', every: { seconds: 3600 } });
  // the change feed's push delivery (issue 9 point 6): one job per subscription, queued when an import commits; a failed
  // batch is retried with the jobs module's backoff (at least once, the cursor as idempotency key)
  ctx.jobs.register(FEED_DELIVER_JOB, async (job) => {
    await deliverFeedJob(ctx, (job.payload as { subscriptionId: number }).subscriptionId, job.key);
  });
  // bulk export's leak-tracing ledger (issue 9 point 5, migration 047): each served batch is recorded as one row in its
  // transaction; this job explodes those rows into the per-digest indexed ledger off the export's path (leak tracing
  // reads both, so a late run delays nothing but the lookup's speed)
  ctx.jobs.register(LEDGER_EXPLODE_JOB, async () => {
    const done = await explodeLedgerBatches(ctx.db);
    // fell behind (a run's worth done, more may wait): the next run is due at once, not in 60 s
    return done.behind ? { runAgainAt: ctx.clock.now() } : undefined;
  });
  await ctx.jobs.recurring(ctx.db, { kind: LEDGER_EXPLODE_JOB, key: 'all', every: { seconds: 60 } });

  // the aggregate queries' privacy budget (issue 9 point 7): days past BUDGET_DAYS_KEPT are dropped once a day
  ctx.jobs.register(BUDGET_PRUNE_JOB, async () => {
    await pruneAggregateBudget(ctx);
  });
  await ctx.jobs.recurring(ctx.db, { kind: BUDGET_PRUNE_JOB, key: 'all', every: { dailyAt: '03:10' } });

  // usage monitoring (issue 12 point 3): audit_log's data calls rolled into usage_daily every 10 minutes; each run
  // re-rolls whole days from the day before its watermark, so it is idempotent and picks up late commits
  ctx.jobs.register(USAGE_ROLLUP_JOB, async () => {
    await runUsageRollup(ctx);
  });
  await ctx.jobs.recurring(ctx.db, { kind: USAGE_ROLLUP_JOB, key: 'all', every: { seconds: 600 } });
  // department evaluation (issue 12 point 5): one job per requested run
  ctx.jobs.register(EVALUATION_JOB, async (job) => {
    await evaluationJob(ctx, (job.payload as { runId: number }).runId);
  });
  // anomaly alerts (issue 10 point 5, SY Art 43): volume above the app's norm, bulk reads outside working hours and
  // repeated denials, every 5 minutes (enumeration is checked inline on the data API); one alert per ongoing anomaly
  // encryption at rest (docs/ENCRYPTION.md): re-encryption after a data-key rotation; conversion of clear columns, and
  // back to clear storage when a catalog version turns the sensitive-personal flag off
  ctx.jobs.register(REENCRYPT_JOB, async (job) => {
    await reencryptJob(ctx, job.payload as { resourceId: number });
  });
  ctx.jobs.register(ENCRYPT_JOB, async (job) => {
    await encryptJob(ctx, job.payload as { resourceId: number });
  });
  ctx.jobs.register(DECRYPT_JOB, async (job) => {
    await decryptJob(ctx, job.payload as { resourceId: number });
  });
  // rotation of the lookup-index key: the resources left, one group per transaction, then the old version retired
  ctx.jobs.register(ROTATE_INDEX_JOB, async () => {
    await rotateIndexJob(ctx);
  });
  ctx.jobs.register(ALERT_JOB, async () => {
    await evaluateAlerts(ctx);
  });
  await ctx.jobs.recurring(ctx.db, { kind: ALERT_JOB, key: 'all', every: { seconds: 300 } });
  // base and theme libraries (issue 7 point 7, DG Art 21): one job per assembly run; its steps can run again, so a node
  // that takes over after a crash repeats the run
  ctx.jobs.register(ASSEMBLE_JOB, async (job) => {
    await runAssembly(ctx, (job.payload as { runId: number }).runId);
  });
  // violations (issue 12 point 4, XT Art 41, SY Art 47): hourly, one finding per ongoing violation; a profile that lists
  // none makes the run a no-op
  ctx.jobs.register(VIOLATION_JOB, async () => {
    await detectViolations(ctx);
  });
  await ctx.jobs.recurring(ctx.db, { kind: VIOLATION_JOB, key: 'all', every: { seconds: 3600 } });
  // opening (issue 11): grant-expiry notices to public accounts and re-evaluation reminders to the providing
  // departments (SY Art 37), hourly; date-based and recorded once each, so a repeat or a late run is harmless
  ctx.jobs.register(OPEN_REMINDERS_JOB, async () => {
    await tickOpenReminders(ctx);
  });
  await ctx.jobs.recurring(ctx.db, { kind: OPEN_REMINDERS_JOB, key: 'all', every: { seconds: 3600 } });
}
