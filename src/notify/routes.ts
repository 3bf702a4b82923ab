import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { requireActor } from '../http/auth.js';
import { idParams, pageQueryProps } from '../http/schemas.js';
import { getContact, listNotifications, markRead, setContact } from './service.js';

export async function notifyRoutes(app: FastifyInstance, ctx: AppContext) {
  app.get(
    '/api/notifications',
    {
      schema: {
        tags: ['notifications'],
        summary:
          "The signed-in user's notifications (alerts, reminders), newest first, with the unread count",
        querystring: {
          type: 'object',
          properties: { unreadOnly: { type: 'boolean', default: false }, ...pageQueryProps },
        },
      },
    },
    async (req) =>
      listNotifications(
        ctx,
        requireActor(req),
        req.query as { unreadOnly: boolean; page: number; pageSize: number },
      ),
  );
  app.post(
    '/api/notifications/:id/read',
    { schema: { tags: ['notifications'], summary: 'Mark one notification read', params: idParams } },
    async (req) => markRead(ctx, requireActor(req), (req.params as { id: number }).id),
  );
  app.post(
    '/api/notifications/read-all',
    { schema: { tags: ['notifications'], summary: 'Mark all of my notifications read' } },
    async (req) => markRead(ctx, requireActor(req), 'all'),
  );
  app.get(
    '/api/notifications/contact',
    {
      schema: {
        tags: ['notifications'],
        summary:
          'My mobile number and e-mail address for reminders outside the console, and the senders configured per channel',
      },
    },
    async (req) => getContact(ctx, requireActor(req)),
  );
  app.put(
    '/api/notifications/contact',
    {
      schema: {
        tags: ['notifications'],
        summary:
          'Sets or clears my mobile number and e-mail address (warning and critical notifications are also sent there); audited',
        body: {
          type: 'object',
          properties: {
            mobile: { type: ['string', 'null'], maxLength: 20 },
            email: { type: ['string', 'null'], maxLength: 254 },
          },
          additionalProperties: false,
        },
      },
    },
    async (req) =>
      setContact(ctx, requireActor(req), req.body as { mobile?: string | null; email?: string | null }),
  );
}
