import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { actorOf, recordChange } from '../../audit/audit-log.js';
import { listSecrets, type SecretContext, setSecret, unsetSecret } from '../../secrets/secret-service.js';
import { errorBody, handleError } from '../http-errors.js';
import { principalOf, workspaceOf } from '../route-access.js';
import { errorResponses, pageOf } from '../schemas.js';

const secretSchema = {
  type: 'object',
  description: 'A secret, never its value',
  properties: {
    name: { type: 'string' },
    environment: { type: ['string', 'null'], description: 'null: all environments' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    updatedBy: { type: 'string', description: 'The token that last set it' },
  },
  required: ['name', 'environment', 'createdAt', 'updatedAt', 'updatedBy'],
} as const;

const secretParamsSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 250, description: 'Workspace id or repository name' },
    name: { type: 'string', minLength: 1, maxLength: 250, description: 'An environment variable name' },
  },
  required: ['id', 'name'],
} as const;

const environmentSchema = { type: 'string', minLength: 1, maxLength: 200 } as const;

/**
 * A body that is not JSON is refused in fixed words. Fastify's parser words its error so today,
 * but the shared handler quotes a SyntaxError's message, and Node's JSON.parse messages carry an
 * excerpt of the text: here, a secret value. This route never takes that chance.
 */
function secretBodyErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    reply
      .status(400)
      .send(errorBody('validation_failed', 'The request body is not valid JSON. Send a JSON object.'));
    return;
  }
  handleError(error, request, reply);
}

/**
 * Secrets of a workspace, per environment or for all. Values go in and never come out: answers
 * list names, environments and who set them. Fastify's logger records requests without bodies,
 * so a value is not logged either.
 */
export function secretRoutes(app: FastifyInstance, context: SecretContext): void {
  app.put(
    '/api/v1/workspaces/:id/secrets/:name',
    {
      errorHandler: secretBodyErrors,
      schema: {
        summary:
          'Set a secret for one environment or all; plugins receive it as the environment variable NAME',
        params: secretParamsSchema,
        body: {
          type: 'object',
          properties: {
            value: { type: 'string', maxLength: 65536, description: 'Stored encrypted; never answered' },
            environment: { ...environmentSchema, description: 'Omitted: all environments' },
          },
          required: ['value'],
          additionalProperties: false,
        },
        response: { 200: secretSchema, ...errorResponses },
      },
      config: { access: 'write', workspace: 'id' },
    },
    async (request) => {
      const body = request.body as { value: string; environment?: string };
      const name = (request.params as { name: string }).name;
      const environment = body.environment ?? null;
      const set = await setSecret(context, principalOf(request), workspaceOf(request), {
        name,
        value: body.value,
        environment,
      });
      // The name and where it applies: never the value.
      await recordChange(context.store, actorOf(principalOf(request)), {
        action: 'secret.set',
        workspaceId: workspaceOf(request).id,
        subject: name,
        after: { name, environment },
      });
      return set;
    },
  );

  app.get(
    '/api/v1/workspaces/:id/secrets',
    {
      schema: {
        summary: "The workspace's secrets: names and environments, never values",
        params: {
          type: 'object',
          properties: { id: secretParamsSchema.properties.id },
          required: ['id'],
        },
        response: { 200: pageOf(secretSchema), ...errorResponses },
      },
      config: { access: 'read', workspace: 'id' },
    },
    async (request) => ({ items: await listSecrets(context, workspaceOf(request)), nextCursor: null }),
  );

  app.delete(
    '/api/v1/workspaces/:id/secrets/:name',
    {
      schema: {
        summary: 'Unset a secret: the one for ?environment=, else the one for all environments',
        params: secretParamsSchema,
        querystring: {
          type: 'object',
          properties: { environment: environmentSchema },
          additionalProperties: false,
        },
        response: { 204: { type: 'null' }, ...errorResponses },
      },
      config: { access: 'write', workspace: 'id' },
    },
    async (request, reply) => {
      const { name } = request.params as { name: string };
      const { environment } = request.query as { environment?: string };
      await unsetSecret(context, workspaceOf(request), { name, environment: environment ?? null });
      await recordChange(context.store, actorOf(principalOf(request)), {
        action: 'secret.remove',
        workspaceId: workspaceOf(request).id,
        subject: name,
        before: { name, environment: environment ?? null },
      });
      reply.status(204).send();
    },
  );
}
