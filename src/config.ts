import path from 'node:path';

/** Every setting govshare reads, from environment variables, with defaults that work on a laptop. */
export interface Config {
  port: number;
  host: string;
  /** PostgreSQL server URL; when empty govshare runs on embedded PGlite in `dataDir`. */
  databaseUrl: string | null;
  dataDir: string;
  /** Regulation profile id, see src/profiles. */
  profile: string;
  /**
   * `auto` loads the demo city into an empty embedded PGlite database only (never into a server database);
   * `on` loads it into any empty database; `off` never does and hides the demo logins.
   */
  demo: 'auto' | 'on' | 'off';
  demoPopulationRows: number;
  demoEntityRows: number;
  /** Optional Redis for state shared by several nodes (login rate limits). */
  redisUrl: string | null;
  dbPoolSize: number;
  sessionTtlHours: number;
  secureCookies: boolean;
  loginRateLimitPerMinute: number;
  /** Consecutive failed sign-ins that lock an account (0 = never lock). */
  loginLockThreshold: number;
  /** First lock duration; each further lock doubles it, up to `loginLockMaxSeconds`. */
  loginLockBaseSeconds: number;
  loginLockMaxSeconds: number;
  /** Failed sign-ins one client IP may make across all usernames per window (password spraying); 0 = no limit. */
  loginIpFailureLimit: number;
  /** Failed sign-ins platform-wide per window; 0 = no limit. */
  loginGlobalFailureLimit: number;
  loginFailureWindowSeconds: number;
  /** First platform administrator created at a production start with no admin yet (never logged). */
  adminPassword: string | null;
  adminUsername: string;
  /** The authority org created with the first administrator on a database without one. */
  authorityName: string;
  jurisdictionCode: string;
  jurisdictionName: string;
  /** Synchronous CSV upload cap in bytes. */
  uploadMaxBytes: number;
  logLevel: string;
  /** Built web console; served at / when present. */
  webDir: string;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const demo = env.DEMO || 'auto';
  if (demo !== 'auto' && demo !== 'on' && demo !== 'off')
    throw new Error(`DEMO must be "auto", "on" or "off", got "${demo}"`);
  return {
    port: int(env, 'PORT', 8080),
    host: env.HOST || '0.0.0.0',
    databaseUrl: env.DATABASE_URL || null,
    dataDir: path.resolve(env.GOVSHARE_DATA_DIR || 'data'),
    profile: env.PROFILE || 'dongguan-2020',
    demo,
    demoPopulationRows: int(env, 'DEMO_POPULATION_ROWS', 100_000),
    demoEntityRows: int(env, 'DEMO_ENTITY_ROWS', 20_000),
    redisUrl: env.REDIS_URL || null,
    dbPoolSize: int(env, 'DB_POOL_SIZE', 20),
    sessionTtlHours: int(env, 'SESSION_TTL_HOURS', 12),
    secureCookies: env.SECURE_COOKIES === 'true',
    loginRateLimitPerMinute: int(env, 'LOGIN_RATE_LIMIT', 10),
    loginLockThreshold: int(env, 'LOGIN_LOCK_THRESHOLD', 5),
    loginLockBaseSeconds: int(env, 'LOGIN_LOCK_BASE_SECONDS', 60),
    loginLockMaxSeconds: int(env, 'LOGIN_LOCK_MAX_SECONDS', 3600),
    loginIpFailureLimit: int(env, 'LOGIN_IP_FAILURE_LIMIT', 50),
    loginGlobalFailureLimit: int(env, 'LOGIN_GLOBAL_FAILURE_LIMIT', 1000),
    loginFailureWindowSeconds: int(env, 'LOGIN_FAILURE_WINDOW_SECONDS', 900),
    adminPassword: env.GOVSHARE_ADMIN_PASSWORD || null,
    adminUsername: env.GOVSHARE_ADMIN_USERNAME || 'admin',
    authorityName: env.GOVSHARE_AUTHORITY_NAME || '政务服务数据管理局',
    jurisdictionCode: env.GOVSHARE_JURISDICTION_CODE || '000000',
    jurisdictionName: env.GOVSHARE_JURISDICTION_NAME || '本级行政区',
    uploadMaxBytes: int(env, 'UPLOAD_MAX_BYTES', 5 * 1024 * 1024),
    logLevel: env.LOG_LEVEL || 'info',
    webDir: path.resolve(env.GOVSHARE_WEB_DIR || 'web/dist'),
  };
}
