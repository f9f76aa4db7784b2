import { once } from 'node:events';
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { basename, dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { spawnGit } from '../git/run-git.js';
import { PushAnswer } from './push-messages.js';

/** One smart HTTP request for one repository, already authenticated and authorized by the caller. */
export interface GitHttpRequest {
  readonly method: string;
  /** The bare repository, e.g. `/data/repos/sales.git`. */
  readonly repoDir: string;
  /** What follows the repository in the URL: one of the paths `isGitHttpPath` accepts. */
  readonly pathInfo: string;
  /** The query string without `?` (`service=git-upload-pack`). */
  readonly query: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Readable;
  /** Who is pushing or fetching: git records it as the committer of reflog entries. */
  readonly remoteUser: string;
  readonly remoteAddr?: string;
  /**
   * Called once git has succeeded, before the response ends: a push's client returns only then,
   * so what this records (the workspace's new state) is there for the client's next request.
   * Answers lines the pushing client prints as `remote: ...` (for `git-receive-pack`). Never rejects.
   */
  readonly beforeEnd?: () => Promise<readonly string[]>;
}

const GIT_HTTP_PATHS: ReadonlySet<string> = new Set([
  '/info/refs',
  '/git-upload-pack',
  '/git-receive-pack',
  '/HEAD',
]);

/** True for the paths of the smart HTTP protocol (the dumb protocol's object paths are not served). */
export function isGitHttpPath(pathInfo: string): boolean {
  return GIT_HTTP_PATHS.has(pathInfo);
}

/** More than any header block git writes; a longer one means the output is not CGI. */
const HEADER_LIMIT = 64 * 1024;

/**
 * Answers a Git smart HTTP request by running `git http-backend` as a CGI program: the request
 * body goes to its stdin as it arrives (gzip-encoded bodies included: git decodes them), its
 * header block becomes the response head, and the rest of its output (the pack) is piped to the
 * response untouched, with back-pressure, never buffered or re-compressed. A client that goes away
 * stops git; a git that fails before answering gives a 500, and one that fails mid-stream cuts
 * the response off so that the client sees an error rather than a short pack. Resolves once git
 * has exited (a push has then updated the refs) and `beforeEnd` has run; never rejects.
 */
export function serveGitHttp(request: GitHttpRequest, response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const headers = request.headers;
    const env: Record<string, string> = {
      GIT_PROJECT_ROOT: dirname(request.repoDir),
      PATH_INFO: `/${basename(request.repoDir)}${request.pathInfo}`,
      QUERY_STRING: request.query,
      REQUEST_METHOD: request.method,
      REMOTE_USER: request.remoteUser,
      REMOTE_ADDR: request.remoteAddr ?? '',
      GIT_HTTP_EXPORT_ALL: '1',
    };
    const optional = {
      CONTENT_TYPE: headers['content-type'],
      // Unset (not empty) when the body is chunked: git then reads it to the end.
      CONTENT_LENGTH: headers['content-length'],
      HTTP_CONTENT_ENCODING: headers['content-encoding'],
      // Protocol v2 is asked for in this header; git reads the request from the environment.
      GIT_PROTOCOL: single(headers['git-protocol']),
    };
    for (const [name, value] of Object.entries(optional)) if (value !== undefined) env[name] = value;

    // A process group of its own, so that a disconnect stops upload-pack and pack-objects too.
    const child = spawnGit(['http-backend'], { env, detached: true });
    let settled = false;
    let streaming = false;
    let pending: Buffer = Buffer.alloc(0);
    // A push's answer, which ends with what `beforeEnd` has to tell the pusher.
    const answer = request.beforeEnd ? new PushAnswer() : undefined;

    const stop = () => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch (error) {
        // ESRCH: the group ended between the check and the kill.
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    };
    const fail = () => {
      if (response.writableEnded) return;
      if (response.headersSent) response.destroy();
      else if (!response.destroyed) {
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        response.end('git http-backend failed.\n');
      }
    };
    /** Gives up on the answer: git is stopped and what it still writes is read and dropped. */
    const abandon = () => {
      stop();
      child.stdout.off('data', onHead);
      child.stdout.unpipe();
      answer?.unpipe();
      // Read to the end, so that the pipe reports its close and 'close' below fires.
      child.stdout.resume();
      fail();
    };
    const settle = () => {
      if (settled) return;
      settled = true;
      // Drain what is left of a body git did not read, so that the connection can be reused.
      if (!request.body.readableEnded) {
        request.body.unpipe(child.stdin);
        request.body.resume();
      }
      resolve();
    };

    const onHead = (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      const end = headerEnd(pending);
      if (end === undefined) {
        if (pending.length > HEADER_LIMIT) abandon();
        return;
      }
      child.stdout.pause();
      child.stdout.off('data', onHead);
      const head = parseCgiHead(pending.toString('latin1', 0, end.head));
      if (head === undefined) {
        abandon();
        return;
      }
      try {
        response.writeHead(head.status, head.reason, head.headers);
      } catch (error) {
        // A header value Node refuses (ERR_INVALID_CHAR): not an answer we can pass on.
        if (!(error instanceof TypeError)) throw error;
        abandon();
        return;
      }
      streaming = true;
      const rest = pending.subarray(end.body);
      pending = Buffer.alloc(0);
      // Not `end`: whether the response ends cleanly depends on git's exit status.
      if (answer) {
        answer.write(rest);
        child.stdout.pipe(answer).pipe(response, { end: false });
      } else {
        if (rest.length > 0) response.write(rest);
        child.stdout.pipe(response, { end: false });
      }
    };
    child.stdout.on('data', onHead);
    // http-backend's messages go nowhere: the status it sends already tells the client.
    child.stderr.resume();
    child.stdin.on('error', () => {
      // EPIPE: git stopped reading the body; its exit status says why.
    });
    request.body.pipe(child.stdin);

    response.on('close', () => {
      if (!response.writableFinished) abandon();
    });
    // A body cut off by the client never ends git's stdin: git would wait for it forever.
    request.body.on('close', () => {
      if (!request.body.readableEnded) abandon();
    });
    // The client may have gone before we were called: then no 'close' is coming.
    if (response.destroyed || (request.body.destroyed && !request.body.readableEnded)) abandon();
    child.on('error', () => {
      fail();
      settle();
    });
    child.on('close', (exitCode) => {
      if (streaming && exitCode === 0) {
        const end = (tail?: Buffer) => {
          if (!response.destroyed) response.end(tail);
          settle();
        };
        const { beforeEnd } = request;
        if (answer && beforeEnd && !response.destroyed) {
          // Every byte of git's answer but the held ones has reached the response first.
          const passed = answer.readableEnded ? Promise.resolve() : once(answer, 'end');
          void passed
            .then(() => beforeEnd())
            .then(
              (lines) => end(answer.ending(lines)),
              () => end(answer.ending([])),
            );
        } else end();
        return;
      }
      if (!response.writableEnded) fail();
      settle();
    });
  });
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Where the CGI header block ends (`head`) and the body starts (`body`); lines end in CRLF or LF. */
function headerEnd(buffer: Buffer): { head: number; body: number } | undefined {
  const crlf = buffer.indexOf('\r\n\r\n');
  const lf = buffer.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { head: crlf, body: crlf + 4 };
  if (lf >= 0) return { head: lf, body: lf + 2 };
  return undefined;
}

/** A CGI header block: `Status: 404 Not Found` gives the status (200 without one), the rest are headers. */
function parseCgiHead(
  block: string,
): { status: number; reason: string | undefined; headers: OutgoingHttpHeaders } | undefined {
  let status = 200;
  let reason: string | undefined;
  const headers: Record<string, string | string[]> = {};
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') {
      const match = /^(\d{3})(?:\s+(.*))?$/.exec(value);
      if (!match) return undefined;
      status = Number(match[1]);
      reason = match[2];
      continue;
    }
    const key = name.toLowerCase();
    const earlier = headers[key];
    headers[key] = earlier === undefined ? value : [...(Array.isArray(earlier) ? earlier : [earlier]), value];
  }
  return { status, reason, headers };
}
