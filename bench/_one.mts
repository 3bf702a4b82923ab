import { openContext, closeContext } from '../src/boot.js';
import { loadConfig } from '../src/config.js';
import { listResources } from '../src/catalog/service.js';
const ctx = await openContext({ ...loadConfig({}), databaseUrl: 'postgres://postgres@127.0.0.1:5432/gs_bench_36aedb78', dataDir: 'memory://', dbPoolSize: 5 });
const org = (await ctx.db.selectFrom('org').select('id').orderBy('id').execute())[1].id;
const actor: any = { id: 0, username: 'b', displayName: 'b', orgId: org, orgKind: 'department', sectionId: null, roles: ['data_officer'], clientIp: null };
const q = process.argv[2] ?? '人口';
for (let i = 0; i < 5; i++) { const t = performance.now(); const r = await listResources(ctx, actor, { q, page: 1, pageSize: 20 }); console.log(r.total, (performance.now() - t).toFixed(1)); }
await closeContext(ctx);
