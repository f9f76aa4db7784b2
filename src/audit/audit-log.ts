import { SluiceError } from '../errors.js';
import type { Promotion } from '../promotion/promotion-service.js';
import { type AuditRow, insertAuditEntry, listAuditEntries } from '../store/audit-log.js';
import { newId } from '../store/ids.js';
import { decodeCursor, keysetPage } from '../store/keyset-page.js';
import type { Store } from '../store/open-store.js';
import type { Principal } from '../tokens/principal.js';
import type { WorkspaceContext } from '../workspaces/context.js';

/** Who made a change: a token, or the server itself (a schedule). */
export interface Actor {
  readonly tokenId: string | null;
  readonly name: string;
}

export const SERVER_ACTOR: Actor = { tokenId: null, name: 'sluice (schedule)' };

/** What was changed, in a workspace (or none: tokens), and the values before and after. */
export interface AuditChange {
  readonly action: AuditAction;
  readonly workspaceId: string | null;
  readonly subject?: string;
  /** Plain data; never a secret's value (secrets are recorded by name). */
  readonly before?: unknown;
  readonly after?: unknown;
}

export type AuditAction =
  | 'workspace.create'
  | 'workspace.update'
  | 'workspace.delete'
  | 'secret.set'
  | 'secret.remove'
  | 'token.create'
  | 'token.revoke'
  | 'git.push'
  | 'promotion.request'
  | 'promotion.approve'
  | 'promotion.reject'
  | 'promotion.comment'
  | 'promotion.apply'
  | 'promotion.revert'
  | 'run.start'
  | 'run.cancel';

export interface AuditEntry {
  readonly id: string;
  readonly at: string;
  readonly actor: { readonly tokenId: string | null; readonly name: string };
  readonly workspaceId: string | null;
  readonly action: string;
  readonly subject: string | null;
  readonly before: unknown;
  readonly after: unknown;
}

/** The change an applied promotion made: the target's main before and after, its source, the request it settled. */
export function promotionApplied(promotion: Promotion, request?: string): AuditChange {
  return {
    action: 'promotion.apply',
    workspaceId: promotion.targetWorkspaceId,
    subject: promotion.id,
    before: { main: promotion.targetCommit },
    after: {
      main: promotion.resultCommit,
      source: promotion.sourceWorkspaceId,
      sourceCommit: promotion.sourceCommit,
      ...(request === undefined ? {} : { request }),
    },
  };
}

export function actorOf(principal: Principal): Actor {
  return { tokenId: principal.tokenId, name: principal.name };
}

/**
 * Records a change that has been made. A change that failed is not recorded; one that was made
 * is, even if recording fails once: the error is then thrown to the caller, which reports it.
 */
export async function recordChange(
  store: Pick<Store, 'db'>,
  actor: Actor,
  change: AuditChange,
): Promise<void> {
  await insertAuditEntry(store.db, {
    id: newId('aud'),
    created_at: new Date().toISOString(),
    actor_token_id: actor.tokenId,
    actor_name: actor.name,
    workspace_id: change.workspaceId,
    action: change.action,
    subject: change.subject ?? null,
    before: change.before === undefined ? null : JSON.stringify(change.before),
    after: change.after === undefined ? null : JSON.stringify(change.after),
  });
}

export interface AuditQuery {
  readonly workspace?: string;
  readonly actor?: string;
  readonly since?: string;
  readonly until?: string;
  readonly limit?: number;
  readonly cursor?: string;
}

/**
 * The entries a principal may read, oldest first: an admin reads every one; another token the
 * entries of the workspaces in its scope (never those of tokens, which belong to no workspace).
 */
export async function readAuditLog(
  context: WorkspaceContext,
  principal: Principal,
  query: AuditQuery,
): Promise<{ items: AuditEntry[]; nextCursor: string | null }> {
  for (const [name, value] of [
    ['since', query.since],
    ['until', query.until],
  ] as const) {
    if (value !== undefined && Number.isNaN(Date.parse(value)))
      throw new SluiceError(
        'validation_failed',
        `${name} must be an ISO date or time, such as 2026-12-01T00:00:00Z; got '${value}'.`,
        { [name]: value },
      );
  }
  const limit = query.limit ?? 100;
  const rows = await listAuditEntries(
    context.store.db,
    {
      workspaces: principal.admin ? '*' : principal.workspaces,
      unscoped: principal.admin,
      workspace: query.workspace,
      actor: query.actor,
      since: query.since === undefined ? undefined : new Date(query.since).toISOString(),
      until: query.until === undefined ? undefined : new Date(query.until).toISOString(),
    },
    { limit: limit + 1, after: decodeCursor(query.cursor) },
  );
  return keysetPage(rows, limit, toEntry);
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    at: row.created_at,
    actor: { tokenId: row.actor_token_id, name: row.actor_name },
    workspaceId: row.workspace_id,
    action: row.action,
    subject: row.subject,
    before: row.before === null ? null : JSON.parse(row.before),
    after: row.after === null ? null : JSON.parse(row.after),
  };
}
