import { createContext, useContext } from 'react';
import { ERRORS } from '../../src/shared/errors.js';

/** Every visible string of the console: English key → [中文, English]. zh-CN comes first. */
const dict = {
  // app shell
  'app.title': ['政务数据共享平台 govshare', 'Government Data Sharing Platform govshare'],
  'app.shortTitle': ['政务数据共享平台', 'Gov Data Sharing'],
  'app.loading': ['加载中…', 'Loading…'],
  'app.profile': ['规则配置', 'Profile'],
  'app.logout': ['退出登录', 'Log out'],
  'app.lang': ['语言', 'Language'],
  'app.notFound': ['页面不存在', 'Page not found'],
  'app.backHome': ['返回工作台', 'Back to dashboard'],
  'app.forbidden': ['无权访问此页面', 'You may not open this page'],
  'notice.personal': [
    '本页面含个人信息，已按规定脱敏展示，仅限履职使用',
    'This page contains personal information, masked as required; for official duties only',
  ],

  // menu
  'menu.dashboard': ['工作台', 'Dashboard'],
  'menu.catalog': ['数据目录', 'Catalog'],
  'menu.register': ['资源登记', 'Register resource'],
  'menu.requests': ['共享申请', 'Share requests'],
  'menu.grants': ['授权', 'Grants'],
  'menu.apps': ['应用与密钥', 'Apps & keys'],
  'menu.audit': ['审计日志', 'Audit log'],
  'menu.calendar': ['工作日历', 'Work calendar'],
  'menu.profile': ['规则配置', 'Rules profile'],

  // roles
  'role.platform_admin': ['平台管理员', 'Platform admin'],
  'role.authority_reviewer': ['主管部门审核员', 'Authority reviewer'],
  'role.data_officer': ['数据专员', 'Data officer'],
  'role.section_head': ['科室负责人', 'Section head'],
  'role.consumer_staff': ['业务人员', 'Consumer staff'],
  'role.auditor': ['审计员', 'Auditor'],

  // login
  'login.title': ['登录', 'Log in'],
  'login.username': ['用户名', 'Username'],
  'login.password': ['密码', 'Password'],
  'login.submit': ['登录', 'Log in'],
  'login.required': ['请输入用户名和密码', 'Enter username and password'],
  'login.demo': ['演示账号', 'Demo accounts'],
  'login.demoHint': ['点击填入，密码均为 {pw}', 'Click to fill in; the password is {pw}'],
  'login.noDemo': ['未加载演示数据', 'No demo city loaded'],

  // common
  'common.search': ['搜索', 'Search'],
  'common.reset': ['重置', 'Reset'],
  'common.all': ['全部', 'All'],
  'common.yes': ['是', 'Yes'],
  'common.no': ['否', 'No'],
  'common.submit': ['提交', 'Submit'],
  'common.cancel': ['取消', 'Cancel'],
  'common.close': ['关闭', 'Close'],
  'common.ok': ['确定', 'OK'],
  'common.view': ['查看', 'View'],
  'common.actions': ['操作', 'Actions'],
  'common.refresh': ['刷新', 'Refresh'],
  'common.back': ['返回', 'Back'],
  'common.none': ['无', 'None'],
  'common.total': ['共 {n} 条', '{n} in total'],
  'common.copy': ['复制', 'Copy'],
  'common.copied': ['已复制', 'Copied'],
  'common.confirmRevoke': ['确定要撤销吗？', 'Revoke it?'],
  'common.revoke': ['撤销', 'Revoke'],
  'common.status': ['状态', 'Status'],
  'common.createdAt': ['创建时间', 'Created'],
  'common.error': ['操作失败', 'Operation failed'],

  // dashboard
  'dash.resources': ['数据资源', 'Resources'],
  'dash.departments': ['接入部门', 'Departments'],
  'dash.rows': ['数据总量（条）', 'Rows'],
  'dash.pendingRequests': ['待办申请', 'Pending requests'],
  'dash.activeGrants': ['有效授权', 'Active grants'],
  'dash.callsToday': ['今日调用', 'Calls today'],
  'dash.callsByDay': ['接口调用趋势', 'Data API calls by day'],
  'dash.calls': ['调用次数', 'Calls'],

  // catalog
  'catalog.title': ['政务数据资源目录', 'Government data catalog'],
  'catalog.searchPlaceholder': ['资源名称、编码、关键词', 'Name, code or keyword'],
  'catalog.shareTypeFilter': ['共享类型', 'Share type'],
  'catalog.code': ['资源编码', 'Code'],
  'catalog.name': ['资源名称', 'Name'],
  'catalog.provider': ['数源部门', 'Provider'],
  'catalog.shareType': ['共享类型', 'Share type'],
  'catalog.catalogLevel': ['目录级别', 'Catalog level'],
  'catalog.securityLevel': ['安全级别', 'Security level'],
  'catalog.rowCount': ['数据量', 'Rows'],
  'catalog.updateCycle': ['更新周期', 'Update cycle'],
  'catalog.register': ['资源登记', 'Register resource'],

  // resource fields
  'res.summary': ['资源摘要', 'Summary'],
  'res.classification': ['资源分类', 'Classification'],
  'res.topic': ['主题', 'Topic'],
  'res.shareConditions': ['共享条件', 'Share conditions'],
  'res.legalBasis': ['不予共享/有条件共享依据', 'Legal basis'],
  'res.shareMethod': ['共享方式', 'Share method'],
  'res.openType': ['开放类型', 'Open type'],
  'res.keywords': ['关键词', 'Keywords'],
  'res.status': ['状态', 'Status'],
  'res.lastIngestAt': ['最近更新', 'Last ingest'],
  'res.section': ['所属科室', 'Section'],
  'res.fields': ['信息项', 'Fields'],
  'res.preview': ['数据预览', 'Preview'],
  'res.batches': ['导入记录', 'Import batches'],
  'res.upload': ['上传数据', 'Upload data'],
  'res.apply': ['申请共享', 'Request sharing'],
  'res.notFound': ['资源不存在或无权查看', 'Resource not found or not visible to you'],

  // field columns
  'field.code': ['字段编码', 'Code'],
  'field.name': ['信息项名称', 'Name'],
  'field.type': ['数据类型', 'Type'],
  'field.length': ['长度', 'Length'],
  'field.required': ['必填', 'Required'],
  'field.isKey': ['主键', 'Key'],
  'field.personal': ['个人信息', 'Personal'],
  'field.sensitive': ['敏感', 'Sensitive'],
  'field.masking': ['脱敏规则', 'Masking'],
  'field.validator': ['校验规则', 'Validator'],
  'field.add': ['添加信息项', 'Add field'],
  'field.remove': ['删除', 'Remove'],

  // enums
  'shareType.unconditional': ['无条件共享', 'Unconditional'],
  'shareType.conditional': ['有条件共享', 'Conditional'],
  'shareType.none': ['不予共享', 'Not shared'],
  'catalogLevel.city': ['市级', 'City'],
  'catalogLevel.department': ['部门级', 'Department'],
  'catalogLevel.section': ['科室级', 'Section'],
  'securityLevel.general': ['一般数据', 'General'],
  'securityLevel.important': ['重要数据', 'Important'],
  'securityLevel.core': ['核心数据', 'Core'],
  'classification.base': ['基础库', 'Base library'],
  'classification.theme': ['主题库', 'Theme library'],
  'classification.department': ['部门库', 'Department'],
  'shareMethod.api': ['接口', 'API'],
  'shareMethod.table': ['库表', 'Table'],
  'shareMethod.file': ['文件', 'File'],
  'openType.open': ['无条件开放', 'Open'],
  'openType.onApplication': ['依申请开放', 'On application'],
  'openType.closed': ['不予开放', 'Closed'],
  'updateCycle.realtime': ['实时', 'Real time'],
  'updateCycle.daily': ['每日', 'Daily'],
  'updateCycle.weekly': ['每周', 'Weekly'],
  'updateCycle.monthly': ['每月', 'Monthly'],
  'updateCycle.quarterly': ['每季度', 'Quarterly'],
  'updateCycle.yearly': ['每年', 'Yearly'],
  'updateCycle.irregular': ['不定期', 'Irregular'],
  'fieldType.string': ['字符串', 'String'],
  'fieldType.integer': ['整数', 'Integer'],
  'fieldType.decimal': ['小数', 'Decimal'],
  'fieldType.date': ['日期', 'Date'],
  'fieldType.datetime': ['日期时间', 'Date-time'],
  'fieldType.boolean': ['布尔', 'Boolean'],
  'masking.none': ['不脱敏', 'None'],
  'masking.idNumber': ['身份证号', 'ID number'],
  'masking.name': ['姓名', 'Name'],
  'masking.phone': ['电话号码', 'Phone'],
  'masking.address': ['地址', 'Address'],
  'masking.creditCode': ['统一社会信用代码', 'Credit code'],
  'masking.partial': ['部分遮盖', 'Partial'],
  'validator.none': ['无', 'None'],
  'validator.idNumber': ['身份证号（GB 11643）', 'ID number (GB 11643)'],
  'validator.creditCode': ['统一社会信用代码（GB 32100）', 'Credit code (GB 32100)'],
  'validator.mobilePhone': ['手机号码', 'Mobile phone'],
  'resStatus.draft': ['草稿', 'Draft'],
  'resStatus.submitted': ['待审核', 'Submitted'],
  'resStatus.published': ['已发布', 'Published'],
  'resStatus.retired': ['已下线', 'Retired'],
  'reqStatus.pending': ['审批中', 'Pending'],
  'reqStatus.approved': ['已通过', 'Approved'],
  'reqStatus.rejected': ['已驳回', 'Rejected'],
  'reqStatus.withdrawn': ['已撤回', 'Withdrawn'],
  'grantStatus.active': ['有效', 'Active'],
  'grantStatus.revoked': ['已撤销', 'Revoked'],
  'grantStatus.expired': ['已过期', 'Expired'],
  'grantStatus.appRevoked': ['应用已撤销', 'App revoked'],
  'grantStatus.appSuspended': ['应用已暂停', 'App suspended'],
  'appStatus.active': ['启用', 'Active'],
  'appStatus.revoked': ['已撤销', 'Revoked'],
  'batchStatus.succeeded': ['成功', 'Succeeded'],
  'batchStatus.failed': ['失败', 'Failed'],
  'batchStatus.running': ['进行中', 'Running'],
  'decision.allow': ['允许', 'Allow'],
  'decision.deny': ['拒绝', 'Deny'],
  'decision.approve': ['同意', 'Approved'],
  'decision.approved': ['同意', 'Approved'],
  'decision.reject': ['不同意', 'Rejected'],
  'decision.rejected': ['不同意', 'Rejected'],
  'actor.authority': ['数据主管部门', 'Data authority'],
  'actor.provider': ['数源部门', 'Provider'],
  'unit.WD': ['{n}个工作日', '{n} workdays'],
  'unit.d': ['{n}日', '{n} days'],

  // register
  'reg.title': ['政务数据资源登记', 'Register a data resource'],
  'reg.basic': ['基本信息', 'Basic information'],
  'reg.sharing': ['共享与开放', 'Sharing and opening'],
  'reg.fieldsHint': [
    '表格类资源须至少有一个主键信息项；含个人信息的信息项请选择脱敏规则',
    'A table resource needs at least one key field; choose a masking rule for personal fields',
  ],
  'reg.submit': ['提交登记', 'Register'],
  'reg.conditionsRequired': [
    '有条件共享或不予共享的资源须写明共享条件（DG 第十九条）',
    'Conditional or not-shared resources must state their conditions (DG Art 19)',
  ],
  'reg.legalBasisRequired': [
    '有条件共享或不予共享的资源须提供法律、法规或政策依据（DG 第十九条）',
    'Conditional or not-shared resources need a legal basis (DG Art 19)',
  ],
  'reg.nameRequired': ['请输入资源名称', 'Enter the resource name'],
  'reg.summaryRequired': ['请输入资源摘要', 'Enter a summary'],
  'reg.fieldCodeInvalid': [
    '第 {n} 行字段编码须以小写字母开头，仅含字母数字，最长 40 位',
    'Row {n}: the code must start with a lower-case letter, letters and digits only, at most 40',
  ],
  'reg.fieldNameRequired': ['第 {n} 行请填写信息项名称', 'Row {n}: enter the field name'],
  'reg.fieldDup': ['字段编码 {code} 重复', 'Field code {code} is duplicated'],
  'reg.keyRequired': ['至少需要一个主键信息项', 'At least one field must be a key'],
  'reg.fieldsRequired': ['至少需要一个信息项', 'At least one field is required'],
  'reg.created': ['资源已登记', 'Resource registered'],

  // upload
  'upload.title': ['上传 CSV 数据', 'Upload CSV data'],
  'upload.hint': [
    'CSV 文件可为 UTF-8 或 GBK 编码（Excel 另存为 CSV 即可），首行为字段编码或信息项名称；任一行校验不通过则整批不入库',
    'CSV in UTF-8 or GBK (as Excel saves it); the header holds field codes or names; if any row fails, nothing is written',
  ],
  'upload.choose': ['选择 CSV 文件', 'Choose a CSV file'],
  'upload.uploading': ['正在上传 {name}', 'Uploading {name}'],
  'upload.success': [
    '导入成功：共 {total} 行，新增 {inserted} 行，更新 {updated} 行',
    'Imported: {total} rows, {inserted} inserted, {updated} updated',
  ],
  'upload.failed': ['校验未通过，未写入任何数据', 'Validation failed; nothing was written'],
  'upload.row': ['行', 'Row'],
  'upload.field': ['字段', 'Field'],
  'upload.reason': ['原因', 'Reason'],
  'batch.filename': ['文件名', 'File'],
  'batch.source': ['来源', 'Source'],
  'batch.rowsTotal': ['总行数', 'Rows'],
  'batch.inserted': ['新增', 'Inserted'],
  'batch.updated': ['更新', 'Updated'],
  'batch.errorCount': ['错误数', 'Errors'],

  // share request form
  'apply.title': ['申请共享：{name}', 'Request sharing: {name}'],
  'apply.app': ['使用应用', 'App'],
  'apply.appRequired': ['请选择本单位的应用', 'Choose one of your apps'],
  'apply.noApps': [
    '本单位尚无可用应用，请先在「应用与密钥」中新建',
    'No active app yet; create one under Apps & keys',
  ],
  'apply.fields': ['申请信息项', 'Fields'],
  'apply.fieldsRequired': ['请至少选择一个信息项', 'Choose at least one field'],
  'apply.purpose': ['用途', 'Purpose'],
  'apply.purposeRequired': ['请填写数据用途', 'State the purpose'],
  'apply.scenario': ['应用场景', 'Scenario'],
  'apply.validUntil': ['有效期至', 'Valid until'],
  'apply.submitted': ['共享申请已提交', 'Share request submitted'],
  'apply.submittedSub': ['当前环节：{step}，办理时限：{due}', 'Current step: {step}; due by {due}'],
  'apply.toRequests': ['查看我的申请', 'See my requests'],

  // requests
  'req.outgoing': ['我的申请', 'My requests'],
  'req.incoming': ['待我审批', 'To review'],
  'req.all': ['全部', 'All'],
  'req.resource': ['申请资源', 'Resource'],
  'req.consumer': ['申请部门', 'Consumer'],
  'req.app': ['应用', 'App'],
  'req.status': ['状态', 'Status'],
  'req.currentStep': ['当前环节', 'Current step'],
  'req.dueDate': ['办理时限', 'Due date'],
  'req.overdue': ['已超期', 'Overdue'],
  'req.submittedAt': ['提交时间', 'Submitted'],
  'req.detail': ['共享申请详情', 'Share request'],
  'req.requester': ['申请人', 'Requester'],
  'req.provider': ['数源部门', 'Provider'],
  'req.fields': ['申请信息项', 'Fields'],
  'req.purpose': ['用途', 'Purpose'],
  'req.scenario': ['应用场景', 'Scenario'],
  'req.validUntil': ['有效期至', 'Valid until'],
  'req.decidedAt': ['办结时间', 'Decided'],
  'req.steps': ['办理流程', 'Workflow'],
  'req.stepActor': ['办理部门', 'Actor'],
  'req.stepDeadline': ['时限', 'Deadline'],
  'req.stepArticle': ['依据', 'Article'],
  'req.stepStarted': ['开始', 'Started'],
  'req.stepDue': ['到期', 'Due'],
  'req.stepDecision': ['意见', 'Decision'],
  'req.stepDecidedBy': ['办理人', 'Decided by'],
  'req.stepComment': ['说明', 'Comment'],
  'req.approve': ['同意', 'Approve'],
  'req.reject': ['驳回', 'Reject'],
  'req.approveTitle': ['同意共享', 'Approve sharing'],
  'req.comment': ['审批意见', 'Comment'],
  'req.rejectTitle': ['驳回申请', 'Reject request'],
  'req.reason': ['理由', 'Reason'],
  'req.reasonRequired': ['驳回须说明理由', 'A rejection needs a reason'],
  'req.legalBasis': ['法律依据', 'Legal basis'],
  'req.approved': ['已同意', 'Approved'],
  'req.rejected': ['已驳回', 'Rejected'],
  'req.grant': ['授权编号', 'Grant'],
  'req.provisional': ['暂按周一至周五计算', 'Provisional: Mon–Fri'],
  'req.provisionalTip': [
    '到期日所在年度的国务院节假日安排尚未发布，办理时限暂按周一至周五计算；通知发布并导入后以实际工作日为准',
    "The State Council has not announced the due date's year yet, so the deadline counts Monday to Friday for now; once the notice is imported, the real working days apply",
  ],

  // grants
  'grant.title': ['授权', 'Grants'],
  'grant.resource': ['资源', 'Resource'],
  'grant.consumer': ['使用部门', 'Consumer'],
  'grant.app': ['应用', 'App'],
  'grant.fields': ['授权信息项', 'Fields'],
  'grant.purpose': ['用途', 'Purpose'],
  'grant.validity': ['有效期', 'Validity'],
  'grant.revoked': ['授权已撤销', 'Grant revoked'],

  // apps
  'apps.title': ['应用与密钥', 'Apps & keys'],
  'apps.new': ['新建应用', 'New app'],
  'apps.name': ['应用名称', 'Name'],
  'apps.nameRequired': ['请输入应用名称', 'Enter a name'],
  'apps.description': ['说明', 'Description'],
  'apps.org': ['所属单位', 'Organisation'],
  'apps.keyPrefix': ['密钥前缀', 'Key prefix'],
  'apps.create': ['创建', 'Create'],
  'apps.keyTitle': ['应用已创建，请保存 API 密钥', 'App created: save its API key'],
  'apps.keyWarning': [
    'API 密钥只显示这一次，关闭后将无法再次查看，请立即复制并妥善保管',
    'The API key is shown only this once and cannot be shown again: copy it now and keep it safe',
  ],
  'apps.revoked': ['应用已撤销', 'App revoked'],
  'tester.title': ['接口调试', 'API tester'],
  'tester.hint': [
    '以应用身份调用数据接口 GET /api/v1/data/{code}/records/{key}（请求头 X-Api-Key）',
    'Call the data API as an app: GET /api/v1/data/{code}/records/{key} with header X-Api-Key',
  ],
  'tester.key': ['API 密钥', 'API key'],
  'tester.code': ['资源编码', 'Resource code'],
  'tester.record': ['记录主键', 'Record key'],
  'tester.send': ['调用', 'Send'],
  'tester.response': ['响应', 'Response'],

  // audit
  'audit.title': ['审计日志', 'Audit log'],
  'audit.action': ['操作', 'Action'],
  'audit.decision': ['结果', 'Decision'],
  'audit.range': ['时间范围', 'Period'],
  'audit.repeated': ['同一分钟内重复 {n} 次', 'repeated {n} times within the minute'],
  'audit.time': ['时间', 'Time'],
  'audit.actor': ['操作人', 'Actor'],
  'audit.org': ['单位', 'Organisation'],
  'audit.app': ['应用', 'App'],
  'audit.resource': ['资源', 'Resource'],
  'audit.rows': ['返回行数', 'Rows'],
  'audit.fields': ['字段', 'Fields'],
  'audit.clientIp': ['客户端', 'Client'],
  'audit.purpose': ['用途', 'Purpose'],
  'audit.detail': ['详情', 'Detail'],

  // work calendar
  'cal.title': ['工作日历', 'Working-day calendar'],
  'cal.year': ['年度', 'Year'],
  'cal.yearOption': ['{y}年', '{y}'],
  'cal.notAnnounced': ['（未发布）', '(not announced)'],
  'cal.notKnown': [
    '国务院尚未发布该年度节假日安排，期限按周一至周五计算，仅供参考',
    "The State Council has not announced this year's holidays yet: deadlines count Monday to Friday and are for reference only",
  ],
  'cal.missing': [
    '{years} 年度节假日安排尚未录入平台，涉及该年度的办理期限暂按周一至周五计算。',
    'The holiday notice for {years} is not in the calendar yet: deadlines falling in it count Monday to Friday for now.',
  ],
  'cal.missingAdmin': [
    '国务院办公厅发布通知后，请通过「导入节假日安排」录入',
    'Once the State Council publishes it, enter it with "Import holiday notice"',
  ],
  'cal.source': ['依据通知', 'Notice'],
  'cal.noSource': ['暂无该年度通知', 'No notice for this year'],
  'origin.shipped': ['内置', 'Shipped'],
  'origin.imported': ['导入', 'Imported'],
  'dayKind.workday': ['工作日', 'Working day'],
  'dayKind.weekend': ['周末', 'Weekend'],
  'dayKind.holiday': ['法定节假日（休）', 'Holiday (day off)'],
  'dayKind.adjustedWorkday': ['调休上班（班）', 'Adjusted working day (weekend)'],
  'cal.markHoliday': ['休', 'off'],
  'cal.markAdjusted': ['班', 'wk'],
  'cal.today': ['今天', 'Today'],
  'cal.weekdays': ['一,二,三,四,五,六,日', 'Mo,Tu,We,Th,Fr,Sa,Su'],
  'cal.weekdaysLong': ['周一,周二,周三,周四,周五,周六,周日', 'Mon,Tue,Wed,Thu,Fri,Sat,Sun'],
  'cal.months': [
    '1月,2月,3月,4月,5月,6月,7月,8月,9月,10月,11月,12月',
    'January,February,March,April,May,June,July,August,September,October,November,December',
  ],
  'cal.summary': [
    '全年工作日 {wd} 天，法定节假日 {off} 天，调休上班 {adj} 天',
    '{wd} working days, {off} holidays, {adj} adjusted working days',
  ],
  'cal.import': ['导入节假日安排', 'Import holiday notice'],
  'cal.importTitle': ['导入国务院节假日安排', "Import the State Council's holiday notice"],
  'cal.importHint': [
    '按国务院办公厅通知录入：每行一个，或以逗号分隔，日期格式 YYYY-MM-DD；连续日期可写成 2027-02-06~2027-02-13。导入已有年度将覆盖原安排',
    'Enter the notice: one item per line or comma-separated, dates as YYYY-MM-DD; a run of days may be written 2027-02-06~2027-02-13. Importing a year that exists replaces it',
  ],
  'cal.importYear': ['年度', 'Year'],
  'cal.importSource': ['通知文号/标题', 'Notice number or title'],
  'cal.importSourcePlaceholder': [
    '国务院办公厅关于{y}年部分节假日安排的通知（文号）',
    'State Council notice on the {y} holidays (document number)',
  ],
  'cal.importSourceRequired': ['请填写通知文号或标题', 'Name the notice'],
  'cal.importOff': ['放假日期（含假期中的周六、周日）', 'Days off (including weekends inside the holidays)'],
  'cal.importWorking': ['调休上班日期（周六、周日）', 'Weekend working days (调休)'],
  'cal.importPreview': [
    '预览：放假 {off} 天，调休上班 {work} 天',
    'Preview: {off} days off, {work} weekend working days',
  ],
  'cal.parseInvalid': ['无法识别的日期或区间：{items}', 'Not a date or date range: {items}'],
  'cal.parseOtherYear': ['不在 {y} 年内：{items}', 'Not in {y}: {items}'],
  'cal.parseBoth': ['同时填在放假和调休上班中：{items}', 'Both a day off and a working day: {items}'],
  'cal.parseNotWeekend': [
    '调休上班日须为周六或周日：{items}',
    'A weekend working day must be a Saturday or Sunday: {items}',
  ],
  'cal.imported': ['{y} 年度节假日安排已导入', 'Holiday notice for {y} imported'],
  'cal.calc': ['期限计算器', 'Deadline calculator'],
  'cal.calcStart': ['起算日', 'Start date'],
  'cal.calcAmount': ['期限', 'Amount'],
  'cal.calcUnit': ['单位', 'Unit'],
  'calUnit.WD': ['工作日', 'Working days'],
  'calUnit.d': ['自然日', 'Calendar days'],
  'cal.calcSubmit': ['计算', 'Calculate'],
  'cal.calcDue': ['到期日', 'Due date'],
  'cal.calcHint': [
    '起算日当天不计入（民法典第二百零一条）；按自然日计算的期限，最后一日为法定节假日的顺延至其后第一个工作日（第二百零三条）',
    'The start day is not counted (Civil Code Art 201); a calendar-day period ending on a holiday ends on the next working day (Art 203)',
  ],
  'cal.calcProvisional': [
    '所涉年度的节假日安排尚未发布，结果暂按周一至周五计算，仅供参考',
    'A year involved has no holiday notice yet: the result counts Monday to Friday and is for reference only',
  ],

  // profile
  'prof.title': ['规则配置', 'Rules profile'],
  'prof.name': ['配置名称', 'Profile'],
  'prof.regulation': ['规范性文件', 'Regulation'],
  'prof.docNumber': ['文号', 'Document number'],
  'prof.issued': ['发布日期', 'Issued'],
  'prof.draft': ['征求意见稿', 'Consultation draft'],
  'prof.draftNote': [
    '该文件为征求意见稿，尚未正式施行，以下规则仅供参考',
    'This regulation is a consultation draft, not in force: the rules below are for reference',
  ],
  'prof.parent': ['未规定事项适用', 'Gaps filled by'],
  'prof.conditional': ['共享审批流程（有条件共享）', 'Approval workflow (conditional sharing)'],
  'prof.unconditional': ['无条件共享', 'Unconditional sharing'],
  'prof.direct': ['直接获取，无需审批', 'Direct access, no approval'],
  'prof.coActors': ['会同{who}', 'with {who}'],
  'prof.onTimeout': ['逾期处理', 'On timeout'],
  'prof.overall': ['总时限', 'Overall deadline'],
  'prof.workflowArticle': ['流程依据', 'Workflow basis'],
  'timeout.remind': ['提醒', 'Remind'],
  'timeout.escalate': ['升级督办', 'Escalate'],
  'timeout.deemedConsent': ['视为同意', 'Deemed consent'],
  'prof.requests': ['申请与答复', 'Requests and replies'],
  'prof.mustState': ['申请须说明', 'A request must state'],
  'statement.purpose': ['用途', 'Purpose'],
  'statement.fields': ['数据项', 'Fields'],
  'statement.scope': ['范围', 'Scope'],
  'statement.scenario': ['应用场景', 'Scenario'],
  'statement.securityMeasures': ['安全保障措施', 'Security measures'],
  'prof.notSpecified': ['未作规定', 'Not specified'],
  'prof.refusal': ['不予共享须提供', 'A refusal requires'],
  'refusal.reason': ['理由', 'Reason'],
  'refusal.legalBasis': ['法律依据', 'Legal basis'],
  'prof.basis': ['有条件共享、不予共享须有法律依据', 'Conditional or not-shared needs a legal basis'],
  'prof.negativeList': ['负面清单', 'Negative list'],
  'negativeList.approves': ['数据主管部门审核', 'Approved by the authority'],
  'negativeList.filed': ['报数据主管部门备案', 'Filed with the authority'],
  'prof.purposeLimited': ['限于申请用途使用', 'Use limited to the stated purpose'],
  'prof.noneOffersVerification': [
    '不予共享的数据提供核验或查询服务',
    'Not-shared data offers verification or query',
  ],
  'prof.deidentified': ['脱敏、脱密后可共享', 'Shareable after de-identification'],
  'prof.stopSupply': ['停止供数须事先说明并报备', 'Stopping supply needs prior filing'],
  'prof.emergency': ['突发公共事件', 'Emergencies'],
  'emergency.reclassify': ['临时调整共享类型', 'Temporary reclassification'],
  'emergency.greenChannel': ['绿色通道', 'Green channel'],
  'prof.bulkGrants': ['整体授权', 'Bulk grants'],
  'grantKind.bulkGrant': ['整体授权', 'Bulk grant'],
  'grantKind.proxyGrant': ['同等代理授权', 'Proxy grant'],
  'prof.disputes': ['争议协调', 'Disputes resolved by'],
  'resolvedBy.authority': ['数据主管部门', 'Data authority'],
  'resolvedBy.government': ['本级人民政府', 'The government'],
  'prof.applies': ['适用', 'Applies'],
  'prof.deadlines': ['其他时限', 'Other deadlines'],
  'prof.item': ['事项', 'Item'],
  'prof.catalogUpdate': ['资源变更后更新目录', 'Update the catalog after a change'],
  'prof.objection': ['数据异议核实', 'Verify an objection'],
  'prof.objectionExcludes': [
    '检测、检验、鉴定、专家评审时间不计入',
    'Time for testing, inspection, appraisal or expert review is not counted',
  ],
  'prof.rectification': ['数据整改', 'Rectification'],
  'prof.openingReply': ['依申请开放答复', 'Reply to an open-data application'],
  'prof.openingMustState': ['开放申请须说明', 'An open-data application must state'],
  'prof.noDeadline': ['未规定时限', 'No deadline set'],
  // notifications (src/notify): one entry per kind, worded from its parameters
  'notify.title': ['消息提醒', 'Notifications'],
  'notify.empty': ['暂无消息', 'No notifications'],
  'notify.readAll': ['全部标为已读', 'Mark all read'],
  'notify.kind.security.appSuspended': [
    '应用「{appName}」调用「{resourceName}」时 {windowMinutes} 分钟内查询 {lookups} 次、未命中 {misses} 次，疑似枚举试探，已自动暂停',
    'App "{appName}" looked up {lookups} keys of "{resourceName}" in {windowMinutes} minutes and missed {misses}: suspected enumeration, suspended automatically',
  ],
  'notify.kind.catalog.submitted': [
    '目录「{resourceName}」第 {versionNo} 版已提交，待您审核',
    'Catalog entry "{resourceName}" version {versionNo} was submitted for your review',
  ],
  'notify.kind.catalog.returned': [
    '目录「{resourceName}」第 {versionNo} 版被退回修改：{comment}',
    'Catalog entry "{resourceName}" version {versionNo} was returned: {comment}',
  ],
  'notify.kind.catalog.published': [
    '目录「{resourceName}」第 {versionNo} 版已审核发布',
    'Catalog entry "{resourceName}" version {versionNo} is published',
  ],
  'notify.kind.catalog.retired': [
    '目录「{resourceName}」已停用：{reason}',
    'Catalog entry "{resourceName}" was retired: {reason}',
  ],
  'severity.info': ['提示', 'Info'],
  'severity.warning': ['警告', 'Warning'],
  'severity.critical': ['严重', 'Critical'],

  // data API guards
  'appStatus.suspended': ['已暂停（异常访问）', 'Suspended (anomalous access)'],
  'apps.reinstate': ['恢复启用', 'Reinstate'],
  'apps.reinstateConfirm': [
    '确认已核查该应用的异常访问并恢复启用？',
    "Have you reviewed this app's anomalous access? Reinstate it?",
  ],
  'apps.reinstated': ['应用已恢复启用', 'App reinstated'],
  'quota.title': ['调用配额', 'Quota'],
  'quota.callsPerDay': ['每日调用上限（次）', 'Calls per day'],
  'quota.rowsPerCall': ['单次返回上限（条）', 'Rows per call'],
  'quota.default': ['平台默认', 'Platform default'],
  'quota.hint': [
    '审批通过后生效；留空则使用平台默认配额',
    'Applies to the grant this approval creates; leave empty for the platform defaults',
  ],

  // audit actions, targets and details
  'audit.target': ['对象', 'Target'],
  'audit.targetKey': ['记录主键（如身份证号）', 'Record key (e.g. ID number)'],
  'audit.targetKeyHint': [
    '日志只保存主键的加密摘要；输入完整主键可查该记录的全部访问',
    'The log keeps only a keyed hash of record keys; enter a full key to find every access to that record',
  ],
  'audit.reason': ['拒绝原因', 'Refusal reason'],
  'audit.actionAll': ['全部操作', 'All actions'],
  'action.auth.login': ['登录', 'Sign-in'],
  'action.app.create': ['创建应用', 'App created'],
  'action.app.revoke': ['撤销应用', 'App revoked'],
  'action.catalog.register': ['登记资源', 'Resource registered'],
  'action.data.preview': ['数据预览', 'Data preview'],
  'action.data.get': ['接口查询（单条）', 'Data API: record'],
  'action.data.list': ['接口查询（分页）', 'Data API: page'],
  'action.ingest.upload': ['数据导入', 'Data upload'],
  'action.share.request': ['提交共享申请', 'Share request filed'],
  'action.share.approve': ['审核同意', 'Step approved'],
  'action.share.reject': ['审核不同意', 'Step rejected'],
  'action.share.grant': ['生成授权', 'Grant issued'],
  'action.share.revoke': ['撤销授权', 'Grant revoked'],
  'action.calendar.import': ['导入节假日安排', 'Holiday notice imported'],
  'action.platform.demo_loaded': ['加载演示数据', 'Demo city loaded'],
  'action.security.appSuspended': ['异常访问自动暂停应用', 'App suspended (anomaly)'],
  'action.security.appReinstated': ['恢复启用应用', 'App reinstated'],
  'action.http.refused': ['请求被拒绝', 'Request refused'],
  'action.platform.bootstrap': ['创建首个平台管理员', 'First administrator created'],
  'action.platform.setup': ['初始化平台管理员', 'Platform administrator set up'],
  'targetType.record': ['数据记录', 'Record'],
  'targetType.page': ['数据分页', 'Page'],
  'targetType.app': ['应用', 'App'],
  'targetType.resource': ['资源', 'Resource'],
  'targetType.share_request': ['共享申请', 'Share request'],
  'targetType.share_grant': ['授权', 'Grant'],
  'targetType.ingest_batch': ['导入批次', 'Import batch'],
  'targetType.holiday_year': ['节假日年度', 'Holiday year'],
} as const satisfies Record<string, readonly [string, string]>;

