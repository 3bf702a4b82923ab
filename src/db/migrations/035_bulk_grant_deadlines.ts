import { type Kysely, sql } from 'kysely';

/*
 * NY task 7: a bulk (整体授权) or proxy (同等代理授权) grant request past its 10 WD gets the reminders and the escalation
 * an ordinary request gets (the deadline ticker's remindOrEscalate, src/sharing/reminders.ts):
 *   share_bulk_grant.escalated_on — the day a missed deadline put it before the authority (the day after its due date);
 *   share_bulk_event — one row per deadline action taken (dueSoon, dueToday, overdue, escalated): the primary key makes
 *                      each happen once, whichever node gets there first, as share_request_event does for requests.
 * No foreign keys (distributable with share_bulk_grant).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE share_bulk_grant ADD COLUMN escalated_on date;
    CREATE TABLE share_bulk_event (
      bulk_id bigint NOT NULL,
      kind text NOT NULL CHECK (kind IN ('dueSoon','dueToday','overdue','escalated')),
      on_date date NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (bulk_id, kind)
    );
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TABLE share_bulk_event;
    ALTER TABLE share_bulk_grant DROP COLUMN escalated_on;
  `.execute(db);
}
