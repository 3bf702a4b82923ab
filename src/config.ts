import { isIP } from 'node:net';
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
  /** Optional NATS JetStream server for the change feed's push delivery (issue 9 point 6); nats targets are refused when unset */
  natsUrl: string | null;
  /** Webhooks of the change feed may target loopback and private addresses (off: refused, against SSRF) */
  feedWebhookAllowPrivate: boolean;
  dbPoolSize: number;
  /** How long to wait for a PostgreSQL connection before a request fails with DATABASE_UNAVAILABLE. */
  dbConnectTimeoutMs: number;
  sessionTtlHours: number;
  /** Always mark the session cookie Secure; it is also Secure whenever the request came over HTTPS. */
  secureCookies: boolean;
  /** Reverse proxies (IPs or CIDRs) whose X-Forwarded-For / -Proto / -Host are believed; empty = none. */
  trustProxy: string[];
  /** Other origins (scheme://host[:port]) allowed to send console writes, e.g. the Vite dev server. */
  allowedOrigins: string[];
  /** Largest JSON request body in bytes. */
  jsonBodyLimit: number;
  /** Largest CSV upload in bytes. */
  uploadMaxBytes: number;
  /** Largest streamed import (CSV / NDJSON / XLSX), spooled to disk, never held in memory. */
  ingestMaxBytes: number;
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
  logLevel: string;
  /** Built web console; served at / when present. */
  webDir: string;
  /** refused requests without a session per client address per minute before they are answered 429 (0 = off) */
  anonRefusalsPerMinute: number;
  /** open-data portal and CKAN API calls per client address per minute (SY Art 33: open without application) */
  openRateLimitPerMinute: number;
  /** open-data downloads (CSV / XLSX / JSON) per client address per minute */
  openDownloadsPerMinute: number;
  /** open API calls (CKAN, previews) per open API key per minute, on top of the per-address limit */
  openKeyCallsPerMinute: number;
  /** open-data downloads per open API key (or signed-in public account) per minute */
  openKeyDownloadsPerMinute: number;
  /** public-account registrations per client address per hour (sign-up floods) */
  openRegistrationsPerHour: number;
  /** months between a provider's re-evaluations of an open resource (SY Art 37 sets no period) */
  openReevaluationMonths: number;
  /** period of the re-evaluation of conditional / not-shared resources (XT Art 23.5, SY Art 31 give none) */
  shareReevaluationMonths: number;
  /** Keys the audit log's record-key hashes; generated and kept in the database when unset. */
  secret: string | null;
  /** The audit sealer's Ed25519 private key (PEM file, created 0600 when absent); null = a new key per process. */
  sealKeyFile: string | null;
  /**
   * Encryption at rest of sensitive-personal fields (docs/ENCRYPTION.md). The key-encryption key: `GOVSHARE_KEK`
   * (base64, 32 bytes), else the file `GOVSHARE_KEK_FILE` (one base64 key per line, the first is current, the others
   * still unwrap during a KEK rotation), else `<data dir>/field-kek.key`, created 0600 on first start; with an
   * in-memory database and no key configured, one random key per process. `GOVSHARE_KEK_PREVIOUS`: earlier keys (comma
   * separated). `GOVSHARE_FIELD_CIPHER`: sm4 (default where Node offers SM4) or aes-256-gcm. Optional: older test configs.
   */
  fieldKek?: string | null;
  fieldKekFile?: string | null;
  fieldKekPrevious?: string[];
  fieldCipher?: string | null;
  /** How often the audit sealer closes a block (ms); 0 = only when asked (tests, the CLI). */
  sealIntervalMs: number;
  /** Most rows in one CSV export of the audit log's filtered view (a larger view is refused, not cut). */
  auditExportMaxRows: number;
  /** How deep the auditor's list counts and pages by page number (`AUDIT_LIST_WINDOW`, default 10 000, at least 100); older records by cursor. */
  auditListWindow: number;
  /**
   * Training and acceptance-test mode (GOVSHARE_TRAINING_CLOCK=true): the platform clock runs at real speed from an
   * offset that a platform administrator moves forward (POST /api/clock/advance), so deadlines, reminders, escalation
   * and deemed consent can be shown without waiting. Off by default; never on in production (the offset is per node).
   */
  trainingClock: boolean;
  /**
   * Senders of reminders outside the console, per channel (src/notify/senders.ts): 'log' (the server log; the demo),
   * 'webhook' (POST to `notifyWebhookUrl`, e.g. an SMS or mail gateway), 'none', or a sender registered by a
   * deployment. Optional: older test configs.
   */
  notifySenders?: { sms: string; email: string };
  notifyWebhookUrl?: string | null;
  /** the HMAC key of the webhook's X-Govshare-Signature, shared with the gateway */
  notifyWebhookSecret?: string | null;
  /** Most records in one sealed block (a single transaction's records are never split). */
  sealMaxRecords: number;
  /** Months of audit kept in the database (AUDIT_RETENTION_MONTHS, default 36 as Ranger); older monthly partitions are
   * dropped only once archived. 0 = never drop. */
  auditRetentionMonths: number;
  /** Where `POST /api/audit/archives` writes archive files (AUDIT_ARCHIVE_DIR, default <data dir>/audit-archive). */
  auditArchiveDir: string;
  /** Guards on the governed data API (see docs/SECURITY.md). */
  dataApi: {
    /** hours a rotated API key keeps working beside its replacement, unless the rotation says (optional: older test configs) */
    keyRotationOverlapHours?: number;
    /** calls per second per app (API key), all nodes together */
    appRatePerSecond: number;
    /** a grant's daily call quota and rows per call, unless the grant sets its own */
    grantCallsPerDay: number;
    grantRowsPerCall: number;
    /** rows a grant with the export right may export per day unless it sets its own (optional: older test configs) */
    grantExportRowsPerDay?: number;
    /**
     * worker threads that decrypt and compute the ledger digests of a bulk export's batches (EXPORT_WORKERS; 0 = all
     * in the export's thread; unset: one on a host with two cores or more, src/dataapi/export-pool.ts). Same functions,
     * same bytes either way.
     */
    exportWorkers?: number;
    /** calls with an unknown API key per client IP per minute before the IP is refused without a lookup */
    keyFailuresPerMinute: number;
    /** record lookups that miss, per app per 10 minutes, that suspend the app (when half or more of its lookups miss) */
    enumerationMisses: number;
    /**
     * governed statements a node keeps in flight per statement shape (resource version × call kind) on a PostgreSQL
     * server; calls arriving meanwhile wait and go together in the next statement (group commit). 1 (default) gives the
     * largest batches and the least database CPU per call; raise it when the database has cores to spare
     * (DATA_API_STATEMENTS_IN_FLIGHT; PGlite always runs one). Optional: older test configs.
     */
    statementsInFlight?: number;
  };
  /** Aggregate queries (usable but not visible, DG Art 33; optional: older test configs). See README. */
  aggregate?: {
    /** cells with fewer contributing records are suppressed (k-anonymity threshold, AGGREGATE_MIN_CELL) */
    minCell: number;
    /** Laplace noise on every count and sum at this epsilon; 0 = off unless a call asks (AGGREGATE_EPSILON) */
    epsilon: number;
    /** the smallest epsilon a call may ask for (more noise is always allowed down to this; AGGREGATE_EPSILON_MIN) */
    epsilonMin: number;
    /**
     * the privacy budget: the epsilon one grant's noisy answers may spend in a Beijing day (AGGREGATE_EPSILON_PER_DAY);
     * a repeated request over unchanged data is not charged again. Optional: older test configs (then 10).
     */
    epsilonPerDay?: number;
  };
}

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > max)
    throw new Error(`${name} must be a number from 0 to ${max}, got "${raw}"`);
  return n;
}

