import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleError } from '../../src/server/http-errors.js';
import { installRouteAccess } from '../../src/server/route-access.js';
import { openStore, type Store } from '../../src/store/open-store.js';

/**
 * The declarations themselves: a route that forgets to say who may call it stops the server from
 * starting, so that no route can be left open by omission (the route table test then covers every
 * route the server does start with).
 */
describe('route access declarations', () => {
  let dataDir: string;
  let store: Store;
  let app: FastifyInstance;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sluice-declarations-'));
    store = await openStore({ dataDir });
  });
  afterAll(async () => {
    await store?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  // As buildApp does: the access hooks first, then the routes.
  const appWith = async (add: (app: FastifyInstance) => void) => {
    app = Fastify();
    app.setErrorHandler(handleError);
    installRouteAccess(app, { store, reposDir: join(dataDir, 'repos'), publicUrl: '' });
    add(app);
    await app.ready();
  };

  it('refuses a route without an access declaration', async () => {
    await expect(appWith((a) => a.get('/api/v1/forgotten', async () => 'open'))).rejects.toThrow(
      /Route GET \/api\/v1\/forgotten declares no access/,
    );
  });

  it('refuses an unknown access level', async () => {
    await expect(
      appWith((a) => a.post('/api/v1/typo', { config: { access: 'writ' as 'write' } }, async () => 'open')),
    ).rejects.toThrow(/unknown access level 'writ'/);
  });

  it('refuses a workspace scope whose parameter the path lacks', async () => {
    await expect(
      appWith((a) =>
        a.get('/api/v1/things/:thing', { config: { access: 'read', workspace: 'id' } }, async () => 'x'),
      ),
    ).rejects.toThrow(/parameter 'id', which its path lacks/);
  });

  it('starts with declared routes, and enforces them', async () => {
    await appWith((a) => {
      a.get('/open', { config: { access: 'public' } }, async () => 'open');
      a.get('/closed', { config: { access: 'read' } }, async () => 'closed');
    });
    expect((await app.inject({ url: '/open' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/closed' })).statusCode).toBe(401);
    await app.close();
  });
});
