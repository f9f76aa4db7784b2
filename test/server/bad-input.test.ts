import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestServer, storeKinds, type TestServer } from '../helpers/test-server.js';

const kinds = await storeKinds();

/**
 * A GET sent exactly as written: `fetch` would resolve `..` and `%2e%2e` in the path before sending,
 * and these tests are about what the server does with them.
 */
function rawGet(base: string, path: string, token?: string): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  const headers = token
    ? { authorization: `Basic ${Buffer.from(`sluice:${token}`).toString('base64')}` }
    : {};
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: 'GET', headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

interface Workspace {
  readonly id: string;
  readonly name: string;
  readonly repositoryName: string;
}

describe.each(kinds)('bad input is refused with a 4xx that says what is wrong (%s)', (kind) => {
  let t: TestServer;
  let mine: Workspace;
  let theirs: Workspace;
  /** A token that sees `mine` only. */
  let scoped: string;
  const names = async () =>
    (await api(t.url, t.adminToken, 'GET', '/workspaces')).body.items.map((w: Workspace) => w.name);

  beforeAll(async () => {
    t = await startTestServer(kind);
    mine = (await api(t.url, t.adminToken, 'POST', '/workspaces', { name: 'Mine' })).body;
    theirs = (await api(t.url, t.adminToken, 'POST', '/workspaces', { name: 'Theirs' })).body;
    scoped = (
      await api(t.url, t.adminToken, 'POST', '/tokens', {
        name: 'mine only',
        workspaces: [mine.id],
        access: 'write',
      })
    ).body.token;
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('workspace names', () => {
    const cases: [string, unknown, string, RegExp][] = [
      ['empty', '', 'name_invalid', /The workspace name is empty/],
      ['whitespace only', ' \t  ', 'name_invalid', /The workspace name is empty/],
      [
        'longer than 100 characters',
        'x'.repeat(101),
        'name_invalid',
        /101 characters long; the limit is 100/,
      ],
      ['only punctuation', '!!!', 'name_invalid', /'!!!' has no letter or digit/],
      ['a control character', 'Tab\there', 'name_invalid', /control characters/],
      ['a number', 42, 'validation_failed', /body\/name must be string/],
      ['a boolean', true, 'validation_failed', /body\/name must be string/],
      ['null', null, 'validation_failed', /body\/name must be string/],
      ['a list', ['My Workspace'], 'validation_failed', /body\/name must be string/],
      ['an object', { text: 'My Workspace' }, 'validation_failed', /body\/name must be string/],
    ];

    it.each(cases)(
      'refuses a name that is %s, on create and on rename',
      async (_case, name, code, message) => {
        const created = await api(t.url, t.adminToken, 'POST', '/workspaces', { name });
        expect(created.status).toBe(400);
        expect(created.body.error).toMatchObject({ code, message: expect.stringMatching(message) });

        const renamed = await api(t.url, t.adminToken, 'PATCH', `/workspaces/${mine.id}`, { name });
        expect(renamed.status).toBe(400);
        expect(renamed.body.error).toMatchObject({ code, message: expect.stringMatching(message) });

        expect(await names()).toEqual(['Mine', 'Theirs']);
      },
    );

    it('refuses a create without a name', async () => {
      const answer = await api(t.url, t.adminToken, 'POST', '/workspaces', {});
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatchObject({
        code: 'validation_failed',
        message: "Invalid body: body must have required property 'name'.",
      });
    });

    it('accepts a name of exactly 100 characters, trimmed', async () => {
      const name = `A${'b'.repeat(98)}C`;
      const answer = await api(t.url, t.adminToken, 'POST', '/workspaces', { name: `  ${name}  ` });
      expect(answer.status).toBe(201);
      expect(answer.body.name).toBe(name);
      expect((await api(t.url, t.adminToken, 'DELETE', `/workspaces/${answer.body.id}`)).status).toBe(204);
    });
  });

  it('refuses an active environment the project does not define, listing the ones it does', async () => {
    const answer = await api(t.url, t.adminToken, 'PATCH', `/workspaces/${mine.id}`, {
      activeEnvironment: 'qa',
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('environment_not_found');
    expect(answer.body.error.message).toMatch(
      /^Environment 'qa' .* was not found\. Defined environments: dev, staging, prod\.$/,
    );
    expect(answer.body.error.details).toMatchObject({
      environment: 'qa',
      defined: ['dev', 'staging', 'prod'],
    });

    for (const activeEnvironment of ['', 7]) {
      const wrong = await api(t.url, t.adminToken, 'PATCH', `/workspaces/${mine.id}`, { activeEnvironment });
      expect(wrong.status, JSON.stringify(activeEnvironment)).toBe(400);
      expect(wrong.body.error.message).toMatch(/activeEnvironment/);
    }
    expect((await api(t.url, t.adminToken, 'GET', `/workspaces/${mine.id}`)).body.activeEnvironment).toBe(
      'dev',
    );
  });

  it('refuses a body that is not JSON, or not an object', async () => {
    for (const [method, path] of [
      ['POST', '/workspaces'],
      ['PATCH', `/workspaces/${mine.id}`],
      ['POST', '/tokens'],
    ]) {
      const broken = await api(t.url, t.adminToken, method as string, path as string, undefined, '{"name": ');
      expect(broken.status, `${method} ${path}`).toBe(400);
      expect(broken.body.error).toMatchObject({
        code: 'validation_failed',
        message: expect.stringMatching(/^The request body is not valid JSON .*Send a JSON object\.$/),
      });

      const list = await api(t.url, t.adminToken, method as string, path as string, ['name', 'x']);
      expect(list.status, `${method} ${path}`).toBe(400);
      expect(list.body.error).toMatchObject({
        code: 'validation_failed',
        message: 'Invalid body: body must be object.',
      });
    }
  });

  it('answers 404 for a workspace id that does not exist', async () => {
    for (const [method, suffix, body] of [
      ['GET', ''],
      ['PATCH', '', { name: 'New' }],
      ['DELETE', ''],
      ['GET', '/environments'],
      ['GET', '/plugins/tap-x/config'],
    ] as const) {
      const answer = await api(t.url, t.adminToken, method, `/workspaces/ws_doesnotexist${suffix}`, body);
      expect(answer.status, `${method} ${suffix}`).toBe(404);
      expect(answer.body.error).toEqual({
        code: 'workspace_not_found',
        message:
          "No workspace 'ws_doesnotexist'. List yours with `sluice workspace list` (GET /api/v1/workspaces).",
        details: { workspace: 'ws_doesnotexist' },
      });
    }
  });

  it('refuses a PATCH as a whole: one bad field leaves the others unapplied', async () => {
    const badName = await api(t.url, t.adminToken, 'PATCH', `/workspaces/${mine.id}`, {
      activeEnvironment: 'prod',
      name: '!!!',
    });
    expect(badName.status).toBe(400);
    expect(badName.body.error.code).toBe('name_invalid');
    const badEnvironment = await api(t.url, t.adminToken, 'PATCH', `/workspaces/${mine.id}`, {
      activeEnvironment: 'qa',
      name: 'Renamed',
    });
    expect(badEnvironment.status).toBe(400);
    expect(badEnvironment.body.error.code).toBe('environment_not_found');
    expect((await api(t.url, t.adminToken, 'GET', `/workspaces/${mine.id}`)).body).toMatchObject({
      name: 'Mine',
      repositoryName: mine.repositoryName,
      activeEnvironment: 'dev',
    });
  });

  it('refuses unknown fields in a PATCH, and changes nothing', async () => {
    const cases: Record<string, unknown>[] = [
      { nmae: 'Typo' },
      { name: 'Renamed', owner: 'me' },
      { activeEnvironment: 'prod', repositoryName: 'x' },
    ];
    for (const body of cases) {
      const answer = await api(t.url, t.adminToken, 'PATCH', `/workspaces/${mine.id}`, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error.code).toBe('validation_failed');
      const unknown = Object.keys(body).find((key) => key !== 'name' && key !== 'activeEnvironment');
      expect(answer.body.error.message).toBe(`Invalid body: unknown field '${unknown}'.`);
      expect(answer.body.error.details.issues).toContainEqual(
        expect.objectContaining({ params: { additionalProperty: unknown } }),
      );
    }
    const empty = await api(t.url, t.adminToken, 'PATCH', `/workspaces/${mine.id}`, {});
    expect(empty.status).toBe(400);
    expect(empty.body.error.message).toBe('Invalid body: body must NOT have fewer than 1 properties.');
    expect((await api(t.url, t.adminToken, 'GET', `/workspaces/${mine.id}`)).body).toMatchObject({
      name: 'Mine',
      activeEnvironment: 'dev',
    });
  });

  it('refuses bad token requests', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ name: 'x', workspaces: '*', access: 'admin' }, /access must be equal to one of the allowed values/],
      [{ name: 'x', workspaces: '*' }, /must have required property 'access'/],
      [{ name: 'x', workspaces: 'all', access: 'read' }, /workspaces must match exactly one schema/],
      [
        { name: 'x', workspaces: ['ws_doesnotexist'], access: 'read' },
        /No workspace with id 'ws_doesnotexist'/,
      ],
      [{ name: '   ', workspaces: '*', access: 'read' }, /needs a name of 1 to 100 characters/],
      [{ name: 'x', workspaces: '*', access: 'read', admin: true }, /unknown field 'admin'/],
    ];
    for (const [body, message] of cases) {
      const answer = await api(t.url, t.adminToken, 'POST', '/tokens', body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error).toMatchObject({
        code: 'validation_failed',
        message: expect.stringMatching(message),
      });
    }
  });

  it('refuses paging parameters it did not give out', async () => {
    const cases: [string, RegExp][] = [
      ['?limit=0', /limit must be >= 1/],
      ['?limit=1000', /limit must be <= 200/],
      ['?limit=two', /limit must be integer/],
      ['?cursor=not-a-cursor', /cursor is not one this server gave out/],
      ['?limt=2', /unknown field 'limt'/],
    ];
    for (const [query, message] of cases) {
      const answer = await api(t.url, t.adminToken, 'GET', `/workspaces${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.body.error).toMatchObject({
        code: 'validation_failed',
        message: expect.stringMatching(message),
      });
    }
  });

  describe('Git repository URLs', () => {
    const cases: [string, (repo: string, other: string) => string, number, RegExp][] = [
      [
        'an encoded ../ before the name',
        (_repo, other) => `/git/..%2F${other}.git/info/refs?service=git-upload-pack`,
        400,
        /'\.\.\/.*' is not a repository name/,
      ],
      [
        'a literal ..',
        (_repo, other) => `/git/../${other}.git/info/refs?service=git-upload-pack`,
        400,
        /'\.\.' is not a repository name/,
      ],
      [
        'an encoded ..',
        (_repo, other) => `/git/%2e%2e/${other}.git/info/refs?service=git-upload-pack`,
        400,
        /'\.\.' is not a repository name/,
      ],
      [
        'an encoded slash in the name',
        (repo, other) => `/git/${repo}%2F..%2F${other}.git/info/refs?service=git-upload-pack`,
        400,
        /is not a repository name/,
      ],
      [
        'a name without .git',
        (repo) => `/git/${repo}/info/refs?service=git-upload-pack`,
        400,
        /is not a repository name: use <public url>\/git\/<repository name>\.git/,
      ],
      [
        'a name that is only .git',
        () => '/git/.git/info/refs?service=git-upload-pack',
        400,
        /is not a repository name/,
      ],
      [
        'a path out of the repository',
        (repo) => `/git/${repo}.git/..%2F..%2Fsluice.db`,
        404,
        /No such Git endpoint: \.\.\/\.\.\/sluice\.db/,
      ],
      ['a file of the repository', (repo) => `/git/${repo}.git/config`, 404, /No such Git endpoint: config/],
      [
        'a dumb-protocol object path',
        (repo) => `/git/${repo}.git/objects/info/packs`,
        404,
        /No such Git endpoint/,
      ],
      [
        'an unknown Git service',
        (repo) => `/git/${repo}.git/info/refs?service=git-upload-archive`,
        400,
        /Unknown Git service 'git-upload-archive'/,
      ],
      [
        'the repository of a workspace the token cannot see',
        (_repo, other) => `/git/${other}.git/info/refs?service=git-upload-pack`,
        404,
        /No repository '.*\.git'/,
      ],
      [
        'a repository that does not exist',
        () => '/git/Nothing-here-abcdefg.git/info/refs?service=git-upload-pack',
        404,
        /No repository 'Nothing-here-abcdefg\.git'/,
      ],
    ];

    it.each(cases)('refuses %s', async (_case, path, status, message) => {
      const answer = await rawGet(t.url, path(mine.repositoryName, theirs.repositoryName), scoped);
      expect(answer.status).toBe(status);
      expect(answer.body).toMatch(message);
      expect(answer.body).not.toContain('service=git-upload-pack');
    });

    it('answers a hidden repository exactly like a missing one', async () => {
      const hidden = await rawGet(
        t.url,
        `/git/${theirs.repositoryName}.git/info/refs?service=git-upload-pack`,
        scoped,
      );
      const missing = await rawGet(
        t.url,
        '/git/Missing-abcdefg.git/info/refs?service=git-upload-pack',
        scoped,
      );
      expect(hidden.status).toBe(missing.status);
      expect(hidden.body.replace(theirs.repositoryName, 'X')).toBe(
        missing.body.replace('Missing-abcdefg', 'X'),
      );
      // The same URL is served to a token that may see it.
      expect(
        (
          await rawGet(
            t.url,
            `/git/${theirs.repositoryName}.git/info/refs?service=git-upload-pack`,
            t.adminToken,
          )
        ).status,
      ).toBe(200);
    });
  });

  it('never answers 500, whatever the request', async () => {
    const paths = [
      '/api/v1/workspaces/%zz',
      `/api/v1/workspaces/${'a'.repeat(400)}`,
      '/api/v1/workspaces/..%2F..%2Fetc',
      `/api/v1/workspaces/${mine.id}/plugins/tap-none/config`,
      `/api/v1/workspaces/${mine.id}/plugins/tap-none/config?type=spaceship`,
      `/api/v1/workspaces/${mine.id}/plugins/tap-none/config?environment=`,
      '/api/v1/tokens?cursor=%FF',
      '/git/%zz.git/info/refs',
      `/git/${mine.repositoryName}.git/%zz`,
      `/git/${mine.repositoryName}.git/`,
      `/git/${mine.repositoryName}.git`,
      `/git/${'a'.repeat(400)}.git/info/refs`,
    ];
    for (const path of paths) {
      for (const token of [undefined, t.adminToken]) {
        const answer = await rawGet(t.url, path, token);
        expect(answer.status, `${path} ${token ? 'with' : 'without'} a token`).toBeGreaterThanOrEqual(400);
        expect(answer.status, `${path} ${token ? 'with' : 'without'} a token`).toBeLessThan(500);
      }
    }
  });
});
