import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SluiceError } from '../../errors.js';
import type { Principal } from '../../tokens/principal.js';
import {
  pluginConfigView,
  workspaceConfiguration,
  workspaceEnvironments,
} from '../../workspaces/config-views.js';
import type { WorkspaceContext } from '../../workspaces/context.js';
import {
  createWorkspace,
  deleteWorkspace,
  getWorkspace,
  listWorkspaces,
  updateWorkspace,
} from '../../workspaces/workspace-service.js';
import { refreshWorkspaceState } from '../../workspaces/workspace-state.js';
import {
  errorResponses,
  pageOf,
  pageQuerySchema,
  workspaceParamsSchema,
  workspaceSchema,
} from '../schemas.js';
import { requireWrite, visibleWorkspace } from '../workspace-access.js';

type Authed = (request: FastifyRequest) => Promise<Principal>;

/**
 * The workspace a request names, if the caller may see it. A workspace outside the token's scope
 * answers 404, exactly like one that does not exist, so that tokens cannot probe for names.
 */

export function workspaceRoutes(app: FastifyInstance, context: WorkspaceContext, principalOf: Authed): void {
  app.post(
    '/api/v1/workspaces',
    {
      schema: {
        summary: 'Create a workspace with its Git repository',
        body: {
          type: 'object',
          properties: { name: { type: 'string' } },
          required: ['name'],
          additionalProperties: false,
        },
        response: { 201: workspaceSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const principal = await principalOf(request);
      if (principal.workspaces !== '*' || principal.access !== 'write') {
        throw new SluiceError(
          'forbidden',
          'Creating workspaces needs a read-write token for all workspaces ("*").',
        );
      }
      const { name } = request.body as { name: unknown };
      reply.status(201);
      return createWorkspace(context, { name });
    },
  );

  app.get(
    '/api/v1/workspaces',
    {
      schema: {
        summary: 'List workspaces',
        querystring: pageQuerySchema,
        response: { 200: pageOf(workspaceSchema), ...errorResponses },
      },
    },
    async (request) => {
      const principal = await principalOf(request);
      const { limit, cursor } = request.query as { limit: number; cursor?: string };
      return listWorkspaces(context, { scope: principal.workspaces, limit, cursor });
    },
  );

  app.get(
    '/api/v1/workspaces/:id',
    {
      schema: {
        summary: 'Get a workspace',
        params: workspaceParamsSchema,
        response: { 200: workspaceSchema, ...errorResponses },
      },
    },
    async (request) => {
      const principal = await principalOf(request);
      return getWorkspace(
        context,
        await visibleWorkspace(context, principal, (request.params as { id: string }).id),
      );
    },
  );

  app.patch(
    '/api/v1/workspaces/:id',
    {
      schema: {
        summary: 'Rename a workspace or set its active environment',
        params: workspaceParamsSchema,
        body: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            activeEnvironment: { type: 'string' },
            protected: {
              type: 'boolean',
              description: 'Admin only: refuse pushes; only promotions change main',
            },
            schedulesEnabled: {
              type: ['boolean', 'null'],
              description: 'Run the schedules of meltano.yml on the server; null: the default (off for dev)',
            },
            ownedKeys: {
              type: 'array',
              items: { type: 'string' },
              description:
                "Top-level meltano.yml keys that keep this workspace's value (or absence) when promoted into",
            },
          },
          additionalProperties: false,
          minProperties: 1,
        },
        response: { 200: workspaceSchema, ...errorResponses },
      },
    },
    async (request) => {
      const principal = await principalOf(request);
      const row = await visibleWorkspace(context, principal, (request.params as { id: string }).id);
      requireWrite(principal, row);
      const body = request.body as {
        name?: string;
        activeEnvironment?: string;
        protected?: boolean;
        ownedKeys?: string[];
        schedulesEnabled?: boolean | null;
      };
      if (body.protected !== undefined && !principal.admin) {
        throw new SluiceError('forbidden', 'Only an admin token can protect or unprotect a workspace.');
      }
      return updateWorkspace(context, row, body);
    },
  );

  app.delete(
    '/api/v1/workspaces/:id',
    {
      schema: {
        summary: 'Delete a workspace and its repository',
        params: workspaceParamsSchema,
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const principal = await principalOf(request);
      const row = await visibleWorkspace(context, principal, (request.params as { id: string }).id);
      requireWrite(principal, row);
      await deleteWorkspace(context, row);
      reply.status(204).send();
    },
  );

  app.get(
    '/api/v1/workspaces/:id/environments',
    { schema: { summary: "The environments of the workspace's project", params: workspaceParamsSchema } },
    async (request) => {
      const principal = await principalOf(request);
      const row = await refreshWorkspaceState(
        context,
        await visibleWorkspace(context, principal, (request.params as { id: string }).id),
      );
      return workspaceEnvironments(context, row);
    },
  );

  app.get(
    '/api/v1/workspaces/:id/configuration',
    {
      schema: {
        summary: "Every plugin's settings in every environment, with sources, secrets masked (the matrix)",
        params: workspaceParamsSchema,
      },
    },
    async (request) => {
      const principal = await principalOf(request);
      const row = await refreshWorkspaceState(
        context,
        await visibleWorkspace(context, principal, (request.params as { id: string }).id),
      );
      return workspaceConfiguration(context, row);
    },
  );

  app.get(
    '/api/v1/workspaces/:id/plugins/:plugin/config',
    {
      schema: {
        summary:
          "A plugin's resolved configuration (secrets redacted, with sources) in the active or a named environment",
        params: {
          type: 'object',
          properties: {
            id: { type: 'string', maxLength: 250 },
            plugin: { type: 'string', minLength: 1, maxLength: 250 },
          },
          required: ['id', 'plugin'],
        },
        querystring: {
          type: 'object',
          properties: { environment: { type: 'string', minLength: 1 }, type: { type: 'string' } },
          additionalProperties: false,
        },
      },
    },
    async (request) => {
      const principal = await principalOf(request);
      const params = request.params as { id: string; plugin: string };
      const row = await refreshWorkspaceState(context, await visibleWorkspace(context, principal, params.id));
      return pluginConfigView(
        context,
        row,
        params.plugin,
        request.query as { environment?: string; type?: string },
      );
    },
  );
}
