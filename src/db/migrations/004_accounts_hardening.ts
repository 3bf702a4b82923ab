import { type Kysely, sql } from 'kysely';

/*
 * Accounts hardening:
 *  - per-account lockout state on app_user (shared by every node because it lives in the database);
 *  - fixed-window counters of failed sign-ins per client IP and platform-wide (password spraying);
 *  - a tally of refused console requests, so repeated refusals are one audit_log row plus a count;
 *  - resource fields whose validator identifies a person or an entity get the flags and masking they imply.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE app_user
      ADD COLUMN failed_logins integer NOT NULL DEFAULT 0,
      ADD COLUMN lock_count integer NOT NULL DEFAULT 0,
      ADD COLUMN locked_until timestamptz;
    CREATE TABLE login_failure (
      bucket timestamptz NOT NULL,
      scope text NOT NULL CHECK (scope IN ('ip','all')),
      key text NOT NULL CHECK (length(key) <= 64),
      count integer NOT NULL DEFAULT 1,
      PRIMARY KEY (bucket, scope, key)
    );
    CREATE TABLE audit_refusal_tally (
      bucket timestamptz NOT NULL,
      principal text NOT NULL CHECK (length(principal) <= 40),
      client_ip text NOT NULL CHECK (length(client_ip) <= 64),
      method text NOT NULL CHECK (length(method) <= 10),
      route text NOT NULL CHECK (length(route) <= 200),
      code text NOT NULL CHECK (length(code) <= 40),
      count integer NOT NULL DEFAULT 1,
      audit_id bigint,
      last_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (bucket, principal, client_ip, method, route, code)
    );
    CREATE INDEX audit_refusal_tally_audit_idx ON audit_refusal_tally (audit_id);
  `.execute(db);
  await fixValidatedFields(db);
}

/**
 * Fields registered before the rule (catalog/model normaliseField): what the validator implies, and no clear output for
 * a personal or sensitive field. Exported so a test can run it on rows written the old way.
 */
export async function fixValidatedFields(db: Kysely<unknown>): Promise<void> {
  await sql`
    UPDATE resource_field SET personal = true WHERE validator IN ('idNumber','mobilePhone') AND NOT personal;
    UPDATE resource_field SET sensitive = true WHERE validator = 'creditCode' AND NOT sensitive;
    UPDATE resource_field SET masking = 'idNumber' WHERE validator = 'idNumber' AND masking = 'none';
    UPDATE resource_field SET masking = 'phone' WHERE validator = 'mobilePhone' AND masking = 'none';
    UPDATE resource_field SET masking = 'creditCode' WHERE validator = 'creditCode' AND masking = 'none';
    UPDATE resource_field SET masking = 'partial' WHERE (personal OR sensitive) AND masking = 'none';
  `.execute(db);
}
