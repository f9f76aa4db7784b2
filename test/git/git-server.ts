import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { isGitHttpPath, serveGitHttp } from '../../src/server/git-http.js';

export interface GitServer {
  /** `http://127.0.0.1:PORT/git` */
  readonly base: string;
  /** One promise per request handed to `serveGitHttp`, in arrival order. */
  readonly served: Promise<void>[];
  close(): Promise<void>;
}

/**
 * A plain `node:http` server on a random loopback port that serves the bare repositories in
 * `root` at `/git/<name>.git/...` through `serveGitHttp`, without authentication.
 */
export async function startGitServer(root: string): Promise<GitServer> {
  const served: Promise<void>[] = [];
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const match = /^\/git\/([A-Za-z0-9_-]+\.git)(\/.*)$/.exec(url.pathname);
    if (!match?.[1] || !match[2] || !isGitHttpPath(match[2])) {
      response.writeHead(404).end('not found\n');
      return;
    }
    served.push(
      serveGitHttp(
        {
          method: request.method ?? 'GET',
          repoDir: join(root, match[1]),
          pathInfo: match[2],
          query: url.search.slice(1),
          headers: request.headers,
          body: request,
          remoteUser: 'alice',
          remoteAddr: request.socket.remoteAddress,
        },
        response,
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}/git`,
    served,
    close: () =>
      new Promise((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
