import { type RawBuilder, sql } from 'kysely';
import type { Db, Tx } from '../db/index.js';
import { columnName, type FieldDef, type NormalisedResourceInput, resourceSecurityLevel } from './model.js';

const RESOURCE_COLUMNS = [
  'r.id',
  'r.code',
  'r.name',
  'r.summary',
  'r.provider_org_id',
  'o.name as provider_name',
  'r.section_id',
  'r.classification',
  'r.topic',
  'r.catalog_level',
  'r.format',
  'r.share_type',
  'r.share_conditions',
  'r.legal_basis',
  'r.legal_basis_kind',
  'r.published_at',
  'r.retired_at',
  'r.retire_reason',
  'r.share_method',
  'r.open_type',
  'r.update_cycle',
  'r.security_level',
  'r.keywords',
  'r.status',
  'r.version',
  'r.data_table',
  'r.row_count',
  'r.last_ingest_at',
  'r.created_at',
  'r.updated_at',
  'r.class_id',
  'r.class_code',
  'r.related_codes',
  'r.info_system_id',
  'r.security_reason',
] as const;

function baseQuery(db: Db | Tx) {
  return db.selectFrom('resource as r').innerJoin('org as o', 'o.id', 'r.provider_org_id');
}

type ResourceRow = Awaited<ReturnType<typeof getResourceRow>>;

