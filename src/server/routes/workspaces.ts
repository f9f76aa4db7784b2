import type { FastifyInstance } from 'fastify';
import { actorOf, recordChange } from '../../audit/audit-log.js';
import {
  pluginConfigView,
  workspaceConfiguration,
  workspaceEnvironments,
} from '../../workspaces/config-views.js';
import type { WorkspaceContext } from '../../workspaces/context.js';
import { listWorkspaces } from '../../workspaces/workspace-list.js';
import {
  createWorkspace,
  deleteWorkspace,
  getWorkspace,
  toWorkspace,
  updateWorkspace,
} from '../../workspaces/workspace-service.js';
import { refreshWorkspaceState } from '../../workspaces/workspace-state.js';
import { jsonOnce } from '../json-once.js';
import { principalOf, workspaceOf } from '../route-access.js';
import {
  errorResponses,
  pageOf,
  pageQuerySchema,
  workspaceParamsSchema,
  workspaceSchema,
} from '../schemas.js';

/** Workspaces: create (needs write on every workspace), list, read, change, delete, and their configuration. */
export function workspaceRoutes(app: FastifyInstance, context: WorkspaceContext): void {
  // Pages and views come back as the same objects while they hold: each is serialized once.
  const sendPage = jsonOnce();
  const sendEnvironments = jsonOnce();
  const sendConfiguration = jsonOnce();
  const sendPluginConfig = jsonOnce();

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
      config: { access: 'write' },
    },
    async (request, reply) => {
      const { name } = request.body as { name: unknown };
      const created = await createWorkspace(context, { name });
      await recordChange(context.store, actorOf(principalOf(request)), {
        action: 'workspace.create',
        workspaceId: created.id,
        after: { name: created.name, repositoryName: created.repositoryName },
      });
      reply.status(201);
      return created;
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
      config: { access: 'read' },
    },
    async (request, reply) => {
      const { limit, cursor } = request.query as { limit: number; cursor?: string };
      const page = await listWorkspaces(context, { scope: principalOf(request).workspaces, limit, cursor });
      return sendPage(reply, page);
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
      config: { access: 'read', workspace: 'id' },
    },
    async (request) => getWorkspace(context, workspaceOf(request)),
  );

  app.patch(
    '/api/v1/workspaces/:id',
    {
      schema: {
        summary:
          'Rename a workspace, set its active environment, upstream, protection, schedules or owned keys',
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
            requiredApprovals: {
              type: 'integer',
              description: 'Admin only: approvals a promotion into this workspace needs (0 to 10)',
            },
            upstream: {
              type: ['string', 'null'],
              maxLength: 250,
              description: 'The workspace (id or repository name) this one is promoted from; null: none',
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
      // Protecting, and changing a protected workspace's identity, is for admins: the service's rule.
      config: { access: 'write', workspace: 'id' },
    },
    async (request) => {
      const body = request.body as {
        name?: string;
        activeEnvironment?: string;
        protected?: boolean;
        ownedKeys?: string[];
        schedulesEnabled?: boolean | null;
        upstream?: string | null;
        requiredApprovals?: number;
      };
      // The fields a PATCH changes are the row's own: no need to read main for them.
      const before = toWorkspace(context, workspaceOf(request));
      const after = await updateWorkspace(context, principalOf(request), workspaceOf(request), body);
      const fields = Object.keys(body) as (keyof typeof body)[];
      await recordChange(context.store, actorOf(principalOf(request)), {
        action: 'workspace.update',
        workspaceId: after.id,
        before: Object.fromEntries(fields.map((field) => [field, before[field]])),
        after: Object.fromEntries(fields.map((field) => [field, after[field]])),
      });
      return after;
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
      config: { access: 'write', workspace: 'id' },
    },
    async (request, reply) => {
      const row = workspaceOf(request);
      await deleteWorkspace(context, principalOf(request), row);
      await recordChange(context.store, actorOf(principalOf(request)), {
        action: 'workspace.delete',
        workspaceId: row.id,
        before: { name: row.name, repositoryName: row.repository_name },
      });
      reply.status(204).send();
    },
  );

  app.get(
    '/api/v1/workspaces/:id/environments',
    {
      schema: { summary: "The environments of the workspace's project", params: workspaceParamsSchema },
      config: { access: 'read', workspace: 'id' },
    },
    async (request, reply) =>
      sendEnvironments(
        reply,
        await workspaceEnvironments(context, await refreshWorkspaceState(context, workspaceOf(request))),
      ),
  );

  app.get(
    '/api/v1/workspaces/:id/configuration',
    {
      schema: {
        summary: "Every plugin's settings in every environment, with sources, secrets masked (the matrix)",
        params: workspaceParamsSchema,
      },
      config: { access: 'read', workspace: 'id' },
    },
    async (request, reply) =>
      sendConfiguration(
        reply,
        await workspaceConfiguration(context, await refreshWorkspaceState(context, workspaceOf(request))),
      ),
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
      config: { access: 'read', workspace: 'id' },
    },
    async (request, reply) => {
      const row = await refreshWorkspaceState(context, workspaceOf(request));
      const view = await pluginConfigView(
        context,
        row,
        (request.params as { plugin: string }).plugin,
        request.query as { environment?: string; type?: string },
      );
      return sendPluginConfig(reply, view);
    },
  );
}
