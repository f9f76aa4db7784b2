import type { FastifyInstance } from 'fastify';
import { actorOf, promotionApplied, recordChange } from '../../audit/audit-log.js';
import {
  promotionRequest,
  promotionRequests,
  type Review,
  reviewPromotionRequest,
} from '../../promotion/promotion-requests.js';
import type { WorkspaceContext } from '../../workspaces/context.js';
import { principalOf, workspaceOf } from '../route-access.js';
import { errorResponses } from '../schemas.js';

const requestParams = {
  type: 'object',
  properties: { id: { type: 'string', maxLength: 250 }, request: { type: 'string', maxLength: 100 } },
  required: ['id', 'request'],
} as const;

/**
 * Promotion requests into a workspace that requires approvals: list, read, and review (comment,
 * approve, reject). A request is made by promoting into such a workspace (POST .../promotions).
 */
export function promotionRequestRoutes(app: FastifyInstance, context: WorkspaceContext): void {
  app.get(
    '/api/v1/workspaces/:id/promotion-requests',
    {
      schema: {
        summary: 'Promotion requests into this workspace, newest first',
        params: { type: 'object', properties: { id: { type: 'string', maxLength: 250 } }, required: ['id'] },
      },
      config: { access: 'read', workspace: 'id' },
    },
    async (request) => ({ items: await promotionRequests(context, workspaceOf(request)), nextCursor: null }),
  );

  app.get(
    '/api/v1/workspaces/:id/promotion-requests/:request',
    {
      schema: {
        summary: 'One promotion request, with its frozen preview and reviews',
        params: requestParams,
      },
      config: { access: 'read', workspace: 'id' },
    },
    async (request) =>
      promotionRequest(context, workspaceOf(request), (request.params as { request: string }).request),
  );

  app.post(
    '/api/v1/workspaces/:id/promotion-requests/:request/reviews',
    {
      schema: {
        summary:
          'Comment on (a write token), approve or reject (an admin or an approve token, not its author) a request; the last approval applies it',
        params: requestParams,
        body: {
          type: 'object',
          properties: {
            verdict: { type: 'string', enum: ['approve', 'reject', 'comment'] },
            comment: { type: 'string', maxLength: 5000 },
          },
          required: ['verdict'],
          additionalProperties: false,
        },
        response: { 201: { type: 'object', additionalProperties: true }, ...errorResponses },
      },
      // Writing to the target is needed to comment; the service checks who may approve or reject.
      config: { access: 'write', workspace: 'id' },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const target = workspaceOf(request);
      const id = (request.params as { request: string }).request;
      const review = request.body as Review;
      const outcome = await reviewPromotionRequest(context, principal, target, id, review);
      await recordChange(context.store, actorOf(principal), {
        action: `promotion.${review.verdict}`,
        workspaceId: target.id,
        subject: id,
        after: {
          status: outcome.request.status,
          approvals: outcome.request.approvals,
          comment: review.comment ?? null,
        },
      });
      if (outcome.promotion) {
        await recordChange(context.store, actorOf(principal), promotionApplied(outcome.promotion, id));
      }
      reply.status(201);
      return outcome;
    },
  );
}