/** A setting that 0 would make meaningless (no epsilon to spend, no floor under noise): refused at start, not replaced. */
function aboveZero(env: NodeJS.ProcessEnv, name: string, fallback: number, max: number): number {
  const n = positive(env, name, fallback, max);
  if (n === 0) throw new Error(`${name} must be greater than 0 (at most ${max}), got "${env[name]}"`);
  return n;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

function secret(env: NodeJS.ProcessEnv): string | null {
  const s = env.GOVSHARE_SECRET;
  if (!s) return null;
  if (s.length < 32) throw new Error('GOVSHARE_SECRET must be at least 32 characters');
  return s;
}

function list(env: NodeJS.ProcessEnv, name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}

function origins(env: NodeJS.ProcessEnv, name: string): string[] {
  return list(env, name).map((raw) => {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new Error(`${name} must list origins like https://console.example.gov.cn, got "${raw}"`);
    }
    if (u.origin === 'null' || u.origin !== raw.replace(/\/$/, ''))
      throw new Error(`${name} must list origins (scheme://host[:port], no path), got "${raw}"`);
    return u.origin;
  });
}

/** IPs, CIDRs, or proxy-addr's names `loopback`, `linklocal`, `uniquelocal`. */
function proxies(env: NodeJS.ProcessEnv, name: string): string[] {
  return list(env, name).map((raw) => {
    const [addr, bits, extra] = raw.split('/');
    const named = ['loopback', 'linklocal', 'uniquelocal'].includes(raw);
    const maxBits = isIP(addr) === 4 ? 32 : 128;
    const okBits = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= maxBits);
    if (!named && (!isIP(addr) || !okBits || extra !== undefined))
      throw new Error(`${name} must list IP addresses or CIDRs (e.g. 10.0.0.0/8), got "${raw}"`);
    return raw;
  });
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
    natsUrl: env.NATS_URL || null,
    feedWebhookAllowPrivate: env.FEED_WEBHOOK_ALLOW_PRIVATE === 'true',
    dbPoolSize: int(env, 'DB_POOL_SIZE', 20),
    dbConnectTimeoutMs: int(env, 'DB_CONNECT_TIMEOUT_MS', 5000),
    sessionTtlHours: int(env, 'SESSION_TTL_HOURS', 12),
    secureCookies: env.SECURE_COOKIES === 'true',
    trustProxy: proxies(env, 'TRUST_PROXY'),
    allowedOrigins: origins(env, 'ALLOWED_ORIGINS'),
    jsonBodyLimit: int(env, 'JSON_BODY_LIMIT', 1024 * 1024),
    uploadMaxBytes: int(env, 'UPLOAD_MAX_BYTES', 5 * 1024 * 1024),
    ingestMaxBytes: int(env, 'INGEST_MAX_BYTES', 4 * 1024 * 1024 * 1024),
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
    logLevel: env.LOG_LEVEL || 'info',
    webDir: path.resolve(env.GOVSHARE_WEB_DIR || 'web/dist'),
    anonRefusalsPerMinute: int(env, 'ANON_REFUSAL_LIMIT', 600),
    openRateLimitPerMinute: int(env, 'OPEN_RATE_LIMIT', 300),
    openDownloadsPerMinute: int(env, 'OPEN_DOWNLOAD_RATE_LIMIT', 20),
    openKeyCallsPerMinute: int(env, 'OPEN_KEY_RATE_LIMIT', 120),
    openKeyDownloadsPerMinute: int(env, 'OPEN_KEY_DOWNLOAD_RATE_LIMIT', 10),
    openRegistrationsPerHour: int(env, 'OPEN_REGISTRATION_LIMIT', 5),
    openReevaluationMonths: int(env, 'OPEN_REEVALUATION_MONTHS', 12),
    shareReevaluationMonths: int(env, 'SHARE_REEVALUATION_MONTHS', 12),
    secret: secret(env),
    sealKeyFile: env.GOVSHARE_SEAL_KEY_FILE
      ? path.resolve(env.GOVSHARE_SEAL_KEY_FILE)
      : path.resolve(env.GOVSHARE_DATA_DIR || 'data', 'seal-key.pem'),
    fieldKek: env.GOVSHARE_KEK || null,
    fieldKekFile: env.GOVSHARE_KEK_FILE ? path.resolve(env.GOVSHARE_KEK_FILE) : null,
    fieldKekPrevious: (env.GOVSHARE_KEK_PREVIOUS || '').split(',').filter(Boolean),
    fieldCipher: env.GOVSHARE_FIELD_CIPHER || null,
    sealIntervalMs: int(env, 'AUDIT_SEAL_INTERVAL_MS', 5000),
    sealMaxRecords: int(env, 'AUDIT_SEAL_MAX_RECORDS', 10_000),
    auditRetentionMonths: int(env, 'AUDIT_RETENTION_MONTHS', 36),
    auditArchiveDir: path.resolve(
      env.AUDIT_ARCHIVE_DIR || path.join(env.GOVSHARE_DATA_DIR || 'data', 'audit-archive'),
    ),
    auditExportMaxRows: int(env, 'AUDIT_EXPORT_MAX_ROWS', 10_000),
    auditListWindow: Math.max(100, int(env, 'AUDIT_LIST_WINDOW', 10_000)),
    trainingClock: env.GOVSHARE_TRAINING_CLOCK === 'true',
    notifySenders: { sms: env.NOTIFY_SMS_SENDER || 'log', email: env.NOTIFY_EMAIL_SENDER || 'log' },
    notifyWebhookUrl: env.NOTIFY_WEBHOOK_URL || null,
    notifyWebhookSecret: env.NOTIFY_WEBHOOK_SECRET || null,
    dataApi: {
      appRatePerSecond: int(env, 'API_APP_RATE_LIMIT', 500),
      keyRotationOverlapHours: int(env, 'API_KEY_ROTATION_OVERLAP_HOURS', 24),
      grantCallsPerDay: int(env, 'GRANT_CALLS_PER_DAY', 100_000),
      grantRowsPerCall: int(env, 'GRANT_ROWS_PER_CALL', 1000),
      grantExportRowsPerDay: int(env, 'GRANT_EXPORT_ROWS_PER_DAY', 1_000_000),
      exportWorkers: env.EXPORT_WORKERS ? Math.min(8, Math.max(0, int(env, 'EXPORT_WORKERS', 0))) : undefined,
      keyFailuresPerMinute: int(env, 'API_KEY_FAILURE_LIMIT', 30),
      enumerationMisses: int(env, 'ENUMERATION_MISS_LIMIT', 20),
      statementsInFlight: Math.max(1, int(env, 'DATA_API_STATEMENTS_IN_FLIGHT', 1)),
    },
    aggregate: {
      minCell: Math.max(2, int(env, 'AGGREGATE_MIN_CELL', 5)),
      epsilon: positive(env, 'AGGREGATE_EPSILON', 0, 10),
      epsilonMin: aboveZero(env, 'AGGREGATE_EPSILON_MIN', 0.1, 10),
      epsilonPerDay: aboveZero(env, 'AGGREGATE_EPSILON_PER_DAY', 10, 1000),
    },
  };
}
