import type { FastifyInstance, FastifyRequest } from 'fastify';
import { actorOf, promotionApplied, recordChange } from '../../audit/audit-log.js';
import { SluiceError } from '../../errors.js';
import { requestPromotion } from '../../promotion/promotion-requests.js';
import {
  applyPromotion,
  previewPromotion,
  promotionHistory,
  promotionTargetId,
  revertPromotion,
} from '../../promotion/promotion-service.js';
import { findWorkspaceById } from '../../store/workspaces.js';
import type { WorkspaceContext } from '../../workspaces/context.js';
import { principalOf, type WorkspaceScope, workspaceOf } from '../route-access.js';
import { errorResponses, workspaceParamsSchema } from '../schemas.js';
import { isPlausibleRef, visibleWorkspace } from '../workspace-access.js';

const planOptionsSchema = {
  deleteTargetOnly: {
    type: 'boolean',
    description: "Delete the target's files that the source does not have (default: keep them)",
  },
  allEnvironments: { type: 'boolean', description: 'Compare the configuration of every environment' },
} as const;

/**
 * Promotion into a workspace: preview, apply, history, revert. A preview changes nothing, so a
 * read-only token may ask for it with GET; the POST (which also previews, with `dryRun`) needs write.
 */
export function promotionRoutes(app: FastifyInstance, context: WorkspaceContext): void {
  // A promotion named by its id alone: its target workspace is the one the token must see.
  const promotionTarget: WorkspaceScope = {
    param: 'promotion',
    find: async (id) => {
      const targetId = isPlausibleRef(id) ? await promotionTargetId(context, id) : undefined;
      return targetId === undefined ? undefined : findWorkspaceById(context.store.db, targetId);
    },
    notFound: (id) => new SluiceError('not_found', `No promotion '${id}'.`, { promotion: id }),
  };

  const revertAndRecord = async (request: FastifyRequest, promotion: string) => {
    const principal = principalOf(request);
    const reverted = await revertPromotion(context, principal.name, workspaceOf(request), promotion);
    await recordChange(context.store, actorOf(principal), {
      action: 'promotion.revert',
      workspaceId: reverted.targetWorkspaceId,
      subject: promotion,
      before: { main: reverted.targetCommit },
      after: { main: reverted.resultCommit, revert: reverted.id },
    });
    return reverted;
  };

  app.post(
    '/api/v1/workspaces/:id/promotions',
    {
      schema: {
        summary: "Preview (dryRun) or apply the promotion of a source workspace's main into this one",
        params: workspaceParamsSchema,
        body: {
          type: 'object',
          properties: {
            source: { type: 'string', minLength: 1 },
            dryRun: { type: 'boolean' },
            expectedSourceCommit: { type: 'string', pattern: '^[0-9a-f]{40}$' },
            expectedTargetCommit: { type: 'string', pattern: '^[0-9a-f]{40}$' },
            ...planOptionsSchema,
          },
          required: ['source'],
          additionalProperties: false,
        },
        response: {
          200: { type: 'object', additionalProperties: true },
          201: { type: 'object', additionalProperties: true },
          202: {
            type: 'object',
            description: 'The target requires approvals: a promotion request was made',
            additionalProperties: true,
          },
          ...errorResponses,
        },
      },
      config: { access: 'write', workspace: 'id' },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const target = workspaceOf(request);
      const body = request.body as {
        source: string;
        dryRun?: boolean;
        expectedSourceCommit?: string;
        expectedTargetCommit?: string;
        deleteTargetOnly?: boolean;
        allEnvironments?: boolean;
      };
      const source = await visibleWorkspace(context, principal, body.source);
      const options = { deleteTargetOnly: body.deleteTargetOnly, allEnvironments: body.allEnvironments };
      if (body.dryRun) return previewPromotion(context, source, target, options);
      if ((target.required_approvals ?? 0) > 0) {
        // A workspace that requires approvals takes a request instead, applied once approved.
        const made = await requestPromotion(context, principal, source, target, {
          deleteTargetOnly: body.deleteTargetOnly,
          expectedSourceCommit: body.expectedSourceCommit,
          expectedTargetCommit: body.expectedTargetCommit,
        });
        await recordChange(context.store, actorOf(principal), {
          action: 'promotion.request',
          workspaceId: target.id,
          subject: made.id,
          after: { source: source.id, sourceCommit: made.sourceCommit, targetCommit: made.targetCommit },
        });
        reply.status(202);
        return { request: made };
      }
      const applied = await applyPromotion(context, principal.name, source, target, {
        ...options,
        expectedSourceCommit: body.expectedSourceCommit,
        expectedTargetCommit: body.expectedTargetCommit,
      });
      await recordChange(context.store, actorOf(principal), promotionApplied(applied));
      reply.status(201);
      return applied;
    },
  );

  app.get(
    '/api/v1/workspaces/:id/promotions/preview',
    {
      schema: {
        summary:
          "Preview the promotion of a source workspace's main into this one: the plan, nothing changed",
        params: workspaceParamsSchema,
        querystring: {
          type: 'object',
          properties: { source: { type: 'string', minLength: 1, maxLength: 250 }, ...planOptionsSchema },
          required: ['source'],
          additionalProperties: false,
        },
        response: { 200: { type: 'object', additionalProperties: true }, ...errorResponses },
      },
      config: { access: 'read', workspace: 'id' },
    },
    async (request) => {
      const query = request.query as {
        source: string;
        deleteTargetOnly?: boolean;
        allEnvironments?: boolean;
      };
      const source = await visibleWorkspace(context, principalOf(request), query.source);
      return previewPromotion(context, source, workspaceOf(request), {
        deleteTargetOnly: query.deleteTargetOnly,
        allEnvironments: query.allEnvironments,
      });
    },
  );

  app.get(
    '/api/v1/workspaces/:id/promotions',
    {
      schema: { summary: 'Promotions into this workspace, newest first', params: workspaceParamsSchema },
      config: { access: 'read', workspace: 'id' },
    },
    async (request) => ({ items: await promotionHistory(context, workspaceOf(request)), nextCursor: null }),
  );

  app.post(
    '/api/v1/workspaces/:id/promotions/:promotion/revert',
    {
      schema: {
        summary: "Restore the target's tree from before a promotion, as a new commit",
        params: {
          type: 'object',
          properties: {
            id: { type: 'string', maxLength: 250 },
            promotion: { type: 'string', maxLength: 100 },
          },
          required: ['id', 'promotion'],
        },
      },
      config: { access: 'write', workspace: 'id' },
    },
    async (request, reply) => {
      const promotion = (request.params as { promotion: string }).promotion;
      reply.status(201);
      return revertAndRecord(request, promotion);
    },
  );

  app.post(
    '/api/v1/promotions/:promotion/revert',
    {
      schema: {
        summary: 'Revert a promotion, named by its id alone',
        params: {
          type: 'object',
          properties: { promotion: { type: 'string', maxLength: 100 } },
          required: ['promotion'],
        },
      },
      config: { access: 'write', workspace: promotionTarget },
    },
    async (request, reply) => {
      const promotion = (request.params as { promotion: string }).promotion;
      reply.status(201);
      return revertAndRecord(request, promotion);
    },
  );
}
