import type { FastifyInstance, FastifyRequest, FastifySchema, RouteOptions } from 'fastify';
import { SluiceError } from '../errors.js';
import type { WorkspaceRow } from '../store/workspaces.js';
import { canSee, canWrite, type Principal } from '../tokens/principal.js';
import type { WorkspaceContext } from '../workspaces/context.js';
import { workspaceNotFound } from '../workspaces/workspace-service.js';
import { requirePrincipal, requirePrincipalWithWorkspace } from './auth.js';
import { findWorkspaceRef, isPlausibleRef } from './workspace-access.js';

/**
 * Who may call a route:
 * - `public`: anyone, no token (the health check, the web UI's files);
 * - `read`: any valid token; on a workspace route, one whose scope includes the workspace;
 * - `write`: a read-write token; on a workspace route, for that workspace, else for every workspace;
 * - `admin`: an admin token.
 */
export type AccessLevel = 'public' | 'read' | 'write' | 'admin';

/**
 * How a route names the workspace its caller must be able to see: the name of a path parameter
 * that holds a workspace id or repository name, or a lookup for routes that name something that
 * belongs to a workspace (a promotion, a Git repository URL).
 */
export type WorkspaceScope =
  | string
  | {
      readonly param: string;
      /** The workspace the parameter leads to, or undefined when it leads nowhere. */
      readonly find: (value: string) => Promise<WorkspaceRow | undefined>;
      /** The answer when it leads nowhere or outside the token's scope: the same, so tokens cannot probe. */
      readonly notFound: (value: string) => SluiceError;
    };

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Required on every route; checked by one hook before the body is read or validated. A function
     * decides from the request's routed (decoded) parts only: Git's fetch-or-push, for instance.
     */
    access?: AccessLevel | ((request: FastifyRequest) => AccessLevel);
    /** Set on routes about one workspace: a token that cannot see it gets 404, as if it did not exist. */
    workspace?: WorkspaceScope;
  }
}

const LEVELS: ReadonlySet<string> = new Set<AccessLevel>(['public', 'read', 'write', 'admin']);

const principals = new WeakMap<FastifyRequest, Principal>();
const workspaces = new WeakMap<FastifyRequest, WorkspaceRow>();

/** The caller of a route whose access is not `public`, as the access hook authenticated it. */
export function principalOf(request: FastifyRequest): Principal {
  const principal = principals.get(request);
  if (!principal) throw new Error(`${request.method} ${request.url}: no principal; is the route public?`);
  return principal;
}

/** The workspace a route declares with `workspace`, as the access hook found it. */
export function workspaceOf(request: FastifyRequest): WorkspaceRow {
  const row = workspaces.get(request);
  if (!row) throw new Error(`${request.method} ${request.url}: the route declares no workspace.`);
  return row;
}

/** Fails at start for a route without a valid access declaration: no route can be forgotten. */
function checkDeclaration(route: RouteOptions): void {
  const where = `${Array.isArray(route.method) ? route.method.join(',') : route.method} ${route.url}`;
  const { access, workspace } = route.config ?? {};
  if (access === undefined)
    throw new Error(`Route ${where} declares no access: set config.access (see route-access.ts).`);
  if (typeof access !== 'function' && !LEVELS.has(access))
    throw new Error(`Route ${where} declares an unknown access level '${String(access)}'.`);
  if (workspace !== undefined) {
    const param = typeof workspace === 'string' ? workspace : workspace.param;
    if (!route.url.split('/').includes(`:${param}`))
      throw new Error(`Route ${where} scopes by workspace parameter '${param}', which its path lacks.`);
    if (access === 'public' || access === 'admin')
      throw new Error(`Route ${where}: a ${access} route cannot be scoped to a workspace.`);
  }
}

/**
 * Installs authorization in one place, before any route is added: every route must declare its
 * access (the server does not start otherwise), and one `onRequest` hook enforces it on the route
 * the router matched (so on the decoded path: `/%61pi/...` is `/api/...` here too), before the body
 * is parsed or validated and before the handler. Handlers read the caller and the workspace with
 * `principalOf` and `workspaceOf`, and never check access themselves.
 */
export function installRouteAccess(app: FastifyInstance, context: WorkspaceContext): void {
  app.addHook('onRoute', (route) => {
    checkDeclaration(route);
    // The OpenAPI document says what the declaration says: who may call, and public needs no token.
    const { access, workspace } = route.config ?? {};
    if (route.schema && typeof access === 'string') {
      // OpenAPI's `x-` extensions: @fastify/swagger copies them to the operation; Fastify's types know none.
      const documented: Record<string, unknown> = { ...route.schema, 'x-sluice-access': access };
      if (workspace !== undefined)
        documented['x-sluice-workspace'] = typeof workspace === 'string' ? workspace : workspace.param;
      if (access === 'public') documented.security = [];
      route.schema = documented as FastifySchema;
    }
  });

  app.addHook('onRequest', async (request) => {
    // Requests no route matched get the not-found answer, which reveals nothing.
    if (request.is404) return;
    const { access, workspace } = request.routeOptions.config;
    if (access === undefined) throw new Error(`${request.method} ${request.url}: route without access.`);
    const level = typeof access === 'function' ? access(request) : access;
    if (level === 'public') return;

    // Most routes about a workspace name it by id: the token and the workspace are then read in one query.
    const ref = typeof workspace === 'string' ? paramOf(request, workspace) : undefined;
    let principal: Principal;
    let byId: { row: WorkspaceRow | undefined } | undefined;
    if (ref !== undefined && level !== 'admin' && isPlausibleRef(ref)) {
      const found = await requirePrincipalWithWorkspace(context.store, request, ref);
      principal = found.principal;
      byId = { row: found.workspace };
    } else principal = await requirePrincipal(context.store, request);
    principals.set(request, principal);
    if (level === 'admin') {
      if (!principal.admin) throw new SluiceError('forbidden', 'This needs an admin token.');
      return;
    }
    if (workspace === undefined) {
      if (level === 'write' && (principal.workspaces !== '*' || principal.access === 'read'))
        throw new SluiceError('forbidden', 'This needs a read-write token for all workspaces ("*").');
      return;
    }
    const row = await scopedWorkspace(context, principal, request, workspace, byId);
    workspaces.set(request, row);
    if (level === 'write' && !canWrite(principal, row.id))
      throw new SluiceError('forbidden', `This token can read workspace '${row.name}' but not change it.`);
  });
}

function paramOf(request: FastifyRequest, param: string): string {
  return (request.params as Record<string, string | undefined>)[param] ?? '';
}

async function scopedWorkspace(
  context: WorkspaceContext,
  principal: Principal,
  request: FastifyRequest,
  scope: WorkspaceScope,
  byId: { readonly row: WorkspaceRow | undefined } | undefined,
): Promise<WorkspaceRow> {
  const value = paramOf(request, typeof scope === 'string' ? scope : scope.param);
  const row =
    typeof scope === 'string' ? await findWorkspaceRef(context, value, byId) : await scope.find(value);
  if (!row || !canSee(principal, row.id))
    throw typeof scope === 'string' ? workspaceNotFound(value) : scope.notFound(value);
  return row;
}
