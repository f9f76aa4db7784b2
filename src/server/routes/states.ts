import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SluiceError } from '../../errors.js';
import { parseStoredState } from '../../runs/local-state-store.js';
import { workspaceStateStore } from '../../runs/workspace-state-store.js';
import type { Principal } from '../../tokens/principal.js';
import type { WorkspaceContext } from '../../workspaces/context.js';
import { errorResponses, workspaceParamsSchema } from '../schemas.js';
import { requireWrite, visibleWorkspace } from '../workspace-access.js';

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
export function stateRoutes(
  app: FastifyInstance,
  context: WorkspaceContext,
  principalOf: (request: FastifyRequest) => Promise<Principal>,
): void {
  const open = async (request: FastifyRequest, write: boolean) => {
    const principal = await principalOf(request);
    const workspace = await visibleWorkspace(context, principal, (request.params as { id: string }).id);
    if (write) requireWrite(principal, workspace);
    return workspaceStateStore(context.store.db, workspace.id);
  };

  app.get(
    '/api/v1/workspaces/:id/state',
    { schema: { summary: "State IDs of this workspace's runs", params: workspaceParamsSchema } },
    async (request) => {
      const entries = await (await open(request, false)).list();
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
    },
    async (request) => {
      const stateId = (request.params as { stateId: string }).stateId;
      const entry = await (await open(request, false)).get(stateId);
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
    },
    async (request) => {
      const stateId = (request.params as { stateId: string }).stateId;
      const store = await open(request, true);
      await store.set(stateId, parseStoredState(JSON.stringify(request.body)));
      return store.get(stateId);
    },
  );

  app.delete(
    '/api/v1/workspaces/:id/state/:stateId',
    { schema: { summary: 'Forget a state: the next run starts from scratch', params: stateParamsSchema } },
    async (request, reply) => {
      const stateId = (request.params as { stateId: string }).stateId;
      if (!(await (await open(request, true)).clear(stateId))) throw notFound(stateId);
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
    },
    async (request) => {
      const stateId = (request.params as { stateId: string }).stateId;
      const to = (request.body as { to: string }).to;
      const store = await open(request, true);
      const entry = await store.get(stateId);
      if (!entry) throw notFound(stateId);
      await store.set(to, entry.value);
      return store.get(to);
    },
  );
}