export type Lang = 'zh' | 'en';
export type Key = keyof typeof dict;
export type Vars = Record<string, string | number>;

const LANG_KEY = 'govshare.lang';

export function initialLang(): Lang {
  try {
    return localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'zh';
  } catch {
    return 'zh';
  }
}

export function saveLang(lang: Lang): void {
  try {
    localStorage.setItem(LANG_KEY, lang);
  } catch {
    // private mode: the choice lasts for this page only
  }
}

export function isKey(key: string): key is Key {
  return Object.hasOwn(dict, key);
}

export function translate(lang: Lang, key: Key, vars?: Vars): string {
  const entry = dict[key];
  let text: string = entry ? entry[lang === 'en' ? 1 : 0] : key;
  if (vars) for (const [k, v] of Object.entries(vars)) text = text.replaceAll(`{${k}}`, String(v));
  return text;
}

export interface I18n {
  lang: Lang;
  setLang: (lang: Lang) => void;
  t: (key: Key, vars?: Vars) => string;
  /** Label of an enum value, e.g. tEnum('shareType', 'conditional'); unknown values show as they are. */
  tEnum: (prefix: string, value: string | null | undefined) => string;
}

export function makeI18n(lang: Lang, setLang: (lang: Lang) => void): I18n {
  return {
    lang,
    setLang,
    t: (key, vars) => translate(lang, key, vars),
    tEnum: (prefix, value) => {
      if (value === null || value === undefined || value === '') return '-';
      const key = `${prefix}.${value}`;
      if (isKey(key)) return translate(lang, key);
      // error codes have one label table, the server's (src/shared/errors.ts)
      if (prefix === 'error' && Object.hasOwn(ERRORS, value)) {
        const e = ERRORS[value as keyof typeof ERRORS];
        return lang === 'en' ? e.en : e.zh;
      }
      return value;
    },
  };
}

export const I18nContext = createContext<I18n>(makeI18n('zh', () => {}));

export function useI18n(): I18n {
  return useContext(I18nContext);
}
