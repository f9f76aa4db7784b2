import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, git, startTestServer, storeKinds, type TestServer, withToken } from '../helpers/test-server.js';

const kinds = await storeKinds();

interface Workspace {
  readonly id: string;
  readonly name: string;
  readonly repositoryName: string;
  readonly repositoryUrl: string;
}

describe.each(kinds)('who may do what, over the API and Git (%s)', (kind) => {
  let t: TestServer;
  let work: string;
  let teamA: Workspace;
  let teamB: Workspace;
  let n = 0;
  /** A fresh folder name for a clone. */
  const folder = () => join(work, `clone-${++n}`);

  const createWorkspace = async (name: string): Promise<Workspace> => {
    const answer = await api(t.url, t.adminToken, 'POST', '/workspaces', { name });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    return answer.body;
  };
  const createToken = async (body: {
    name: string;
    workspaces: string[] | '*';
    access: 'read' | 'write';
  }) => {
    const answer = await api(t.url, t.adminToken, 'POST', '/tokens', body);
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    return answer.body as {
      id: string;
      name: string;
      token: string;
      workspaces: string[] | '*';
      access: string;
    };
  };
  /** The commit `main` points at on the server, as the admin sees it. */
  const serverMain = async (ws: Workspace) => {
    const answer = await git(work, [
      'ls-remote',
      withToken(ws.repositoryUrl, t.adminToken),
      'refs/heads/main',
    ]);
    expect(answer.code, answer.stderr).toBe(0);
    return answer.stdout.split('\t')[0];
  };

  beforeAll(async () => {
    t = await startTestServer(kind);
    work = mkdtempSync(join(tmpdir(), 'sluice-auth-'));
    teamA = await createWorkspace('Team A');
    teamB = await createWorkspace('Team B');
  });
  afterAll(async () => {
    await t?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('answers the health check without a token', async () => {
    expect(await api(t.url, undefined, 'GET', '/health')).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it('answers every other API route with 401 and an error body when no token is sent', async () => {
    const routes: [string, string, unknown?][] = [
      ['GET', '/workspaces'],
      ['POST', '/workspaces', { name: 'Sneaky' }],
      ['GET', `/workspaces/${teamA.id}`],
      ['PATCH', `/workspaces/${teamA.id}`, { name: 'Sneaky' }],
      ['DELETE', `/workspaces/${teamA.id}`],
      ['GET', `/workspaces/${teamA.id}/environments`],
      ['GET', `/workspaces/${teamA.id}/plugins/tap-x/config`],
      ['GET', '/tokens'],
      ['POST', '/tokens', { name: 'mine', workspaces: '*', access: 'write' }],
      ['DELETE', '/tokens/tok_anything'],
      ['GET', '/openapi.json'],
      ['GET', '/no/such/route'],
      ['POST', '/health/not-really'],
    ];
    for (const [method, path, body] of routes) {
      const answer = await api(t.url, undefined, method, path, body);
      expect(answer.status, `${method} ${path}`).toBe(401);
      expect(answer.body, `${method} ${path}`).toEqual({
        error: {
          code: 'unauthorized',
          message: expect.stringMatching(/needs a token.*Authorization: Bearer/),
          details: {},
        },
      });
    }
    // Nothing was done on the caller's behalf.
    const listed = await api(t.url, t.adminToken, 'GET', '/workspaces');
    expect(listed.body.items.map((w: Workspace) => w.name)).toEqual(['Team A', 'Team B']);
  });

  it('answers 401 to a token the server never issued, and Git refuses it too', async () => {
    const answer = await api(t.url, 'sluice_not-a-real-token', 'GET', '/workspaces');
    expect(answer.status).toBe(401);
    expect(answer.body.error).toEqual({
      code: 'unauthorized',
      message: expect.stringMatching(/not valid/),
      details: {},
    });

    const target = folder();
    const cloned = await git(work, [
      'clone',
      withToken(teamA.repositoryUrl, 'sluice_not-a-real-token'),
      target,
    ]);
    expect(cloned.code).not.toBe(0);
    expect(cloned.stderr).toMatch(/Authentication failed|401/);
    expect(existsSync(target)).toBe(false);
  });

  it('refuses to clone without a token', async () => {
    const target = folder();
    const cloned = await git(work, ['clone', teamA.repositoryUrl, target]);
    expect(cloned.code).not.toBe(0);
    expect(cloned.stderr).toMatch(/could not read Username|Authentication failed|401/);
    expect(existsSync(target)).toBe(false);
  });

  it('hides the workspaces outside a scoped token as if they did not exist', async () => {
    const { token } = await createToken({ name: 'team A only', workspaces: [teamA.id], access: 'write' });

    const listed = await api(t.url, token, 'GET', '/workspaces');
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((w: Workspace) => w.id)).toEqual([teamA.id]);
    expect((await api(t.url, token, 'GET', `/workspaces/${teamA.id}`)).status).toBe(200);

    const missing = await api(t.url, token, 'GET', '/workspaces/ws_doesnotexist');
    for (const ref of [teamB.id, teamB.repositoryName]) {
      for (const [method, body] of [['GET'], ['PATCH', { name: 'Taken over' }], ['DELETE']] as const) {
        const answer = await api(t.url, token, method, `/workspaces/${ref}`, body);
        expect(answer.status, `${method} ${ref}`).toBe(404);
        expect(answer.body.error.code).toBe(missing.body.error.code);
        expect(answer.body.error.message).toBe(
          `No workspace '${ref}'. List yours with \`sluice workspace list\` (GET /api/v1/workspaces).`,
        );
      }
    }
    const b = await api(t.url, t.adminToken, 'GET', `/workspaces/${teamB.id}`);
    expect(b.body.name).toBe('Team B');

    // The scoped token clones its own workspace, and Team B's URL answers 404 like an unknown one.
    const own = await git(work, ['clone', withToken(teamA.repositoryUrl, token), folder()]);
    expect(own.code, own.stderr).toBe(0);
    const target = folder();
    const other = await git(work, ['clone', withToken(teamB.repositoryUrl, token), target]);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toMatch(/not found/);
    expect(existsSync(target)).toBe(false);
  });

  it('keeps workspace creation for tokens with write access to all workspaces', async () => {
    const scoped = await createToken({ name: 'scoped writer', workspaces: [teamA.id], access: 'write' });
    const reader = await createToken({ name: 'global reader', workspaces: '*', access: 'read' });
    for (const token of [scoped.token, reader.token]) {
      const answer = await api(t.url, token, 'POST', '/workspaces', { name: 'Not allowed' });
      expect(answer.status).toBe(403);
      expect(answer.body.error.code).toBe('forbidden');
      expect(answer.body.error.message).toMatch(/read-write token for all workspaces/);
    }
  });

  it('lets a read-only token read and fetch but not change or push', async () => {
    const { token } = await createToken({ name: 'team A reader', workspaces: [teamA.id], access: 'read' });
    const before = await serverMain(teamA);

    const got = await api(t.url, token, 'GET', `/workspaces/${teamA.id}`);
    expect(got.status).toBe(200);
    expect(got.body.name).toBe('Team A');
    expect((await api(t.url, token, 'GET', `/workspaces/${teamA.id}/environments`)).status).toBe(200);
    for (const [method, body] of [
      ['PATCH', { activeEnvironment: 'prod' }],
      ['PATCH', { name: 'Renamed by a reader' }],
      ['DELETE', undefined],
    ] as const) {
      const answer = await api(t.url, token, method, `/workspaces/${teamA.id}`, body);
      expect(answer.status, `${method} ${JSON.stringify(body)}`).toBe(403);
      expect(answer.body.error).toEqual({
        code: 'forbidden',
        message: "This token can read workspace 'Team A' but not change it.",
        details: {},
      });
    }
    const after = await api(t.url, t.adminToken, 'GET', `/workspaces/${teamA.id}`);
    expect(after.body).toMatchObject({ name: 'Team A', activeEnvironment: 'dev' });

    const clone = folder();
    const cloned = await git(work, ['clone', withToken(teamA.repositoryUrl, token), clone]);
    expect(cloned.code, cloned.stderr).toBe(0);
    writeFileSync(join(clone, 'README.md'), 'A change the reader may not push.\n');
    expect((await git(clone, ['add', 'README.md'])).code).toBe(0);
    expect((await git(clone, ['commit', '-m', 'Try to push'])).code).toBe(0);
    const pushed = await git(clone, ['push', 'origin', 'main']);
    expect(pushed.code).not.toBe(0);
    expect(pushed.stderr).toMatch(/403/);
    expect(await serverMain(teamA)).toBe(before);
    // Fetching still works.
    expect((await git(clone, ['fetch', 'origin'])).code).toBe(0);
  });

  it('lets only admin tokens create, list and revoke tokens, and shows a secret only once', async () => {
    const created = await api(t.url, t.adminToken, 'POST', '/tokens', {
      name: 'deploy bot',
      workspaces: [teamB.id],
      access: 'write',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: expect.stringMatching(/^tok_/),
      name: 'deploy bot',
      token: expect.any(String),
      workspaces: [teamB.id],
      access: 'write',
    });
    const everything = await createToken({ name: 'writes everything', workspaces: '*', access: 'write' });
    expect(everything.workspaces).toBe('*');

    for (const token of [created.body.token, everything.token]) {
      for (const [method, path, body] of [
        ['GET', '/tokens'],
        ['POST', '/tokens', { name: 'escalate', workspaces: '*', access: 'write' }],
        ['DELETE', `/tokens/${created.body.id}`],
      ] as const) {
        const answer = await api(t.url, token, method, path, body);
        expect(answer.status, `${method} ${path}`).toBe(403);
        expect(answer.body.error).toEqual({
          code: 'forbidden',
          message: 'This needs an admin token.',
          details: {},
        });
      }
    }

    const listed = await api(t.url, t.adminToken, 'GET', '/tokens');
    expect(listed.status).toBe(200);
    const bot = listed.body.items.find((item: { id: string }) => item.id === created.body.id);
    expect(bot).toMatchObject({ name: 'deploy bot', workspaces: [teamB.id], access: 'write', admin: false });
    // The secret was answered once, at creation; no listing shows it (or its hash).
    expect(JSON.stringify(listed.body)).not.toContain(created.body.token);
    for (const item of listed.body.items)
      expect(Object.keys(item).sort()).toEqual(['access', 'admin', 'createdAt', 'id', 'name', 'workspaces']);
  });

  it('stops honouring a revoked token, over the API and Git', async () => {
    const { id, token } = await createToken({ name: 'short-lived', workspaces: '*', access: 'write' });
    expect((await api(t.url, token, 'GET', `/workspaces/${teamB.id}`)).status).toBe(200);
    const clone = folder();
    expect((await git(work, ['clone', withToken(teamB.repositoryUrl, token), clone])).code).toBe(0);

    expect(await api(t.url, t.adminToken, 'DELETE', `/tokens/${id}`)).toEqual({
      status: 204,
      body: undefined,
    });

    const answer = await api(t.url, token, 'GET', `/workspaces/${teamB.id}`);
    expect(answer.status).toBe(401);
    expect(answer.body.error.message).toMatch(/not valid \(unknown or revoked\)/);
    const fetched = await git(clone, ['fetch', 'origin']);
    expect(fetched.code).not.toBe(0);
    expect(fetched.stderr).toMatch(/Authentication failed|401/);
    const listed = await api(t.url, t.adminToken, 'GET', '/tokens');
    expect(listed.body.items.map((item: { id: string }) => item.id)).not.toContain(id);

    const again = await api(t.url, t.adminToken, 'DELETE', `/tokens/${id}`);
    expect(again.status).toBe(404);
    expect(again.body.error).toEqual({
      code: 'token_not_found',
      message: `No active token '${id}'.`,
      details: { token: id },
    });
  });
});
