import { request } from 'node:http';

export interface RawAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/**
 * Sends one HTTP request with its path exactly as given: `fetch` would normalise `..`, `%61` or
 * `//` before sending, and the attacks this serves are made of such paths.
 */
export function rawRequest(
  base: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<RawAnswer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path, method, headers: options.headers ?? {} },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            contentType: String(response.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The headers of a request that carries `token` as a bearer token (or none). */
export function bearer(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

/** The headers of a Git client that sends `token` as its basic-auth password. */
export function basic(token: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`sluice:${token}`).toString('base64')}` };
}
