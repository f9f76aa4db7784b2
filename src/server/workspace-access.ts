import { SluiceError } from '../errors.js';
import type { WorkspaceRow } from '../store/workspaces.js';
import { canSee, canWrite, type Principal } from '../tokens/principal.js';
import type { WorkspaceContext } from '../workspaces/context.js';
import { findWorkspace, workspaceNotFound } from '../workspaces/workspace-service.js';

/**
 * The workspace a request names (id or repository name), if the caller may see it. A workspace
 * outside the token's scope answers 404, exactly like one that does not exist, so that tokens
 * cannot probe for names.
 */
export async function visibleWorkspace(
  context: WorkspaceContext,
  principal: Principal,
  ref: string,
): Promise<WorkspaceRow> {
  const row = await findWorkspace(context, ref);
  if (!row || !canSee(principal, row.id)) throw workspaceNotFound(ref);
  return row;
}

/** Fails with 403 when the caller may see the workspace but not change it. */
export function requireWrite(principal: Principal, row: WorkspaceRow): void {
  if (!canWrite(principal, row.id))
    throw new SluiceError('forbidden', `This token can read workspace '${row.name}' but not change it.`);
}
