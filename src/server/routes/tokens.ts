import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Store } from '../../store/open-store.js';
import type { Principal } from '../../tokens/principal.js';
import { createToken, listTokens, revokeToken } from '../../tokens/token-service.js';
import { errorResponses, pageOf, pageQuerySchema, tokenSchema } from '../schemas.js';

export function tokenRoutes(
  app: FastifyInstance,
  store: Store,
  principalOf: (request: FastifyRequest) => Promise<Principal>,
): void {
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
            access: { type: 'string', enum: ['read', 'write'] },
          },
          required: ['name', 'workspaces', 'access'],
          additionalProperties: false,
        },
        response: { 201: tokenSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const principal = await principalOf(request);
      reply.status(201);
      return createToken(
        store,
        principal,
        request.body as { name: unknown; workspaces: unknown; access: unknown },
      );
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
    },
    async (request) => {
      const principal = await principalOf(request);
      const { limit, cursor } = request.query as { limit: number; cursor?: string };
      return listTokens(store, principal, { limit, cursor });
    },
  );
  app.delete(
    '/api/v1/tokens/:id',
    {
      schema: {
        summary: 'Revoke a token (admin only)',
        params: { type: 'object', properties: { id: { type: 'string', maxLength: 100 } }, required: ['id'] },
      },
    },
    async (request, reply) => {
      const principal = await principalOf(request);
      await revokeToken(store, principal, (request.params as { id: string }).id);
      reply.status(204).send();
    },
  );
}
