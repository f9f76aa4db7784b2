import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, rawRequest } from '../helpers/raw-http.js';
import {
  api,
  GIT_ENV,
  git,
  issueToken,
  startTestServer,
  storeKinds,
  type TestServer,
  withToken,
} from '../helpers/test-server.js';

const kinds = await storeKinds();

interface Workspace {
  readonly id: string;
  readonly name: string;
  readonly repositoryName: string;
  readonly repositoryUrl: string;
  readonly activeEnvironment: string;
  readonly protected: boolean;
}

/** Runs git with `input` on stdin and answers its stdout as bytes (a pack is binary). */
function gitBytes(cwd: string, args: readonly string[], input: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', [...args], { cwd, env: GIT_ENV });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`git ${args[0]} exited ${code}`)),
    );
    child.stdin.end(input);
  });
}

/** One pkt-line of the Git protocol: four hex digits of length (themselves included), then the data. */
function pktLine(data: string): string {
  return (data.length + 4).toString(16).padStart(4, '0') + data;
}

describe.each(kinds)('attacks on authorization (%s)', (kind) => {
  let t: TestServer;
  let work: string;
  let n = 0;
  const folder = () => join(work, `dir-${++n}`);

  const admin = (method: string, path: string, body?: unknown) =>
    api(t.url, t.adminToken, method, path, body);
  const createWorkspace = async (name: string): Promise<Workspace> => {
    const answer = await admin('POST', '/workspaces', { name });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    return answer.body;
  };
  const createToken = (name: string, workspaces: string[] | '*', access: 'read' | 'write') =>
    issueToken(t.url, t.adminToken, { name, workspaces, access });
  /** `main` on the server, read by the admin over Git. */
  const serverMain = async (ws: Workspace) => {
    const answer = await git(work, [
      'ls-remote',
      withToken(ws.repositoryUrl, t.adminToken),
      'refs/heads/main',
    ]);
    expect(answer.code, answer.stderr).toBe(0);
    return answer.stdout.split('\t')[0];
  };
  const clones = async (ws: Workspace) => {
    const target = folder();
    const answer = await git(work, ['clone', '--quiet', withToken(ws.repositoryUrl, t.adminToken), target]);
    return answer.code === 0 && existsSync(join(target, 'meltano.yml'));
  };

  beforeAll(async () => {
    t = await startTestServer(kind);
    work = mkdtempSync(join(tmpdir(), 'sluice-auth-attacks-'));
  });
  afterAll(async () => {
    await t?.close();
    rmSync(work, { recursive: true, force: true });
  });

  describe('a protected workspace, attacked by a non-admin write token', () => {
    let everywhere: string;
    beforeAll(async () => {
      everywhere = await createToken('writer of everything', '*', 'write');
    });

    /** A fresh protected workspace running prod, and a write token scoped to it: one per test. */
    const protectedWorkspace = async (name: string) => {
      const created = await createWorkspace(name);
      const patched = await admin('PATCH', `/workspaces/${created.id}`, {
        protected: true,
        activeEnvironment: 'prod',
      });
      expect(patched.status, JSON.stringify(patched.body)).toBe(200);
      const scoped = await createToken(`${name} writer`, [created.id], 'write');
      return { ws: patched.body as Workspace, scoped };
    };

    it('cannot delete it: 403, and the workspace and its repository are still there and clone', async () => {
      const { ws, scoped } = await protectedWorkspace('Prod To Delete');
      for (const token of [scoped, everywhere]) {
        const answer = await api(t.url, token, 'DELETE', `/workspaces/${ws.id}`);
        expect(answer.status).toBe(403);
        expect(answer.body.error).toMatchObject({
          code: 'forbidden',
          message: expect.stringMatching(/admin/),
        });
      }
      expect((await admin('GET', `/workspaces/${ws.id}`)).status).toBe(200);
      expect(existsSync(join(t.dataDir, 'repos', `${ws.repositoryName}.git`))).toBe(true);
      expect(await clones(ws)).toBe(true);
    });

    it('cannot rename it: 403, and its name and clone URL stay', async () => {
      const { ws, scoped } = await protectedWorkspace('Prod To Rename');
      for (const token of [scoped, everywhere]) {
        const answer = await api(t.url, token, 'PATCH', `/workspaces/${ws.id}`, { name: 'Hijacked' });
        expect(answer.status).toBe(403);
      }
      const after = (await admin('GET', `/workspaces/${ws.id}`)).body;
      expect(after).toMatchObject({ name: 'Prod To Rename', repositoryName: ws.repositoryName });
      expect(await clones(ws)).toBe(true);
    });

    it('cannot unprotect it', async () => {
      const { ws, scoped } = await protectedWorkspace('Prod To Unprotect');
      for (const token of [scoped, everywhere]) {
        const answer = await api(t.url, token, 'PATCH', `/workspaces/${ws.id}`, { protected: false });
        expect(answer.status).toBe(403);
      }
      expect((await admin('GET', `/workspaces/${ws.id}`)).body.protected).toBe(true);
    });

    it('cannot switch the environment it runs in, nor the keys promotions leave alone; may switch its schedules', async () => {
      const { ws, scoped } = await protectedWorkspace('Prod To Repoint');
      for (const body of [{ activeEnvironment: 'dev' }, { ownedKeys: [] }]) {
        const answer = await api(t.url, scoped, 'PATCH', `/workspaces/${ws.id}`, body);
        expect(answer.status, JSON.stringify(body)).toBe(403);
      }
      const after = (await admin('GET', `/workspaces/${ws.id}`)).body;
      expect(after).toMatchObject({
        activeEnvironment: 'prod',
        ownedKeys: ['project_id', 'default_environment'],
      });
      const schedules = await api(t.url, scoped, 'PATCH', `/workspaces/${ws.id}`, {
        schedulesEnabled: false,
      });
      expect(schedules.status).toBe(200);
      expect(schedules.body.schedulesEnabled).toBe(false);
    });

    it('leaves deleting it to an admin', async () => {
      const { ws } = await protectedWorkspace('Prod Deleted By An Admin');
      expect((await admin('DELETE', `/workspaces/${ws.id}`)).status).toBe(204);
      expect(existsSync(join(t.dataDir, 'repos', `${ws.repositoryName}.git`))).toBe(false);
    });
  });

  describe('paths that spell the API another way, without a token', () => {
    let ws: Workspace;
    beforeAll(async () => {
      ws = await createWorkspace('Encoded Target');
    });

    it('never answer API data, and never change anything', async () => {
      const reads = [
        '/%61pi/v1/openapi.json',
        '/api/v1/%6fpenapi.json',
        '/%61%70%69/v1/workspaces',
        `/%61pi/v1/workspaces/${ws.id}`,
        `/api/v1/workspaces/%${ws.id.charCodeAt(0).toString(16)}${ws.id.slice(1)}`,
        `/%61pi/v1/workspaces/${ws.id}/configuration`,
        '/api%2Fv1/openapi.json',
        '/api%2fv1%2fworkspaces',
        '//api/v1/openapi.json',
        '//api/v1/workspaces',
        '/API/v1/openapi.json',
        '/Api/V1/workspaces',
        '/api/v1/openapi.json/',
        '/api/v1/workspaces/',
        `/api/v1/workspaces/${ws.id}/`,
        '/api/v1/x/../openapi.json',
        '/api/v1/./openapi.json',
        '/api/v1/health/../openapi.json',
        '/api/v1/health/..%2Fopenapi.json',
        '/api/v1/health%2F..%2Fopenapi.json',
        '/x/../api/v1/openapi.json',
        '/%2e%2e/api/v1/openapi.json',
        '/api/v1//workspaces',
        '/api/v1/openapi.json;/api/v1/health',
        '/api/v1/openapi.json%3F/api/v1/health',
      ];
      for (const path of reads) {
        const answer = await rawRequest(t.url, 'GET', path);
        // A refusal, or the web UI's page (public, and made of static files): never the API.
        const ui = answer.contentType.startsWith('text/html') || answer.contentType.startsWith('text/plain');
        expect([401, 404].includes(answer.status) || ui, `${path}: ${answer.status}`).toBe(true);
        expect(answer.body, path).not.toContain('"openapi"');
        expect(answer.body, path).not.toContain(ws.id);
        expect(answer.body, path).not.toContain('Encoded Target');
      }
      expect((await rawRequest(t.url, 'GET', '/%61pi/v1/openapi.json')).status).toBe(401);

      const writes: [string, string, unknown?][] = [
        ['POST', '/%61pi/v1/workspaces', { name: 'Made through an encoding' }],
        ['POST', '//api/v1/workspaces', { name: 'Made through a double slash' }],
        ['PATCH', `/%61pi/v1/workspaces/${ws.id}`, { name: 'Renamed through an encoding' }],
        ['DELETE', `/%61pi/v1/workspaces/${ws.id}`],
        ['DELETE', `/api/v1/workspaces/${ws.id}/`],
        ['POST', '/%61pi/v1/tokens', { name: 'mine', workspaces: '*', access: 'write' }],
      ];
      for (const [method, path, body] of writes) {
        const answer = await rawRequest(t.url, method, path, {
          headers: body === undefined ? {} : { 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        expect([401, 404], `${method} ${path}: ${answer.status}`).toContain(answer.status);
      }
      const after = await admin('GET', `/workspaces/${ws.id}`);
      expect(after.body.name).toBe('Encoded Target');
      const names = (await admin('GET', '/workspaces?limit=200')).body.items.map((w: Workspace) => w.name);
      expect(names.filter((name: string) => name.startsWith('Made through'))).toEqual([]);
      const tokens = (await admin('GET', '/tokens?limit=200')).body.items.map(
        (k: { name: string }) => k.name,
      );
      expect(tokens).not.toContain('mine');
    });

    it('still answer the health check and the web UI without a token', async () => {
      expect(await api(t.url, undefined, 'GET', '/health')).toEqual({ status: 200, body: { status: 'ok' } });
      const page = await rawRequest(t.url, 'GET', '/workspaces');
      expect(page.status === 200 || page.body.includes('web UI is not built')).toBe(true);
      expect(page.contentType).toMatch(/^text\/(html|plain)/);
    });
  });

  describe('a read-only token scoped to its workspace', () => {
    let ws: Workspace;
    let source: Workspace;
    let reader: string;

    beforeAll(async () => {
      ws = await createWorkspace('Read Target');
      source = await createWorkspace('Read Source');
      // The reader sees both, so that nothing but its access level stands in the way.
      reader = await createToken('reader', [ws.id, source.id], 'read');
      expect(
        (await admin('PUT', `/workspaces/${ws.id}/state/kept`, { singer_state: { at: 1 } })).status,
      ).toBe(200);
      expect((await admin('PUT', `/workspaces/${ws.id}/secrets/KEPT`, { value: 'kept value' })).status).toBe(
        200,
      );
      const clone = folder();
      await git(work, ['clone', '--quiet', withToken(source.repositoryUrl, t.adminToken), clone]);
      writeFileSync(join(clone, 'model.sql'), 'select 1\n');
      await git(clone, ['add', '.']);
      await git(clone, ['commit', '-m', 'A change to promote']);
      expect((await git(clone, ['push', 'origin', 'main'])).code).toBe(0);
    });

    it('cannot start a run: 403, and no run exists', async () => {
      const answer = await api(t.url, reader, 'POST', `/workspaces/${ws.id}/runs`, { blocks: ['tap-x'] });
      expect(answer.status).toBe(403);
      expect((await admin('GET', `/workspaces/${ws.id}/runs`)).body.items).toEqual([]);
    });

    it('cannot apply a promotion: 403, and main has not moved', async () => {
      const before = await serverMain(ws);
      const answer = await api(t.url, reader, 'POST', `/workspaces/${ws.id}/promotions`, {
        source: source.id,
      });
      expect(answer.status).toBe(403);
      expect(await serverMain(ws)).toBe(before);
      expect((await admin('GET', `/workspaces/${ws.id}/promotions`)).body.items).toEqual([]);
    });

    it('may preview a promotion, with GET, and nothing changes', async () => {
      const before = await serverMain(ws);
      const preview = await api(
        t.url,
        reader,
        'GET',
        `/workspaces/${ws.id}/promotions/preview?source=${source.id}`,
      );
      expect(preview.status, JSON.stringify(preview.body)).toBe(200);
      expect(preview.body.files.map((f: { path: string }) => f.path)).toContain('model.sql');
      expect(await serverMain(ws)).toBe(before);
    });

    it('cannot write, clear or copy state: 403, and the state is as it was', async () => {
      const before = (await admin('GET', `/workspaces/${ws.id}/state/kept`)).body;
      const attempts: [string, string, unknown?][] = [
        ['PUT', '/state/kept', { singer_state: { at: 666 } }],
        ['PUT', '/state/new', { singer_state: { at: 666 } }],
        ['DELETE', '/state/kept'],
        ['POST', '/state/kept/copy', { to: 'copied' }],
      ];
      for (const [method, path, body] of attempts) {
        const answer = await api(t.url, reader, method, `/workspaces/${ws.id}${path}`, body);
        expect(answer.status, `${method} ${path}`).toBe(403);
      }
      expect((await admin('GET', `/workspaces/${ws.id}/state/kept`)).body).toEqual(before);
      const ids = (await admin('GET', `/workspaces/${ws.id}/state`)).body.items.map(
        (s: { stateId: string }) => s.stateId,
      );
      expect(ids).toEqual(['kept']);
    });

    it('cannot set or unset a secret: 403, and the secrets are as they were', async () => {
      const before = (await admin('GET', `/workspaces/${ws.id}/secrets`)).body;
      for (const [method, path, body] of [
        ['PUT', '/secrets/KEPT', { value: 'replaced' }],
        ['PUT', '/secrets/NEW', { value: 'planted' }],
        ['DELETE', '/secrets/KEPT'],
      ] as const) {
        const answer = await api(t.url, reader, method, `/workspaces/${ws.id}${path}`, body);
        expect(answer.status, `${method} ${path}`).toBe(403);
      }
      expect((await admin('GET', `/workspaces/${ws.id}/secrets`)).body).toEqual(before);
    });
  });

  describe('Git pushes with a read-only token', () => {
    let ws: Workspace;
    let reader: string;
    let writer: string;
    let clone: string;
    let old: string;
    let next: string;
    let pushBody: Buffer;

    beforeAll(async () => {
      ws = await createWorkspace('Push Target');
      reader = await createToken('push reader', [ws.id], 'read');
      writer = await createToken('push writer', [ws.id], 'write');
      clone = folder();
      await git(work, ['clone', '--quiet', withToken(ws.repositoryUrl, t.adminToken), clone]);
      writeFileSync(join(clone, 'pushed.txt'), 'pushed by hand\n');
      await git(clone, ['add', '.']);
      await git(clone, ['commit', '-m', 'Pushed by hand']);
      old = (await git(clone, ['rev-parse', 'origin/main'])).stdout.trim();
      next = (await git(clone, ['rev-parse', 'HEAD'])).stdout.trim();
      // What `git push` sends: the ref update as a pkt-line, a flush, then the pack.
      const pack = await gitBytes(
        clone,
        ['pack-objects', '--stdout', '--revs', '--quiet'],
        `${next}\n^${old}\n`,
      );
      pushBody = Buffer.concat([
        Buffer.from(`${pktLine(`${old} ${next} refs/heads/main\0 report-status\n`)}0000`),
        pack,
      ]);
    });

    it('refuses `git push`, and main stays', async () => {
      const pushed = await git(clone, ['push', withToken(ws.repositoryUrl, reader), 'HEAD:main']);
      expect(pushed.code).not.toBe(0);
      expect(pushed.stderr).toMatch(/403/);
      expect(await serverMain(ws)).toBe(old);
    });

    it('refuses a raw receive-pack POST whatever its query says, and main stays', async () => {
      const repo = `/git/${ws.repositoryName}.git`;
      for (const path of [
        `${repo}/git-receive-pack`,
        `${repo}/git-receive-pack?service=git-upload-pack`,
        `${repo}/git%2Dreceive-pack`,
        `${repo}/git-receive-pack?service=git-upload-pack&service=git-upload-pack`,
      ]) {
        const answer = await rawRequest(t.url, 'POST', path, {
          headers: { ...basic(reader), 'content-type': 'application/x-git-receive-pack-request' },
          body: pushBody,
        });
        expect(answer.status, path).toBe(403);
      }
      expect(await serverMain(ws)).toBe(old);
      for (const query of ['service=git-receive-pack', 'service=git%2Dreceive-pack']) {
        const answer = await rawRequest(t.url, 'GET', `${repo}/info/refs?${query}`, {
          headers: basic(reader),
        });
        expect(answer.status, query).toBe(403);
      }
      // The same request with a write token is a real push: the refusal above was the token's.
      const answer = await rawRequest(t.url, 'POST', `${repo}/git-receive-pack`, {
        headers: { ...basic(writer), 'content-type': 'application/x-git-receive-pack-request' },
        body: pushBody,
      });
      expect(answer.status).toBe(200);
      expect(answer.body).toContain('ok refs/heads/main');
      expect(await serverMain(ws)).toBe(next);
    });

    it('still lets the read-only token fetch', async () => {
      const fetched = await git(work, ['clone', '--quiet', withToken(ws.repositoryUrl, reader), folder()]);
      expect(fetched.code, fetched.stderr).toBe(0);
      const refs = await rawRequest(
        t.url,
        'GET',
        `/git/${ws.repositoryName}.git/info/refs?service=git-upload-pack`,
        {
          headers: basic(reader),
        },
      );
      expect(refs.status).toBe(200);
    });
  });

  describe('a PATCH refused with 400', () => {
    let ws: Workspace;
    let writer: string;
    beforeAll(async () => {
      ws = await createWorkspace('Patch Target');
      writer = await createToken('patch writer', [ws.id], 'write');
    });

    it.each([
      ['a valid name, an unknown environment', { name: 'Saved Anyway', activeEnvironment: 'nowhere' }],
      ['a valid environment, invalid owned keys', { activeEnvironment: 'prod', ownedKeys: ['not a key!'] }],
      ['schedules on, invalid owned keys', { schedulesEnabled: true, ownedKeys: ['1x'] }],
      ['a valid environment, an empty name', { activeEnvironment: 'staging', name: '   ' }],
      ['owned keys, an unknown environment', { ownedKeys: ['project_id'], activeEnvironment: 'nowhere' }],
    ])('saves none of its fields: %s', async (_case, body) => {
      const before = (await admin('GET', `/workspaces/${ws.id}`)).body;
      const answer = await api(t.url, writer, 'PATCH', `/workspaces/${ws.id}`, body);
      expect(answer.status, JSON.stringify(answer.body)).toBe(400);
      // Name, repository name, environment, keys, schedules and updatedAt: all as they were.
      expect((await admin('GET', `/workspaces/${ws.id}`)).body).toEqual(before);
    });

    it('saves all of them when every field is valid', async () => {
      const answer = await api(t.url, writer, 'PATCH', `/workspaces/${ws.id}`, {
        name: 'Patched',
        activeEnvironment: 'staging',
        schedulesEnabled: true,
        ownedKeys: ['project_id'],
      });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      const after = (await admin('GET', `/workspaces/${ws.id}`)).body;
      expect(after).toMatchObject({
        name: 'Patched',
        activeEnvironment: 'staging',
        schedulesEnabled: true,
        ownedKeys: ['project_id'],
      });
      expect(await clones(after)).toBe(true);
    });
  });
});
