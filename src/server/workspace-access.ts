import type { WorkspaceRow } from '../store/workspaces.js';
import { canSee, type Principal } from '../tokens/principal.js';
import type { WorkspaceContext } from '../workspaces/context.js';
import {
  findWorkspace,
  findWorkspaceByRepository,
  workspaceNotFound,
} from '../workspaces/workspace-service.js';

/** Longer than any workspace id or repository name. */
const MAX_REF_LENGTH = 250;

/**
 * Whether a value from a URL can name anything the server stores. The access hook looks things up
 * before the request is validated, so a value no id can have (too long, or with control characters
 * such as NUL, which PostgreSQL refuses) is answered "not found" without a query.
 */
export function isPlausibleRef(value: string): boolean {
  return value !== '' && value.length <= MAX_REF_LENGTH && !/\p{Cc}/u.test(value);
}

/**
 * The workspace a reference from a request names (id or repository name), or undefined. `byId`
 * is the answer of the lookup by id when it was already made (with the token, see route-access.ts).
 */
export async function findWorkspaceRef(
  context: WorkspaceContext,
  ref: string,
  byId?: { readonly row: WorkspaceRow | undefined },
): Promise<WorkspaceRow | undefined> {
  if (!isPlausibleRef(ref)) return undefined;
  if (byId === undefined) return findWorkspace(context, ref);
  return byId.row ?? findWorkspaceByRepository(context, ref);
}

/**
 * A second workspace a request names in its body (a promotion's source), if the caller may see it.
 * A workspace outside the token's scope answers 404, exactly like one that does not exist, so that
 * tokens cannot probe for names. The workspace in the path is checked by the route's declaration.
 */
export async function visibleWorkspace(
  context: WorkspaceContext,
  principal: Principal,
  ref: string,
): Promise<WorkspaceRow> {
  const row = await findWorkspaceRef(context, ref);
  if (!row || !canSee(principal, row.id)) throw workspaceNotFound(ref);
  return row;
}
