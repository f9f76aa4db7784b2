import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SluiceError } from '../../errors.js';
import type { Store } from '../../store/open-store.js';
import { canSee, canWrite } from '../../tokens/principal.js';
import { authenticate } from '../../tokens/token-service.js';
import { repositoryPath, type WorkspaceContext } from '../../workspaces/context.js';
import { isValidRepositoryName } from '../../workspaces/names.js';
import { findWorkspace } from '../../workspaces/workspace-service.js';
import { refreshWorkspaceState } from '../../workspaces/workspace-state.js';
import { tokenFromHeader } from '../auth.js';
import { serveGitHttp } from '../git-http.js';

/** The smart HTTP endpoints Git clients call: `/git/<repository>.git/<one of these>`. */
const GIT_PATHS = ['info/refs', 'git-upload-pack', 'git-receive-pack', 'HEAD'] as const;

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

/**
 * Git smart HTTP for workspace repositories, served by `git http-backend`. Every request needs a
 * token (basic auth, the token as the password); a repository outside the token's scope answers
 * 404 as if it did not exist; pushing needs a read-write token.
 */
export function gitRoutes(app: FastifyInstance, store: Store, context: WorkspaceContext): void {
  // Keep pack streams raw: the handler pipes the request itself to git.
  app.addContentTypeParser(
    ['application/x-git-upload-pack-request', 'application/x-git-receive-pack-request'],
    (_request, _payload, done) => {
      done(null);
    },
  );

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const { repo, '*': rest } = request.params as { repo: string; '*': string };
    const service = (request.query as { service?: string }).service;
    if (!repo.endsWith('.git') || !isValidRepositoryName(repo.slice(0, -4))) {
      return refuse(
        reply,
        400,
        `'${repo}' is not a repository name: use <public url>/git/<repository name>.git.`,
      );
    }
    if (!(GIT_PATHS as readonly string[]).includes(rest)) {
      return refuse(reply, 404, `No such Git endpoint: ${rest}.`);
    }
    const token = tokenFromHeader(request.headers.authorization);
    const principal = token === undefined ? null : await authenticate(store, token);
    if (!principal) {
      return refuse(
        reply,
        401,
        token === undefined
          ? 'Authentication required: use the token as the password.'
          : 'The token is not valid.',
        {
          'www-authenticate': 'Basic realm="Sluice"',
        },
      );
    }
    const name = repo.slice(0, -4);
    const row = await findWorkspace(context, name);
    if (!row || !canSee(principal, row.id)) return refuse(reply, 404, `No repository '${repo}'.`);
    const pushing = rest === 'git-receive-pack' || service === 'git-receive-pack';
    if (pushing && !canWrite(principal, row.id)) {
      return refuse(reply, 403, `This token can read '${repo}' but not push to it.`);
    }
    if (pushing && row.protected === 1) {
      return refuse(
        reply,
        403,
        `Workspace '${row.name}' is protected: pushes are refused. Promote into it instead (sluice promote SOURCE ${row.repository_name}).`,
      );
    }
    if (service !== undefined && service !== 'git-upload-pack' && service !== 'git-receive-pack') {
      return refuse(reply, 400, `Unknown Git service '${service}'.`);
    }
    reply.hijack();
    await serveGitHttp(
      {
        method: request.method,
        repoDir: repositoryPath(context, row.repository_name),
        pathInfo: `/${rest}`,
        query: request.raw.url?.split('?')[1] ?? '',
        headers: request.headers,
        body: request.raw,
        remoteUser: principal.name,
        remoteAddr: request.ip,
      },
      reply.raw,
    );
    if (rest === 'git-receive-pack') {
      // A push may have moved main: look at it now, so the workspace shows the new state at once.
      await refreshWorkspaceState(context, row).catch((error: unknown) => {
        if (!(error instanceof SluiceError)) request.log.error(error);
      });
    }
  };
  app.route({ method: ['GET', 'POST'], url: '/git/:repo/*', handler, schema: { hide: true } as object });
}
