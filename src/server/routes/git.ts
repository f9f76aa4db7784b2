import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { actorOf, recordChange } from '../../audit/audit-log.js';
import { SluiceError } from '../../errors.js';
import { recordPushedPromotions } from '../../promotion/pushed-promotions.js';
import type { WorkspaceRow } from '../../store/workspaces.js';
import { repositoryPath, type WorkspaceContext } from '../../workspaces/context.js';
import { isValidRepositoryName } from '../../workspaces/names.js';
import { findWorkspace } from '../../workspaces/workspace-service.js';
import { refreshWorkspaceState, workspaceStatus } from '../../workspaces/workspace-state.js';
import { serveGitHttp } from '../git-http.js';
import { handleError, httpStatusOf } from '../http-errors.js';
import { type AccessLevel, principalOf, type WorkspaceScope, workspaceOf } from '../route-access.js';

/** The smart HTTP endpoints Git clients call: `/git/<repository>.git/<one of these>`. */
const GIT_PATHS = ['info/refs', 'git-upload-pack', 'git-receive-pack', 'HEAD'] as const;

/** The endpoints that only read: a clone or a fetch. */
const FETCH_PATHS: ReadonlySet<string> = new Set(['info/refs', 'git-upload-pack', 'HEAD']);

function refuse(
  reply: FastifyReply,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): FastifyReply {
  // Git prints the status line; the text helps people who open the URL in a browser or with curl.
  return reply
    .status(status)
    .headers({ 'content-type': 'text/plain; charset=utf-8', ...headers })
    .send(`${message}\n`);
}

function serviceOf(request: FastifyRequest): unknown {
  return (request.query as { service?: unknown }).service;
}

/**
 * A fetch needs read access, anything else write. Judged on the path as well as the query, and
 * closed by default: only the fetch endpoints with no service or `git-upload-pack` count as a
 * fetch, so `POST .../git-receive-pack` is a push whatever its query says, and so is a service
 * this does not know (the handler then refuses it).
 */
function gitAccess(request: FastifyRequest): AccessLevel {
  const endpoint = (request.params as { '*': string })['*'];
  const service = serviceOf(request);
  const fetching = FETCH_PATHS.has(endpoint) && (service === undefined || service === 'git-upload-pack');
  return fetching ? 'read' : 'write';
}

/** Errors, including the access hook's, as Git's plain text: Git clients ask for basic auth. */
function gitErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (!(error instanceof SluiceError)) {
    handleError(error, request, reply);
    return;
  }
  const status = httpStatusOf(error);
  refuse(reply, status, error.message, status === 401 ? { 'www-authenticate': 'Basic realm="Sluice"' } : {});
}

/**
 * Git smart HTTP for workspace repositories, served by `git http-backend`. Every request needs a
 * token (basic auth, the token as the password); a repository outside the token's scope answers
 * 404 as if it did not exist; pushing needs a read-write token: all declared on the route, checked
 * by the access hook (see gitAccess).
 */
export function gitRoutes(app: FastifyInstance, context: WorkspaceContext): void {
  // Keep pack streams raw: the handler pipes the request itself to git.
  app.addContentTypeParser(
    ['application/x-git-upload-pack-request', 'application/x-git-receive-pack-request'],
    (_request, _payload, done) => {
      done(null);
    },
  );

  const repository: WorkspaceScope = {
    param: 'repo',
    find: async (repo) => {
      if (!repo.endsWith('.git') || !isValidRepositoryName(repo.slice(0, -4))) {
        throw new SluiceError(
          'validation_failed',
          `'${repo}' is not a repository name: use <public url>/git/<repository name>.git.`,
        );
      }
      return findWorkspace(context, repo.slice(0, -4));
    },
    notFound: (repo) => new SluiceError('not_found', `No repository '${repo}'.`),
  };

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const rest = (request.params as { '*': string })['*'];
    if (!(GIT_PATHS as readonly string[]).includes(rest)) {
      return refuse(reply, 404, `No such Git endpoint: ${rest}.`);
    }
    const service = serviceOf(request);
    if (service !== undefined && service !== 'git-upload-pack' && service !== 'git-receive-pack') {
      return refuse(reply, 400, `Unknown Git service '${String(service)}'.`);
    }
    const row = workspaceOf(request);
    const pushing = gitAccess(request) === 'write';
    if (pushing && row.protected === 1) {
      return refuse(
        reply,
        403,
        `Workspace '${row.name}' is protected: pushes are refused. Promote into it instead (sluice promote SOURCE ${row.repository_name}).`,
      );
    }
    // A push would change it without the approvals its promotions need.
    if (pushing && (row.required_approvals ?? 0) > 0) {
      return refuse(
        reply,
        403,
        `Workspace '${row.name}' requires ${row.required_approvals} approval${row.required_approvals === 1 ? '' : 's'} for changes: pushes are refused. Promote into it instead (sluice promote SOURCE ${row.repository_name}), then have it approved.`,
      );
    }
    reply.hijack();
    // A push may have moved main: the workspace's state is brought up to date before the client's
    // `git push` returns, so its next request, to any server sharing the database, sees the push.
    let refreshed = false;
    const refresh = async (): Promise<readonly string[]> => {
      refreshed = true;
      try {
        const updated = await refreshWorkspaceState(context, row, { mainMoved: true });
        if (updated.checked_commit !== row.checked_commit) {
          await recordChange(context.store, actorOf(principalOf(request)), {
            action: 'git.push',
            workspaceId: row.id,
            subject: 'refs/heads/main',
            before: { commit: row.checked_commit },
            after: { commit: updated.checked_commit },
          });
        }
        // The product page's manual promotion (git pull, then push) shows in History too.
        await recordPushedPromotions(
          context,
          row,
          row.checked_commit,
          updated.checked_commit,
          principalOf(request),
        ).catch((error: unknown) => request.log.error(error));
        return pushMessages(updated);
      } catch (error) {
        if (!(error instanceof SluiceError)) request.log.error(error);
        return [];
      }
    };
    await serveGitHttp(
      {
        method: request.method,
        repoDir: repositoryPath(context, row.repository_name),
        pathInfo: `/${rest}`,
        // The service judged above, not the raw query: git must not read another one than we did.
        query: service === undefined ? '' : `service=${service}`,
        headers: request.headers,
        body: request.raw,
        remoteUser: principalOf(request).name,
        remoteAddr: request.ip,
        beforeEnd: rest === 'git-receive-pack' ? refresh : undefined,
      },
      reply.raw,
    );
    // A push that failed half-way may still have moved main.
    if (rest === 'git-receive-pack' && !refreshed) await refresh();
  };
  app.route({
    method: ['GET', 'POST'],
    url: '/git/:repo/*',
    handler,
    errorHandler: gitErrors,
    schema: { hide: true } as object,
    config: { access: gitAccess, workspace: repository },
  });
}

/**
 * What the pusher reads (as `remote: ...`) when `main` no longer loads: Git accepted the push, so
 * the error, where it is, and what the workspace runs meanwhile.
 */
function pushMessages(row: WorkspaceRow): readonly string[] {
  const { commit, lastGoodCommit, error } = workspaceStatus(row);
  if (!error || error.commit !== commit || commit === null) return [];
  const runs = lastGoodCommit
    ? `keeps running its last good commit ${lastGoodCommit.slice(0, 7)}`
    : 'runs nothing';
  return [
    `error: ${error.message}`,
    `error: The push is accepted, but workspace '${row.name}' ${runs} until main's meltano.yml loads again. Fix it and push.`,
  ];
}
