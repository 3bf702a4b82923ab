import type { FastifyInstance } from 'fastify';
import { type AppContext, ROLES, type Role } from '../context.js';
import { requireRole } from '../http/auth.js';
import { pageQueryProps } from '../http/schemas.js';
import { createUser, listUsers, type NewUser, setDisabled, setRoles, type UserFilter } from './users.js';

const roles = {
  type: 'array',
  minItems: 1,
  maxItems: ROLES.length,
  items: { type: 'string', enum: ROLES },
} as const;
const idParams = {
  type: 'object',
  properties: { id: { type: 'integer', minimum: 1 } },
  required: ['id'],
} as const;

/** Account administration (platform administrator only; GB/T 39477 separated duties; every change audited). */
export async function userRoutes(app: FastifyInstance, ctx: AppContext) {
  const tags = ['orgs'];
  app.get(
    '/api/users',
    {
      schema: {
        tags,
        summary: 'Accounts, filtered by organisation, role or name (platform administrator)',
        querystring: {
          type: 'object',
          properties: {
            orgId: { type: 'integer', minimum: 1 },
            role: { type: 'string', enum: ROLES },
            q: { type: 'string', maxLength: 50, 'x-trim': true },
            ...pageQueryProps,
          },
        },
      },
    },
    async (req) => {
      requireRole(req, 'platform_admin');
      return listUsers(ctx, req.query as UserFilter);
    },
  );

  app.post(
    '/api/users',
    {
      schema: {
        tags,
        summary:
          'Creates an account: roles must not combine administrator, auditor and operator duties (GB/T 39477); audited',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['username', 'displayName', 'orgId', 'roles', 'password'],
          properties: {
            username: { type: 'string', minLength: 3, maxLength: 40, pattern: '^[a-z][a-z0-9_.-]*$' },
            displayName: { type: 'string', minLength: 1, maxLength: 50, 'x-trim': true },
            orgId: { type: 'integer', minimum: 1 },
            sectionId: { type: ['integer', 'null'], minimum: 1 },
            roles,
            password: { type: 'string', minLength: 1, maxLength: 200 },
          },
        },
      },
    },
    async (req) => createUser(ctx, requireRole(req, 'platform_admin'), req.body as NewUser),
  );

  app.put(
    '/api/users/:id/roles',
    {
      schema: {
        tags,
        summary:
          "Sets an account's roles (and section): separated duties enforced, never one's own, the last administrator kept; the person's sessions end; audited with before and after",
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['roles'],
          properties: { roles, sectionId: { type: ['integer', 'null'], minimum: 1 } },
        },
      },
    },
    async (req) => {
      const { id } = req.params as { id: number };
      const body = req.body as { roles: Role[]; sectionId?: number | null };
      return setRoles(ctx, requireRole(req, 'platform_admin'), id, body.roles, body.sectionId);
    },
  );

  for (const [path, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const)
    app.post(
      `/api/users/:id/${path}`,
      {
        schema: {
          tags,
          summary: disabled
            ? 'Disables an account at once (its sessions end); audited'
            : 'Re-enables a disabled account; audited',
          params: idParams,
        },
      },
      async (req) => {
        const { id } = req.params as { id: number };
        return setDisabled(ctx, requireRole(req, 'platform_admin'), id, disabled);
      },
    );
}
