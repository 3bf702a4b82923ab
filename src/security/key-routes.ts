import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { requireActor } from '../http/auth.js';
import { idParams } from '../http/schemas.js';
import { rotateIndexKey } from './index-rotation.js';
import { requestEncryption } from './key-convert.js';
import { keyStatus, rotateDataKey, rotateKek } from './key-service.js';

/** Encryption keys (docs/ENCRYPTION.md): status for the platform administrator and the auditor; rotation for the administrator. */
export async function keyRoutes(app: FastifyInstance, ctx: AppContext) {
  const tags = ['security'];
  app.get(
    '/api/security/keys',
    {
      schema: {
        tags,
        summary:
          'Encryption at rest: cipher, key-encryption keys, and per resource its encrypted fields, data key versions and values left to re-encrypt (platform admin, auditor)',
      },
    },
    async (req) => keyStatus(ctx, requireActor(req)),
  );
  app.post(
    '/api/security/keys/resources/:id/rotate',
    {
      schema: {
        tags,
        summary:
          "A new version of the resource's data key: new writes use it at once, a job re-encrypts the older values in batches while reads go on (platform admin; audited key.rotate)",
        params: idParams,
      },
    },
    async (req) => rotateDataKey(ctx, requireActor(req), (req.params as { id: number }).id),
  );
  app.post(
    '/api/security/keys/resources/:id/encrypt',
    {
      schema: {
        tags,
        summary:
          "Convert the resource's sensitive-personal fields stored in clear (tables from before encryption) to encrypted storage: a job rewrites them in one transaction, pausing that resource meanwhile (platform admin; audited key.encrypt; 409 FIELD_ALREADY_ENCRYPTED)",
        params: idParams,
      },
    },
    async (req, reply) => {
      const out = await requestEncryption(ctx, requireActor(req), (req.params as { id: number }).id);
      return reply.code(202).send(out);
    },
  );
  app.post(
    '/api/security/keys/index/rotate',
    {
      schema: {
        tags,
        summary:
          'A new version of the lookup-index key: new resources use it at once, a job converts every other resource (its lookup hashes, hashed record keys and base-library keys) one group per transaction, then retires the old version (platform admin; audited key.rotateIndex; 409 INDEX_KEY_ROTATION_RUNNING)',
      },
    },
    async (req, reply) => reply.code(202).send(await rotateIndexKey(ctx, requireActor(req))),
  );
  app.post(
    '/api/security/keys/kek/rotate',
    {
      schema: {
        tags,
        summary:
          'Re-wrap every data key under the current key-encryption key, after the operator configured it (platform admin; audited key.rotateKek; no value is rewritten)',
      },
    },
    async (req) => rotateKek(ctx, requireActor(req)),
  );
}
