import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SluiceError } from '../../errors.js';
import {
  applyPromotion,
  previewPromotion,
  promotionHistory,
  promotionTargetId,
  revertPromotion,
} from '../../promotion/promotion-service.js';
import { canSee, type Principal } from '../../tokens/principal.js';
import type { WorkspaceContext } from '../../workspaces/context.js';
import { findWorkspace } from '../../workspaces/workspace-service.js';
import { errorResponses, workspaceParamsSchema } from '../schemas.js';
import { requireWrite, visibleWorkspace } from '../workspace-access.js';

/** Promotion into a workspace: preview (`dryRun`), apply, history, revert. */
export function promotionRoutes(
  app: FastifyInstance,
  context: WorkspaceContext,
  principalOf: (request: FastifyRequest) => Promise<Principal>,
): void {
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
            deleteTargetOnly: { type: 'boolean' },
            allEnvironments: { type: 'boolean' },
          },
          required: ['source'],
          additionalProperties: false,
        },
        response: {
          200: { type: 'object', additionalProperties: true },
          201: { type: 'object', additionalProperties: true },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const principal = await principalOf(request);
      const target = await visibleWorkspace(context, principal, (request.params as { id: string }).id);
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
      requireWrite(principal, target);
      reply.status(201);
      return applyPromotion(context, principal.name, source, target, {
        ...options,
        expectedSourceCommit: body.expectedSourceCommit,
        expectedTargetCommit: body.expectedTargetCommit,
      });
    },
  );

  app.get(
    '/api/v1/workspaces/:id/promotions',
    { schema: { summary: 'Promotions into this workspace, newest first', params: workspaceParamsSchema } },
    async (request) => {
      const principal = await principalOf(request);
      const target = await visibleWorkspace(context, principal, (request.params as { id: string }).id);
      return { items: await promotionHistory(context, target), nextCursor: null };
    },
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
    },
    async (request, reply) => {
      const principal = await principalOf(request);
      const params = request.params as { id: string; promotion: string };
      const target = await visibleWorkspace(context, principal, params.id);
      requireWrite(principal, target);
      reply.status(201);
      return revertPromotion(context, principal.name, target, params.promotion);
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
    },
    async (request, reply) => {
      const principal = await principalOf(request);
      const id = (request.params as { promotion: string }).promotion;
      const targetId = await promotionTargetId(context, id).catch(() => undefined);
      const target = targetId ? await findWorkspace(context, targetId) : undefined;
      if (!target || !canSee(principal, target.id))
        throw new SluiceError('not_found', `No promotion '${id}'.`, { promotion: id });
      requireWrite(principal, target);
      reply.status(201);
      return revertPromotion(context, principal.name, target, id);
    },
  );
}
