import pg from 'pg';

/** With DATABASE_URL the suite runs against that PostgreSQL server; drop test databases a killed run left behind. */
export async function setup() {
  const url = process.env.DATABASE_URL;
  if (!url) return;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const { rows } = await client.query<{ datname: string }>(
    "SELECT datname FROM pg_database WHERE datname LIKE 'gs\\_t\\_%'",
  );
  for (const r of rows) await client.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`);
  await client.end();
}
