import { readFile } from 'node:fs/promises';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { errorBody } from './http-errors.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

/**
 * The built web UI (`dist/web`, made by `npm run build`). Both the CLI bundle (`dist/cli`) and the
 * sources (`src/server`) sit two folders below the package root.
 */
export function webAppDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'web');
}

/**
 * Serves the single-page app at `/`: files under `dist/web` as they are (hashed `assets/` cached
 * for good), and `index.html` for every other path that is not the API or Git, so that the app's
 * own routes survive a reload.
 */
export function webAppRoutes(app: FastifyInstance, root = webAppDir()): void {
  const open = { schema: { hide: true } as object, config: { access: 'public' as const } };
  app.get('/*', open, async (request, reply) => {
    // The router has decoded the path once already: decoding again would read `/%25` as a broken escape.
    const path = (request.params as { '*': string })['*'] ?? '';
    if (path.startsWith('api/') || path.startsWith('git/')) {
      return reply.status(404).send(errorBody('not_found', `No route GET /${path}.`));
    }
    const file = normalize(join(root, path));
    const inside = file.startsWith(root + sep);
    if (inside && extname(file) !== '') {
      try {
        const body = await readFile(file);
        if (path.startsWith('assets/')) reply.header('cache-control', 'public, max-age=31536000, immutable');
        return reply.type(TYPES[extname(file)] ?? 'application/octet-stream').send(body);
      } catch {
        // Not a file of the app: fall through to the app, which shows its own "not found".
      }
    }
    try {
      const html = await readFile(join(root, 'index.html'));
      return reply
        .header('cache-control', 'no-cache')
        .type(TYPES['.html'] as string)
        .send(html);
    } catch {
      return reply
        .status(404)
        .type('text/plain; charset=utf-8')
        .send('The web UI is not built. Run `npm run build`, then reload.');
    }
  });
}
