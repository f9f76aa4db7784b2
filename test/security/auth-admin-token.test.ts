import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/server/serve.js';
import { api, createTestDatabase, git, storeKinds, withToken } from '../helpers/test-server.js';

const kinds = await storeKinds();
const BIN = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));

/** An admin token an operator could choose: long and random. */
const strongToken = () => `admin-${randomBytes(24).toString('hex')}`;

describe.each(kinds)('the admin token (%s)', (kind) => {
  let dataDir: string;
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  const running: RunningServer[] = [];

  /** A real server on this data folder (and database), as `sluice serve` starts it. */
  const start = async (adminToken: string | undefined) => {
    const server = await startServer({
      host: '127.0.0.1',
      port: 0,
      dataDir,
      databaseUrl: database?.url,
      adminToken,
      schedulerTickMs: 24 * 3600 * 1000,
    });
    running.push(server);
    return server;
  };
  const stop = async (server: RunningServer) => {
    running.splice(running.indexOf(server), 1);
    await server.close();
  };

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sluice-admin-token-'));
    database = kind === 'postgres' ? await createTestDatabase() : undefined;
  });
  afterEach(async () => {
    for (const server of running.splice(0)) await server.close();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stops honouring the old SLUICE_ADMIN_TOKEN once the server restarts with a new one', async () => {
    const oldToken = strongToken();
    const newToken = strongToken();
    let server = await start(oldToken);
    const ws = (await api(server.url, oldToken, 'POST', '/workspaces', { name: 'Rotated' })).body;
    expect(ws.id).toEqual(expect.any(String));
    await stop(server);

    server = await start(newToken);
    const refused = await api(server.url, oldToken, 'GET', '/workspaces');
    expect(refused.status).toBe(401);
    expect(
      (await api(server.url, oldToken, 'POST', '/tokens', { name: 'x', workspaces: '*', access: 'write' }))
        .status,
    ).toBe(401);
    const cloned = await git(dataDir, [
      'clone',
      withToken(ws.repositoryUrl.replace(/^http:\/\/[^/]+/, server.url), oldToken),
      join(dataDir, 'clone'),
    ]);
    expect(cloned.code).not.toBe(0);
    expect(existsSync(join(dataDir, 'clone'))).toBe(false);

    const listed = await api(server.url, newToken, 'GET', '/tokens');
    expect(listed.status).toBe(200);
    expect(listed.body.items.filter((item: { admin: boolean }) => item.admin)).toHaveLength(1);
    expect((await api(server.url, newToken, 'GET', `/workspaces/${ws.id}`)).body.name).toBe('Rotated');
    await stop(server);

    // Rotating back works the same way.
    server = await start(oldToken);
    expect((await api(server.url, oldToken, 'GET', '/workspaces')).status).toBe(200);
    expect((await api(server.url, newToken, 'GET', '/workspaces')).status).toBe(401);
  });

  it('revokes the token a first start generated once SLUICE_ADMIN_TOKEN is set', async () => {
    let server = await start(undefined);
    const generated = server.createdAdminToken;
    expect(generated?.token).toEqual(expect.any(String));
    expect((await api(server.url, generated?.token, 'GET', '/workspaces')).status).toBe(200);
    await stop(server);

    const fixed = strongToken();
    server = await start(fixed);
    expect((await api(server.url, generated?.token, 'GET', '/workspaces')).status).toBe(401);
    expect((await api(server.url, fixed, 'GET', '/workspaces')).status).toBe(200);
    // The file that held it is gone, so that the local CLI does not pick a revoked token.
    expect(existsSync(join(dataDir, 'admin-token'))).toBe(false);
  });

  it('keeps the same SLUICE_ADMIN_TOKEN valid across restarts', async () => {
    const token = strongToken();
    await stop(await start(token));
    const server = await start(token);
    expect((await api(server.url, token, 'GET', '/workspaces')).status).toBe(200);
  });

  it.each([
    ['one character', 'x'],
    ['31 characters', 'a'.repeat(31)],
    ['a space', `${'a'.repeat(20)} ${'b'.repeat(20)}`],
  ])('refuses to start with an admin token of %s, saying why', async (_case, token) => {
    const error = await start(token).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      code: 'admin_token_invalid',
      message: expect.stringMatching(/SLUICE_ADMIN_TOKEN/),
    });
    if (token.length > 1) expect((error as Error).message).not.toContain(token);
  });

  it('starts with an admin token of exactly 32 characters', async () => {
    const token = randomBytes(16).toString('hex');
    expect(token).toHaveLength(32);
    const server = await start(token);
    expect((await api(server.url, token, 'GET', '/workspaces')).status).toBe(200);
  });
});

describe('`sluice serve` with a short SLUICE_ADMIN_TOKEN', () => {
  it('exits at once with an error that says how long the token must be', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sluice-admin-token-cli-'));
    try {
      // A server that started anyway would run until the timeout, and the test would fail.
      const result = spawnSync(process.execPath, [BIN, 'serve', '--host', '127.0.0.1', '--port', '0'], {
        env: { PATH: process.env.PATH ?? '', SLUICE_DATA_DIR: dataDir, SLUICE_ADMIN_TOKEN: 'x' },
        encoding: 'utf8',
        timeout: 15_000,
      });
      expect(result.status).not.toBe(0);
      expect(result.status).not.toBeNull();
      expect(result.stderr).toMatch(/SLUICE_ADMIN_TOKEN is 1 character long; it needs at least 32/);
      expect(result.stderr).not.toContain('    at ');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
