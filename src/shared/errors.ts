import { zhCitations } from './labels.js';
/**
 * Domain errors: a stable code, messages in zh-CN and en, and the row/field at fault. The code never changes once
 * published. Services, models, jobs and the CLI raise these; the HTTP layer maps each code to a status
 * (src/http/errors.ts).
 */
export const ERRORS = {
  VALIDATION_FAILED: { zh: '请求参数不合法', en: 'The request is not valid' },
  LEGAL_BASIS_REQUIRED: {
    zh: '有条件共享或不予共享的资源须提供法律法规依据',
    en: 'Conditional or not-shared resources need a legal basis',
  },
  CATALOG_RULE_VIOLATED: {
    zh: '目录条目不符合本地规章的共享规则',
    en: "The catalog entry breaks the active regulation's sharing rules",
  },
  REVIEW_STATE_INVALID: {
    zh: '目录条目当前状态不允许此操作',
    en: "The catalog entry's review state does not allow this",
  },
  FIELD_CHANGE_NOT_ADDITIVE: {
    zh: '已发布资源只能新增信息项，删除或修改信息项类型须待数据汇聚功能迁移数据后进行',
    en: 'A published resource may only gain fields; removing or retyping fields waits for the aggregation feature to migrate data',
  },
  RESOURCE_NOT_PUBLISHED: {
    zh: '该资源尚未发布或已停用，不能申请共享或调用',
    en: 'The resource is not published (or is retired)',
  },
  UNAUTHENTICATED: { zh: '未登录或登录已过期', en: 'Not signed in or the session has expired' },
  LOGIN_FAILED: { zh: '用户名或密码错误', en: 'Wrong username or password' },
  API_KEY_INVALID: { zh: '应用密钥无效或已吊销', en: 'The API key is invalid or revoked' },
  FORBIDDEN: { zh: '无权执行此操作', en: 'You are not allowed to do this' },
  CLOCK_NOT_ADJUSTABLE: {
    zh: '平台未开启培训时钟，日期不可调整',
    en: 'The training clock is off: the platform date cannot be moved',
  },
  GRANT_REQUIRED: { zh: '该应用对此资源无有效授权', en: 'The app holds no valid grant for this resource' },
  EVALUATION_NOT_DRAFT: {
    zh: '只有草稿状态的考核结果可以发布',
    en: 'Only a draft evaluation can be published',
  },
  EVALUATION_NOT_PUBLISHED: {
    zh: '只有已发布的考核结果可以在开放门户公示',
    en: 'Only a published evaluation can be shown on the open portal',
  },
  EVALUATION_CHECK_RECORDED: {
    zh: '该抽查结果已记录，不能再次记录',
    en: 'This check already has its outcome recorded',
  },
  CASE_NOT_IN_PROFILE: {
    zh: '现行规则配置未规定此事项，平台不予受理',
    en: 'The active regulation provides no such procedure',
  },
  CASE_STATE_INVALID: {
    zh: '该事项当前状态不允许此操作',
    en: "The case's current state does not allow this",
  },
  SUPPLY_STOPPED: {
    zh: '数源部门已停止或即将停止提供该资源，不能再申请共享',
    en: 'The provider has stopped (or is stopping) supplying this resource',
  },
  NOT_SHAREABLE: {
    zh: '该资源为不予共享类，不接受共享申请',
    en: 'This resource is not shared and takes no share requests',
  },
  NOT_FOUND: { zh: '对象不存在', en: 'Not found' },
  OPEN_DATASET_NOT_FOUND: {
    zh: '开放数据集不存在或未开放',
    en: 'No such open dataset (it does not exist or is not open)',
  },
  OPEN_APPLICATION_REQUIRED: {
    zh: '该数据集为依申请开放，须经申请批准后方可获取数据',
    en: 'This dataset is open on application: its data is available only after an approved application',
  },
  OPEN_ACCESS_RESTRICTED: {
    zh: '数据主管部门已限制该账号的数据获取权限',
    en: "The data authority has restricted this account's access to data",
  },
  OPEN_ACCESS_CLOSED: {
    zh: '数据主管部门已关闭该账号的数据获取权限',
    en: "The data authority has closed this account's access to data",
  },
  OPEN_PURPOSE_MISMATCH: {
    zh: '调用所述用途与批准的开放申请用途不一致',
    en: 'The purpose named for this call is not the purpose the open application was approved for',
  },
  OPEN_APPLICATION_STATE_INVALID: {
    zh: '该开放申请当前状态不允许此操作',
    en: "The open application's state does not allow this",
  },
  OPEN_ACCOUNT_REQUIRED: {
    zh: '请先登录开放平台账号',
    en: 'Sign in with a public account first',
  },
  IDENTITY_CHECK_FAILED: {
    zh: '身份核验未通过，不能注册',
    en: 'The identity check failed; the account was not registered',
  },
  RECORD_NOT_FOUND: { zh: '记录不存在', en: 'Record not found' },
  CONFLICT: { zh: '与现有数据冲突', en: 'Conflicts with existing data' },
  INCIDENT_NOTICE_PENDING: {
    zh: '尚有依规须报告或告知的对象未记录，不能结案',
    en: 'The incident cannot be closed while a notice the regulation requires is unrecorded',
  },
  REQUEST_NOT_PENDING: { zh: '该申请已办结，不能再次处理', en: 'The request is already decided' },
  REQUEST_NOT_RETURNED: {
    zh: '只有被退回（不予同意）的申请才能补正后重新提交',
    en: 'Only a refused (returned) request is amended and resubmitted',
  },
  RESUBMISSION_LIMIT: {
    zh: '该申请重新提交次数已达上限，请另行提交新申请',
    en: 'The request has been resubmitted as often as allowed; file a new request',
  },
  REFUSAL_DISPUTED: {
    zh: '该不予共享决定正在争议处理中，处理结果作出前不能重新提交',
    en: 'The refusal is contested: the request is not resubmitted before the dispute is decided',
  },
  CSV_INVALID: {
    zh: '数据文件校验未通过，未写入任何数据',
    en: 'The data file failed validation; nothing was written',
  },
  CATALOG_IMPORT_INVALID: {
    zh: '目录导入文件校验未通过，未写入任何目录（见各行各列的错误说明）',
    en: 'The catalog import file failed validation; nothing was written (see the row and column of each problem)',
  },
  CATALOG_IMPORT_TOO_LARGE: {
    zh: '目录导入文件的行数或大小超过上限，请拆分文件',
    en: 'The catalog import file has too many rows or is too large; split it',
  },
  CATALOG_EXPORT_TOO_LARGE: {
    zh: '符合条件的目录条目超过单次导出上限，请缩小筛选范围',
    en: 'Too many catalog entries match for one export; narrow the filters',
  },
  AUDIT_ARCHIVE_UNSEALED: {
    zh: '截止时间之前仍有未封存的审计记录，请先封存再归档',
    en: 'Audit records before that time are not sealed yet; seal them before archiving',
  },
  AUDIT_ARCHIVE_EMPTY: {
    zh: '该时间之前没有尚未归档的已封存审计记录',
    en: 'There are no sealed audit records before that time that are not archived yet',
  },
  DATABASE_RESOURCES_EXHAUSTED: {
    zh: '数据库存储空间或资源不足，无法写入（含审计记录），本次请求未执行，未提供任何数据',
    en: 'The database is out of disk space or resources and cannot write (the audit record included); nothing was done or served',
  },
  AUDIT_EXPORT_TOO_LARGE: {
    zh: '符合条件的审计记录超过单次导出上限，请缩小筛选范围',
    en: 'Too many audit records match for one export; narrow the filters',
  },
  PAYLOAD_TOO_LARGE: { zh: '上传内容过大', en: 'The upload is too large' },
  RATE_LIMITED: { zh: '请求过于频繁，请稍后再试', en: 'Too many requests, try again later' },
  UNSUPPORTED_MEDIA_TYPE: {
    zh: '不支持的请求内容类型，请以 application/json 提交',
    en: 'Unsupported content type; send application/json',
  },
  ORIGIN_REJECTED: {
    zh: '请求来源不被信任（跨站请求已拒绝）',
    en: "The request's origin is not trusted (cross-site request refused)",
  },
  URI_TOO_LONG: { zh: '请求地址过长', en: 'The request URI is too long' },
  UPLOAD_TOO_LARGE: {
    zh: '文件超过在线上传的大小上限，请拆分文件或使用批量导入',
    en: 'The file exceeds the synchronous upload limit; split it or use bulk import',
  },
  ACCOUNT_LOCKED: {
    zh: '登录失败次数过多，账号已暂时锁定',
    en: 'Too many failed sign-ins; the account is temporarily locked',
  },
  SETUP_INVALID: { zh: '初始化链接无效或已使用', en: 'The setup link is invalid or already used' },
  APP_SUSPENDED: {
    zh: '该应用因异常访问已被暂停，请联系数源部门或安全审计员',
    en: 'The app is suspended after anomalous access; contact the provider or the auditor',
  },
  RISK_ASSESSMENT_REQUIRED: {
    zh: '该资源为重要或核心数据，共享前须完成并通过安全风险评估，评估通过后授权方可生效',
    en: 'The resource is graded important or core: a passed security risk assessment must be recorded before its grant is active',
  },
  QUOTA_EXCEEDED: { zh: '已超出授权的调用配额', en: "The grant's call quota is used up" },
  PURPOSE_REQUIRED: {
    zh: '数据调用须在 X-Purpose 中说明用途（授权的用途编号或用途原文）',
    en: "A data call must name its purpose in X-Purpose (the grant's purpose id or its text)",
  },
  PURPOSE_MISMATCH: {
    zh: '调用所述用途与授权用途不符，数据仅限用于申请时说明的用途',
    en: 'The purpose named is not the one the grant was approved for; data may be used only for that purpose',
  },
  FIELD_NOT_GRANTED: {
    zh: '请求的字段不在授权范围内',
    en: 'A field asked for is not in the grant',
  },
  FILTER_INVALID: {
    zh: '查询条件不合法',
    en: 'The filter is not valid',
  },
  FILTER_FIELD_MASKED: {
    zh: '脱敏字段不能作为查询条件',
    en: 'A masked field cannot be filtered on',
  },
  VERIFY_NOT_GRANTED: {
    zh: '该授权不含核验权限',
    en: 'This grant does not include verification',
  },
  EXPORT_NOT_GRANTED: {
    zh: '该授权不含批量导出权限',
    en: 'This grant does not include bulk export',
  },
  EXPORT_QUOTA_EXCEEDED: {
    zh: '本次导出的行数超过该授权今日剩余的导出额度',
    en: "This export's rows exceed what is left of the grant's export rows for today",
  },
  PRIVACY_BUDGET_EXHAUSTED: {
    zh: '该授权今日的统计查询隐私预算已用尽',
    en: "This grant's privacy budget for noisy aggregate queries is spent for today",
  },
  FEED_NOT_GRANTED: {
    zh: '该授权不含变更订阅（增量同步）权限',
    en: 'This grant does not include the change feed',
  },
  FEED_NATS_UNCONFIGURED: {
    zh: '平台未配置 NATS 服务（NATS_URL），不能推送到 NATS，请改用 Webhook',
    en: 'The platform has no NATS server configured (NATS_URL); use a webhook target',
  },
  READ_NOT_GRANTED: {
    zh: '该授权仅限核验，不返回数据',
    en: 'This grant allows verification only; it returns no data',
  },
  AGGREGATE_ONLY: {
    zh: '该授权仅限统计查询（可用不可见），不返回任何记录',
    en: 'This grant allows aggregate queries only (usable but not visible); it returns no record',
  },
  AGGREGATE_INVALID: {
    zh: '统计查询不合法',
    en: 'The aggregate query is not valid',
  },
  AGGREGATE_DIMENSION_PERSONAL: {
    zh: '个人信息或敏感字段不能作为分组维度或取最值，也不能不加噪声求合计或平均值，否则会泄露原值',
    en: 'A personal or sensitive field cannot be grouped by, take min/max, or be summed or averaged without noise: it would reveal values',
  },
  DATABASE_UNAVAILABLE: {
    zh: '数据库暂时不可用，请稍后重试',
    en: 'The database is temporarily unavailable; try again shortly',
  },
  SYSTEM_NOT_READY: {
    zh: '信息系统的数据资源尚未挂接或汇聚，不能验收',
    en: "The information system's data is not mounted on the catalog or not loaded; it cannot be accepted",
  },
  OBJECTION_STATE_INVALID: {
    zh: '异议当前状态不允许此操作',
    en: "The objection's state does not allow this",
  },
  OBJECTION_PAUSE_NOT_ALLOWED: {
    zh: '本地规章未规定检测、鉴定或专家评审时间不计入异议核实期限，不能暂停计时',
    en: 'The active regulation does not exclude testing or expert time from the objection deadline; the clock cannot be paused',
  },
  RECTIFICATION_STATE_INVALID: { zh: '整改任务已办结', en: 'The rectification task is closed' },
  PURCHASE_NOT_APPROVED: {
    zh: '购买的数据须经数据主管部门批准后方可发布或共享',
    en: "Purchased data needs the data authority's approval before it is published or shared",
  },
  FIELD_KEY_UNAVAILABLE: {
    zh: '加密数据的密钥暂不可用，请稍后重试',
    en: 'The key of this encrypted data is not available yet; retry shortly',
  },
  FIELD_INTEGRITY_FAILED: {
    zh: '存储的加密数据未通过完整性校验，已拒绝读取并记入审计',
    en: 'Stored encrypted data failed its integrity check; the read was refused and audited',
  },
  FIELD_ENCRYPTED: {
    zh: '该信息项加密存储，只能按等值查询，不能用于范围、前缀查询或分组统计',
    en: 'This field is encrypted at rest: only equality lookups are possible, not ranges, prefixes or grouping',
  },
  KEY_DECRYPTION_UNMAPPED: {
    zh: '部分已存储的记录键（密钥散列）无法从加密数据或历史版本还原为明文主键，已拒绝转回明文存储，数据未作任何改动',
    en: 'Some stored record keys (keyed hashes) cannot be traced back to a clear key from the encrypted values or their history; the conversion back to clear storage was refused and nothing was changed',
  },
  FIELD_ALREADY_ENCRYPTED: {
    zh: '该资源的敏感个人信息项均已加密存储，无需转换',
    en: 'Every sensitive-personal field of this resource is already encrypted at rest; nothing to convert',
  },
  INGEST_STORAGE_CHANGED: {
    zh: '导入期间该资源的存储方式已转换（加密存储或转回明文），本批次未写入任何数据，请重新上传',
    en: 'The storage of the resource was converted (to encrypted storage or back to clear) during this import; nothing was written, upload it again',
  },
  INDEX_KEY_ROTATING: {
    zh: '检索索引密钥轮换进行中，相关资源尚未全部转换到同一密钥版本，暂不能按加密字段关联比对，请在轮换完成后重试',
    en: 'The lookup-index key is being rotated and these resources are not all on the same key version yet; joining them on encrypted fields waits until the rotation has finished',
  },
  INDEX_KEY_ROTATION_RUNNING: {
    zh: '上一次检索索引密钥轮换尚未完成，请在全部资源转换完成后再轮换',
    en: 'The previous rotation of the lookup-index key has not finished yet; rotate again once every resource is converted',
  },
  ENCRYPTION_CONVERSION_BUSY: {
    zh: '该资源有正在进行的数据导入，请在导入结束后再转换其存储方式（加密存储或转回明文）',
    en: 'An import of this resource is in progress; its storage is converted (to encrypted storage or back to clear) once the import has ended',
  },
  INTERNAL: { zh: '服务器内部错误', en: 'Internal server error' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export interface ErrorDetail {
  row?: number;
  field?: string;
  /** English */
  reason: string;
  /** Chinese, where the rule has a Chinese wording (the console shows it first) */
  reasonZh?: string;
  /** file imports: the sheet and column header at fault */
  sheet?: string;
  column?: string | null;
  /** a stable reason code for row-level findings (ingest: REQUIRED, BAD_DATE…; catalog import: its error code) */
  code?: string;
  /** the offending value as shown to people: masked when the field is personal or sensitive, truncated */
  value?: string | null;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetail[];
  readonly messageEn: string;
  /** set when the refusal was already written to the audit log with the statement that decided it */
  audited = false;
  /** the app (API key) a refused data call was made with, when known: its audit row names it */
  appId: number | null = null;

  constructor(code: ErrorCode, details: ErrorDetail[] = [], message?: { zh: string; en: string }) {
    const def = ERRORS[code];
    super(message?.zh ?? def.zh);
    this.code = code;
    // Chinese wording cites articles in Chinese (东莞办法第十二条), never as codes (DG Art 12)
    this.details = details.map((d) => (d.reasonZh ? { ...d, reasonZh: zhCitations(d.reasonZh) } : d));
    this.messageEn = message?.en ?? def.en;
  }

  /** Marks the refusal as audited already (the data API's statement writes its own deny row). */
  alreadyAudited(): this {
    this.audited = true;
    return this;
  }

  /** Names the app whose data call this refuses, for the audit row the HTTP layer writes (never in the body). */
  byApp(appId: number): this {
    this.appId = appId;
    return this;
  }

  toJSON() {
    return { code: this.code, message: this.message, messageEn: this.messageEn, details: this.details };
  }
}
