import type { FastifyInstance } from 'fastify';
import { type AuditQuery, readAuditLog } from '../../audit/audit-log.js';
import type { WorkspaceContext } from '../../workspaces/context.js';
import { principalOf } from '../route-access.js';
import { errorResponses, pageOf, pageQuerySchema } from '../schemas.js';

const auditEntrySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    at: { type: 'string' },
    actor: {
      type: 'object',
      properties: { tokenId: { type: ['string', 'null'] }, name: { type: 'string' } },
    },
    workspaceId: { type: ['string', 'null'] },
    action: { type: 'string' },
    subject: { type: ['string', 'null'] },
    before: {},
    after: {},
  },
} as const;

/**
 * The audit log, read only: no route changes or deletes an entry (the database refuses it too).
 * Admins read every entry; other tokens those of their workspaces.
 */
export function auditRoutes(app: FastifyInstance, context: WorkspaceContext): void {
  app.get(
    '/api/v1/audit',
    {
      schema: {
        summary: 'Who changed what and when, oldest first (admins: all; other tokens: their workspaces)',
        querystring: {
          type: 'object',
          properties: {
            ...pageQuerySchema.properties,
            workspace: { type: 'string', maxLength: 100, description: 'A workspace id' },
            actor: { type: 'string', maxLength: 300, description: "A token's id or name" },
            since: { type: 'string', maxLength: 40, description: 'ISO date or time, inclusive' },
            until: { type: 'string', maxLength: 40, description: 'ISO date or time, inclusive' },
          },
          additionalProperties: false,
        },
        response: { 200: pageOf(auditEntrySchema), ...errorResponses },
      },
      config: { access: 'read' },
    },
    async (request) => readAuditLog(context, principalOf(request), request.query as AuditQuery),
  );
}
