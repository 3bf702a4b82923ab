import { closeContext, isEmpty, openContext } from './boot.js';
import { loadConfig } from './config.js';
import { loadDemoCity } from './demo/load.js';
import { buildApp } from './http/app.js';
import { resumeImports } from './ingest/pipeline.js';
import { bootstrapPlatform, demoWanted } from './orgs/bootstrap.js';

const t0 = Date.now();
const config = loadConfig();
let ctx = await openContext(config).catch((e: Error) => {
  const target = config.databaseUrl ? `the PostgreSQL server in DATABASE_URL` : `PGlite in ${config.dataDir}`;
  console.error(`govshare: cannot open ${target}: ${e.message}`);
  process.exit(1);
});
const where = ctx.database.kind === 'pglite' ? `PGlite at ${config.dataDir}` : 'PostgreSQL server';
console.log(`govshare: database ready (${where}), profile ${ctx.profile.id} — ${ctx.profile.nameZh}`);

// DEMO=auto loads the demo city only into the embedded PGlite default; a server database needs DEMO=on.
if (demoWanted(config, ctx.database.kind) && (await isEmpty(ctx))) {
  console.log('govshare: empty database, loading the demo city…');
  const demo = await loadDemoCity(ctx, {
    populationRows: config.demoPopulationRows,
    entityRows: config.demoEntityRows,
  });
  console.log(
    `govshare: demo city ${demo.city} loaded: ${demo.rows} rows in ${(demo.ms / 1000).toFixed(1)} s`,
  );
  console.log('\nDemo logins (password Demo@2026):');
  for (const u of demo.users)
    console.log(`  ${u.username.padEnd(14)} ${u.displayName}  ${u.orgName}  [${u.roles.join(', ')}]`);
  console.log('\nDemo app API keys (shown once, stored hashed):');
  for (const a of demo.apps) console.log(`  ${a.apiKey}  ${a.orgName} / ${a.name}`);
  console.log('');
  if (ctx.database.kind === 'pglite') {
    // PGlite's WASM heap keeps the size the demo load grew it to; a fresh instance starts small again.
    await closeContext(ctx);
    ctx = await openContext(config);
  }
}

// No administrator yet (a production start): create it from GOVSHARE_ADMIN_PASSWORD, or print a one-time setup link.
try {
  const boot = await bootstrapPlatform(ctx);
  if (boot.kind === 'adminCreated')
    console.log(
      `govshare: created the platform administrator "${boot.username}" from GOVSHARE_ADMIN_PASSWORD`,
    );
  if (boot.kind === 'setupLink') {
    const origin = `http://localhost:${config.port}`;
    console.log(
      `\ngovshare: no platform administrator yet. One-time setup token (valid until ${boot.expiresAt.toISOString()};`,
    );
    console.log('  a restart issues a new one and the old one stops working):');
    console.log(`  curl -X POST ${origin}${boot.path} -H 'content-type: application/json' \\`);
    console.log(`    -d '{"token":"${boot.token}","username":"admin","password":"<12+ chars, 3 classes>"}'`);
    console.log('  or set GOVSHARE_ADMIN_PASSWORD (12+ characters, three character classes) and restart.\n');
  }
} catch (e) {
  const err = e as Error & { details?: { reason: string }[] };
  console.error(
    `govshare: ${err.message}${err.details ? `: ${err.details.map((d) => d.reason).join('; ')}` : ''}`,
  );
  process.exit(1);
}

const app = await buildApp(ctx, { logger: { level: config.logLevel }, redis: ctx.redis });
// deadlines and other jobs (src/jobs): every node polls; each due job runs on one node
ctx.jobs.start();
await app.listen({ port: config.port, host: config.host });
console.log(
  `govshare: listening on http://localhost:${config.port} (healthy in ${Date.now() - t0} ms; API docs at /api/docs)`,
);

// Imports a stopped process left running without a job (JSON batches and pushes run in their request) are failed
// cleanly, and a spooled one whose progress stopped is run again; uploads themselves are jobs (src/jobs/platform.ts).
const resumed = await resumeImports(ctx);
if (resumed.length) console.log(`govshare: resuming ${resumed.length} interrupted import(s)`);

let closing = false;
async function shutdown(signal: string) {
  if (closing) return;
  closing = true;
  console.log(`govshare: ${signal}, shutting down`);
  await app.close();
  await closeContext(ctx);
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
