import type { FastifyRequest } from 'fastify';
import { SluiceError } from '../errors.js';
import type { Store } from '../store/open-store.js';
import type { WorkspaceRow } from '../store/workspaces.js';
import type { Principal } from '../tokens/principal.js';
import { authenticate, authenticateWithWorkspace } from '../tokens/token-service.js';

/**
 * The token a request carries: `Authorization: Bearer <token>`, or HTTP basic auth with the token
 * as the password (any user name), which is what Git clients send.
 */
export function tokenFromHeader(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const [scheme, value = ''] = header.split(/\s+/, 2);
  if (scheme?.toLowerCase() === 'bearer') return value;
  if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const password = colon >= 0 ? decoded.slice(colon + 1) : '';
    return password || (colon >= 0 ? decoded.slice(0, colon) : decoded);
  }
  return undefined;
}

/** The token of a request, or a 401 error that says what to send. */
function requireToken(request: FastifyRequest): string {
  const token = tokenFromHeader(request.headers.authorization);
  if (token === undefined) {
    throw new SluiceError(
      'unauthorized',
      'This needs a token: send `Authorization: Bearer <token>` (Git: the token as the password).',
    );
  }
  return token;
}

function invalidToken(): SluiceError {
  return new SluiceError('unauthorized', 'The token is not valid (unknown or revoked).');
}

/** The caller, or a 401 error that says what to send. */
export async function requirePrincipal(store: Store, request: FastifyRequest): Promise<Principal> {
  const principal = await authenticate(store, requireToken(request));
  if (!principal) throw invalidToken();
  return principal;
}

/**
 * The caller, or a 401 error, and the workspace whose id is `workspaceId` if one has it, in one
 * database round trip: a request about a workspace names it by id almost always. Whether the
 * caller may see the workspace is for the caller of this function to decide.
 */
export async function requirePrincipalWithWorkspace(
  store: Store,
  request: FastifyRequest,
  workspaceId: string,
): Promise<{ principal: Principal; workspace: WorkspaceRow | undefined }> {
  const found = await authenticateWithWorkspace(store, requireToken(request), workspaceId);
  if (!found) throw invalidToken();
  return found;
}
