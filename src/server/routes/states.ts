import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SluiceError } from '../../errors.js';
import { parseStoredState } from '../../runs/local-state-store.js';
import { workspaceStateStore } from '../../runs/workspace-state-store.js';
import type { WorkspaceContext } from '../../workspaces/context.js';
import { workspaceOf } from '../route-access.js';
import { errorResponses, workspaceParamsSchema } from '../schemas.js';

const stateParamsSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 250 },
    stateId: { type: 'string', minLength: 1, maxLength: 500 },
  },
  required: ['id', 'stateId'],
} as const;

function notFound(stateId: string): SluiceError {
  return new SluiceError('not_found', `No state is stored under '${stateId}' in this workspace.`, {
    stateId,
  });
}

/** The Singer state of a workspace's runs, by state ID: list, get, set, clear, copy. */
export function stateRoutes(app: FastifyInstance, context: WorkspaceContext): void {
  const open = (request: FastifyRequest) => workspaceStateStore(context.store.db, workspaceOf(request).id);
  const read = { access: 'read', workspace: 'id' } as const;
  const write = { access: 'write', workspace: 'id' } as const;

  app.get(
    '/api/v1/workspaces/:id/state',
    {
      schema: { summary: "State IDs of this workspace's runs", params: workspaceParamsSchema },
      config: read,
    },
    async (request) => {
      const entries = await open(request).list();
      return {
        items: entries.map((e) => ({ stateId: e.stateId, updatedAt: e.updatedAt })),
        nextCursor: null,
      };
    },
  );

  app.get(
    '/api/v1/workspaces/:id/state/:stateId',
    {
      schema: {
        summary: 'One stored state: {stateId, value: {singer_state}, updatedAt}',
        params: stateParamsSchema,
      },
      config: read,
    },
    async (request) => {
      const stateId = (request.params as { stateId: string }).stateId;
      const entry = await open(request).get(stateId);
      if (!entry) throw notFound(stateId);
      return entry;
    },
  );

  app.put(
    '/api/v1/workspaces/:id/state/:stateId',
    {
      schema: {
        summary: 'Replace a state: a JSON object with a singer_state key',
        params: stateParamsSchema,
        body: {
          type: 'object',
          properties: { singer_state: { type: 'object' } },
          required: ['singer_state'],
          additionalProperties: true,
        },
        response: { 200: { type: 'object', additionalProperties: true }, ...errorResponses },
      },
      config: write,
    },
    async (request) => {
      const stateId = (request.params as { stateId: string }).stateId;
      const store = open(request);
      await store.set(stateId, parseStoredState(JSON.stringify(request.body)));
      return store.get(stateId);
    },
  );

  app.delete(
    '/api/v1/workspaces/:id/state/:stateId',
    {
      schema: { summary: 'Forget a state: the next run starts from scratch', params: stateParamsSchema },
      config: write,
    },
    async (request, reply) => {
      const stateId = (request.params as { stateId: string }).stateId;
      if (!(await open(request).clear(stateId))) throw notFound(stateId);
      reply.status(204);
    },
  );

  app.post(
    '/api/v1/workspaces/:id/state/:stateId/copy',
    {
      schema: {
        summary: "Give another state ID this one's state (replacing its own)",
        params: stateParamsSchema,
        body: {
          type: 'object',
          properties: { to: { type: 'string', minLength: 1, maxLength: 500 } },
          required: ['to'],
          additionalProperties: false,
        },
        response: { 200: { type: 'object', additionalProperties: true }, ...errorResponses },
      },
      config: write,
    },
    async (request) => {
      const stateId = (request.params as { stateId: string }).stateId;
      const to = (request.body as { to: string }).to;
      const store = open(request);
      const entry = await store.get(stateId);
      if (!entry) throw notFound(stateId);
      await store.set(to, entry.value);
      return store.get(to);
    },
  );
}
