/*
 * Startup figures of the built server (`node dist/src/main.js`) on embedded PGlite:
 *   first start  = initdb + migrations + demo city generation and load (target < 20 s)
 *   second start = reopen the same data directory (target < 3 s)
 * plus the server's resident memory (VmRSS) right after each start became healthy.
 *
 * Run alone with `npx tsx bench/startup.ts`; `npm run bench` runs it after the data-call benchmark.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAverage } from './stats.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = path.join(ROOT, 'dist/src/main.js');

export const STARTUP_TARGETS = { firstMs: 20_000, secondMs: 3_000 };

export interface StartResult {
  ms: number;
  rssMb: number | null;
  /** the server process's CPU time (user + system) until healthy: what a quiet machine's wall time would be near */
  cpuMs: number | null;
  stopMs: number;
  exitCode: number | null;
}

export interface StartupResult {
  built: string;
  populationRows: number;
  entityRows: number;
  first: StartResult;
  second: StartResult;
  firstPass: boolean;
  secondPass: boolean;
}

function newestMtime(
  dir: string,
  ext: string,
  skip: (p: string) => boolean,
): { file: string; mtime: number } {
  let best = { file: '', mtime: 0 };
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (skip(p)) continue;
    if (e.isDirectory()) {
      const sub = newestMtime(p, ext, skip);
      if (sub.mtime > best.mtime) best = sub;
    } else if (e.name.endsWith(ext)) {
      const m = fs.statSync(p).mtimeMs;
      if (m > best.mtime) best = { file: p, mtime: m };
    }
  }
  return best;
}

/** Builds dist/ with the project's own server build when it is missing or older than a source file. */
function ensureBuilt(): string {
  let reason: string | null = null;
  if (!fs.existsSync(MAIN)) reason = 'dist/src/main.js missing';
  else {
    const src = newestMtime(path.join(ROOT, 'src'), '.ts', (p) => p.endsWith('.test.ts'));
    const dist = newestMtime(path.join(ROOT, 'dist/src'), '.js', () => false);
    if (src.mtime > dist.mtime) reason = `dist older than ${path.relative(ROOT, src.file)}`;
  }
  if (!reason) return 'dist up to date';
  console.log(`startup: building server (${reason}): npx tsc -p tsconfig.build.json`);
  const t = Date.now();
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    // tsc still emits on type errors (noEmitOnError is off); only a missing main.js is fatal.
    console.log(
      `startup: tsc exited ${r.status}:\n${(r.stdout + r.stderr).split('\n').slice(0, 10).join('\n')}`,
    );
  }
  if (!fs.existsSync(MAIN)) throw new Error('build produced no dist/src/main.js');
  return `built (${reason}) in ${((Date.now() - t) / 1000).toFixed(1)} s`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function healthStatus(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/api/health', timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

function rssMb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

/** user + system CPU time of a running process, from /proc/<pid>/stat (fields 14 and 15, in clock ticks of 10 ms) */
function cpuMs(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may contain spaces: count fields after its closing parenthesis
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return null;
  }
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    const t = setTimeout(() => {
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

async function startOnce(
  dataDir: string,
  rows: { population: number; entity: number },
): Promise<StartResult> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GOVSHARE_DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    DEMO: 'auto',
    DEMO_POPULATION_ROWS: String(rows.population),
    DEMO_ENTITY_ROWS: String(rows.entity),
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
  };
  // embedded PGlite in the fresh data dir, no Redis: what `npm start` does on a laptop
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  const log: string[] = [];
  const t0 = performance.now();
  const child = spawn(process.execPath, [MAIN], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (c) => log.push(String(c)));
  child.stderr!.on('data', (c) => log.push(String(c)));
  const deadline = t0 + 180_000;
  let ms = -1;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) break;
    if ((await healthStatus(port)) === 200) {
      ms = performance.now() - t0;
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const rss = ms >= 0 ? rssMb(child.pid!) : null;
  const cpu = ms >= 0 ? cpuMs(child.pid!) : null;
  const s0 = performance.now();
  child.kill('SIGTERM');
  const exitCode = await waitExit(child, 15_000);
  const stopMs = performance.now() - s0;
  if (ms < 0) {
    throw new Error(
      `server did not become healthy (exit ${exitCode}); output:\n${log.join('').slice(-3000)}`,
    );
  }
  return { ms, rssMb: rss, cpuMs: cpu, stopMs, exitCode };
}

export async function runStartupBench(): Promise<StartupResult> {
  const built = ensureBuilt();
  const population = Number(process.env.BENCH_POPULATION_ROWS || 100_000);
  const entity = Number(process.env.BENCH_ENTITY_ROWS || 20_000);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gs-bench-startup-'));
  try {
    const first = await startOnce(dataDir, { population, entity });
    const second = await startOnce(dataDir, { population, entity });
    return {
      built,
      populationRows: population,
      entityRows: entity,
      first,
      second,
      firstPass: first.ms < STARTUP_TARGETS.firstMs,
      secondPass: second.ms < STARTUP_TARGETS.secondMs,
    };
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export function printStartup(r: StartupResult): void {
  const f = (x: StartResult) =>
    `${(x.ms / 1000).toFixed(2).padStart(6)} s   CPU ${x.cpuMs === null ? '?' : (x.cpuMs / 1000).toFixed(1)} s   RSS ${x.rssMb ?? '?'} MB   (SIGTERM→exit ${Math.round(x.stopMs)} ms, code ${x.exitCode})`;
  console.log(`\n== Startup: node dist/src/main.js on PGlite, fresh GOVSHARE_DATA_DIR (${r.built}) ==`);
  // on a shared machine the wall time grows with the others' load; the server's own CPU time does not
  console.log(`load average ${loadAverage()} on ${os.cpus().length} cores`);
  console.log(
    `demo city ${r.populationRows.toLocaleString('en')} population / ${r.entityRows.toLocaleString('en')} entities`,
  );
  console.log(
    `first start  (initdb + migrate + demo load) ${f(r.first)}  target < ${STARTUP_TARGETS.firstMs / 1000} s  ${r.firstPass ? 'PASS' : 'MISS'}`,
  );
  console.log(
    `second start (same data dir)                ${f(r.second)}  target < ${STARTUP_TARGETS.secondMs / 1000} s  ${r.secondPass ? 'PASS' : 'MISS'}`,
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  printStartup(await runStartupBench());
}