export function resourceView(r: NonNullable<ResourceRow>) {
  return {
    id: r.id,
    code: r.code,
    name: r.name,
    summary: r.summary,
    provider: { id: r.provider_org_id, name: r.provider_name },
    sectionId: r.section_id,
    classification: r.classification,
    classId: r.class_id,
    classCode: r.class_code,
    topic: r.topic,
    catalogLevel: r.catalog_level,
    format: r.format,
    shareType: r.share_type,
    shareConditions: r.share_conditions,
    legalBasis: r.legal_basis,
    legalBasisKind: r.legal_basis_kind,
    shareMethod: r.share_method,
    openType: r.open_type,
    updateCycle: r.update_cycle,
    securityLevel: r.security_level,
    /** GB/T 43697: the fields at the resource's level */
    securityReason: (r.security_reason ?? null) as {
      level: string;
      fields: { code: string; name: string }[];
      article: string;
    } | null,
    relatedCodes: r.related_codes ?? [],
    infoSystemId: r.info_system_id,
    keywords: r.keywords,
    status: r.status,
    version: r.version,
    publishedAt: r.published_at,
    retiredAt: r.retired_at,
    retireReason: r.retire_reason,
    rowCount: r.row_count,
    lastIngestAt: r.last_ingest_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export async function getResourceRow(db: Db | Tx, id: number) {
  return baseQuery(db).select(RESOURCE_COLUMNS).where('r.id', '=', id).executeTakeFirst();
}

export async function getFields(db: Db | Tx, resourceId: number) {
  const rows = await db
    .selectFrom('resource_field')
    .selectAll()
    .where('resource_id', '=', resourceId)
    .orderBy('ordinal')
    .execute();
  return rows.map((f) => ({
    ordinal: f.ordinal,
    code: f.code,
    name: f.name,
    type: f.type as FieldDef['type'],
    length: f.length,
    required: f.required,
    isKey: f.is_key,
    personal: f.personal,
    sensitive: f.sensitive,
    masking: f.masking as FieldDef['masking'],
    validator: f.validator as FieldDef['validator'],
    dataType: (f.data_type ?? undefined) as FieldDef['dataType'],
    securityLevel: f.security_level as NonNullable<FieldDef['securityLevel']>,
    sensitivePersonal: f.sensitive_personal,
    allowedValues: (f.allowed_values ?? null) as string[] | null,
    columnName: f.column_name,
    /** the column holds ciphertext and has a `<column>_h` lookup index (docs/ENCRYPTION.md) */
    encrypted: f.encrypted,
    /** a clear column with a `<column>_h` join index: a source of a hash-keyed base library (security/join-index.ts) */
    joinIndexed: f.join_indexed,
  }));
}

export type StoredField = Awaited<ReturnType<typeof getFields>>[number];

export async function insertResource(
  trx: Tx,
  input: NormalisedResourceInput,
  meta: { code: string; providerOrgId: number; createdBy: number | null; status?: 'draft' | 'submitted' },
): Promise<number> {
  const grade = resourceSecurityLevel(input.fields);
  const { id } = await trx
    .insertInto('resource')
    .values({
      code: meta.code,
      name: input.name,
      summary: input.summary,
      provider_org_id: meta.providerOrgId,
      section_id: input.sectionId ?? null,
      classification: input.classification,
      topic: input.topic ?? '',
      catalog_level: input.catalogLevel,
      format: input.format ?? 'database',
      class_id: input.classId ?? null,
      class_code: classCodeOf(input.classId),
      related_codes: input.relatedCodes ?? [],
      info_system_id: input.infoSystemId ?? null,
      security_reason: JSON.stringify(grade.reason),
      share_type: input.shareType,
      share_conditions: input.shareConditions ?? null,
      legal_basis: input.legalBasis ?? null,
      legal_basis_kind: input.legalBasisKind ?? null,
      status: meta.status ?? 'draft',
      share_method: input.shareMethod,
      open_type: input.openType,
      update_cycle: input.updateCycle,
      security_level: grade.level,
      keywords: input.keywords ?? [],
      created_by: meta.createdBy,
      // the active lookup-index key version (docs/ENCRYPTION.md "Rotating the lookup-index key"; 1 before the first key)
      index_key: sql<number>`coalesce((SELECT max(version) FROM field_key
        WHERE scope_id = 0 AND purpose = 'index' AND state = 'active'), 1)`,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await insertFields(trx, id, input.fields, 0);
  return id;
}

export async function insertFields(trx: Tx, resourceId: number, fields: FieldDef[], offset: number) {
  if (!fields.length) return;
  await trx
    .insertInto('resource_field')
    .values(
      fields.map((f, i) => ({
        resource_id: resourceId,
        ordinal: offset + i + 1,
        code: f.code,
        name: f.name,
        type: f.type,
        length: f.length ?? null,
        required: f.required || f.isKey,
        is_key: f.isKey,
        personal: f.personal,
        sensitive: f.sensitive,
        masking: f.masking,
        validator: f.validator ?? null,
        data_type: f.dataType ?? null,
        security_level: f.securityLevel ?? 'general',
        sensitive_personal: f.sensitivePersonal ?? false,
        allowed_values: f.allowedValues?.length ? JSON.stringify(f.allowedValues) : null,
        column_name: columnName(offset + i + 1),
        // a new column of a sensitive-personal field holds ciphertext from its first value (docs/ENCRYPTION.md)
        encrypted: f.sensitivePersonal ?? false,
      })),
    )
    .execute();
}

/** Rewrites the live metadata row from a version's snapshot (not the fields: see service.applyFields); the security
 * level and its reason are recomputed from the snapshot's fields (GB/T 43697 动态更新). */
export async function updateResourceMeta(trx: Tx, id: number, s: NormalisedResourceInput) {
  const grade = resourceSecurityLevel(s.fields);
  await trx
    .updateTable('resource')
    .set({
      format: s.format ?? 'database',
      class_id: s.classId ?? null,
      class_code: classCodeOf(s.classId),
      related_codes: s.relatedCodes ?? [],
      info_system_id: s.infoSystemId ?? null,
      security_reason: JSON.stringify(grade.reason),
      name: s.name,
      summary: s.summary,
      section_id: s.sectionId ?? null,
      classification: s.classification,
      topic: s.topic ?? '',
      catalog_level: s.catalogLevel,
      share_type: s.shareType,
      share_conditions: s.shareConditions ?? null,
      legal_basis: s.legalBasis ?? null,
      legal_basis_kind: s.legalBasisKind ?? null,
      share_method: s.shareMethod,
      open_type: s.openType,
      update_cycle: s.updateCycle,
      security_level: grade.level,
      keywords: s.keywords ?? [],
      updated_at: new Date(),
    })
    .where('id', '=', id)
    .execute();
}

export async function getVersions(db: Db | Tx, resourceId: number) {
  return db
    .selectFrom('resource_version as v')
    .leftJoin('app_user as c', 'c.id', 'v.created_by')
    .leftJoin('app_user as s', 's.id', 'v.submitted_by')
    .leftJoin('app_user as d', 'd.id', 'v.decided_by')
    .select([
      'v.id',
      'v.version_no',
      'v.status',
      'v.snapshot',
      'v.created_at',
      'v.created_by',
      'c.display_name as created_by_name',
      'v.submitted_at',
      'v.submitted_by',
      's.display_name as submitted_by_name',
      'v.decided_at',
      'v.decided_by',
      'd.display_name as decided_by_name',
      'v.decision',
      'v.comment',
    ])
    .where('v.resource_id', '=', resourceId)
    .orderBy('v.version_no')
    .execute();
}

export async function openVersion(db: Db | Tx, resourceId: number) {
  return db
    .selectFrom('resource_version')
    .selectAll()
    .where('resource_id', '=', resourceId)
    .where('status', 'in', ['draft', 'submitted', 'returned'])
    .executeTakeFirst();
}

/**
 * The names of a row's field codes of its resource, in the codes' order, as a column expression: lists that carry
 * field codes (audit entries, grants) show people names, not codes.
 */
export function fieldNamesOf(resourceIdColumn: string, fieldsColumn: string): RawBuilder<string[] | null> {
  return sql<string[] | null>`(SELECT array_agg(coalesce(f.name, c.code) ORDER BY c.n)
    FROM unnest(${sql.ref(fieldsColumn)}) WITH ORDINALITY AS c(code, n)
    LEFT JOIN resource_field f ON f.resource_id = ${sql.ref(resourceIdColumn)} AND f.code = c.code)`;
}

function classCodeOf(classId: number | null | undefined) {
  return classId ? sql<string>`(SELECT full_code FROM catalog_class WHERE id = ${classId})` : null;
}
