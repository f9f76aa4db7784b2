import type { FastifyInstance } from 'fastify';
import { actorOf, recordChange } from '../../audit/audit-log.js';
import type { Store } from '../../store/open-store.js';
import { createToken, listTokens, revokeToken } from '../../tokens/token-service.js';
import { principalOf } from '../route-access.js';
import { errorResponses, pageOf, pageQuerySchema, tokenSchema } from '../schemas.js';

/** Tokens: create, list and revoke, for admin tokens only. */
export function tokenRoutes(app: FastifyInstance, store: Store): void {
  app.post(
    '/api/v1/tokens',
    {
      schema: {
        summary: 'Create a token (admin only); its secret is answered once',
        body: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            workspaces: {
              oneOf: [
                { type: 'string', enum: ['*'] },
                { type: 'array', items: { type: 'string' } },
              ],
            },
            access: {
              type: 'string',
              enum: ['read', 'write', 'approve'],
              description: 'approve: write, and approving promotion requests',
            },
          },
          required: ['name', 'workspaces', 'access'],
          additionalProperties: false,
        },
        response: { 201: tokenSchema, ...errorResponses },
      },
      config: { access: 'admin' },
    },
    async (request, reply) => {
      const created = await createToken(
        store,
        request.body as { name: unknown; workspaces: unknown; access: unknown },
      );
      const { token: _secret, ...view } = created;
      await recordChange(store, actorOf(principalOf(request)), {
        action: 'token.create',
        workspaceId: null,
        subject: created.id,
        after: view,
      });
      reply.status(201);
      return created;
    },
  );
  app.get(
    '/api/v1/tokens',
    {
      schema: {
        summary: 'List active tokens (admin only)',
        querystring: pageQuerySchema,
        response: { 200: pageOf(tokenSchema), ...errorResponses },
      },
      config: { access: 'admin' },
    },
    async (request) => {
      const { limit, cursor } = request.query as { limit: number; cursor?: string };
      return listTokens(store, { limit, cursor });
    },
  );
  app.delete(
    '/api/v1/tokens/:id',
    {
      schema: {
        summary: 'Revoke a token (admin only)',
        params: { type: 'object', properties: { id: { type: 'string', maxLength: 100 } }, required: ['id'] },
      },
      config: { access: 'admin' },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const revoked = await revokeToken(store, principalOf(request), id);
      await recordChange(store, actorOf(principalOf(request)), {
        action: 'token.revoke',
        workspaceId: null,
        subject: id,
        before: revoked,
      });
      reply.status(204).send();
    },
  );
}
