import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestServer, storeKinds, type TestServer } from '../helpers/test-server.js';

const kinds = await storeKinds();

const BIN = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));
const run = promisify(execFile);

interface CliResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A port nothing listens on: taken from the OS, then let go. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Expects a failed run: exit status 1, one `error: ...` line, no stack trace, nothing on stdout. */
function expectUserError(result: CliResult, message: RegExp): void {
  expect(result.status, result.stderr).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^error: .*\n$/);
  expect(result.stderr).toMatch(message);
  expect(result.stderr).not.toMatch(/\n\s+at |internal error/);
}

describe.each(kinds)('the sluice CLI against a real server (%s)', (kind) => {
  let t: TestServer;
  let cwd: string;

  /**
   * Runs the built `sluice` (bin/sluice.js) asynchronously: the server runs in this process, so
   * a blocking spawn would stop it from answering. Only PATH and the given variables are set.
   */
  const sluice = async (
    args: readonly string[],
    env: Readonly<Record<string, string>> = {},
  ): Promise<CliResult> => {
    try {
      const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
        cwd,
        env: { PATH: process.env.PATH ?? '', XDG_CACHE_HOME: join(cwd, '.cache'), ...env },
      });
      return { status: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code?: unknown; stdout?: string; stderr?: string };
      return {
        status: typeof e.code === 'number' ? e.code : -1,
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? '',
      };
    }
  };
  /** The connection flags for the admin. */
  const admin = () => ['--url', t.url, '--token', t.adminToken];
  const succeed = async (args: readonly string[], env: Readonly<Record<string, string>> = {}) => {
    const result = await sluice(args, env);
    expect(result.status, result.stderr).toBe(0);
    return result;
  };

  beforeAll(async () => {
    t = await startTestServer(kind);
    // No .sluice/admin-token here, so no token is picked up unless one is given.
    cwd = mkdtempSync(join(tmpdir(), 'sluice-cli-client-'));
  });
  afterAll(async () => {
    await t?.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('creates, lists, shows, sets and deletes workspaces', async () => {
    const created = await succeed(['workspace', 'create', 'Marketing (dev)', ...admin()]);
    const id = /^id: +(ws_\w+)$/m.exec(created.stdout)?.[1] as string;
    expect(id).toBeDefined();
    const repositoryUrl = /^repository: +(\S+)$/m.exec(created.stdout)?.[1] as string;
    expect(repositoryUrl).toMatch(new RegExp(`^${t.url}/git/Marketing-dev-[a-z]{7}\\.git$`));
    expect(created.stdout).toBe(
      [
        `id:                 ${id}`,
        'name:               Marketing (dev)',
        'active environment: dev',
        'upstream:           (none)',
        `repository:         ${repositoryUrl}`,
        `clone:              git clone ${repositoryUrl}`,
        '',
      ].join('\n'),
    );

    const json = await succeed(['workspace', 'create', 'Marketing', '--format', 'json', ...admin()]);
    const prod = JSON.parse(json.stdout);
    expect(prod).toMatchObject({
      id: expect.stringMatching(/^ws_/),
      name: 'Marketing',
      activeEnvironment: 'dev',
    });

    const [listed, listedAsJson] = await Promise.all([
      succeed(['workspace', 'list', ...admin()]),
      succeed(['workspace', 'list', '--format', 'json', ...admin()]),
    ]);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +NAME +ENVIRONMENT +REPOSITORY$/);
    expect(lines[1]).toMatch(/^-+ +-+ +-+ +-+$/);
    expect(lines.slice(2)).toEqual([
      expect.stringMatching(new RegExp(`^${id} +Marketing \\(dev\\) +dev +${repositoryUrl}$`)),
      expect.stringMatching(new RegExp(`^${prod.id} +Marketing +dev +${prod.repositoryUrl}$`)),
    ]);
    const listedJson = JSON.parse(listedAsJson.stdout);
    expect(listedJson.map((w: { id: string }) => w.id)).toEqual([id, prod.id]);

    const repositoryName = repositoryUrl.replace(/^.*\/git\/(.*)\.git$/, '$1');
    const shown = await Promise.all(
      [id, repositoryName].map((ref) => succeed(['workspace', 'show', ref, ...admin()])),
    );
    for (const result of shown) expect(result.stdout).toBe(created.stdout);

    const set = await succeed(['workspace', 'set', prod.id, '--active-environment', 'prod', ...admin()]);
    expect(set.stdout).toContain('active environment: prod\n');
    expect((await api(t.url, t.adminToken, 'GET', `/workspaces/${prod.id}`)).body.activeEnvironment).toBe(
      'prod',
    );
    const renamed = await succeed([
      'workspace',
      'set',
      prod.id,
      '--name',
      'Marketing (prod)',
      '--format',
      'json',
      ...admin(),
    ]);
    expect(JSON.parse(renamed.stdout)).toMatchObject({
      name: 'Marketing (prod)',
      repositoryName: expect.stringMatching(/^Marketing-prod-[a-z]{7}$/),
      activeEnvironment: 'prod',
    });

    const deleted = await succeed(['workspace', 'delete', id, ...admin()]);
    expect(deleted.stdout).toBe(`Deleted workspace ${id} and its repository.\n`);
    expect((await api(t.url, t.adminToken, 'GET', `/workspaces/${id}`)).status).toBe(404);
  });

  it('takes the server and the token from SLUICE_URL and SLUICE_TOKEN', async () => {
    const env = { SLUICE_URL: t.url, SLUICE_TOKEN: t.adminToken };
    const created = JSON.parse(
      (await succeed(['workspace', 'create', 'From The Environment', '--format', 'json'], env)).stdout,
    );
    expect(created.name).toBe('From The Environment');
    const listed = await succeed(['workspace', 'list'], env);
    expect(listed.stdout).toContain(created.id);
    // Flags win over the variables.
    const flagged = await sluice(['workspace', 'list', '--token', 'not-a-token'], env);
    expectUserError(flagged, /^error: The token is not valid/);
  });

  it('creates, lists and revokes tokens', async () => {
    const ws = (await api(t.url, t.adminToken, 'POST', '/workspaces', { name: 'Tokens' })).body;
    const created = await succeed([
      'token',
      'create',
      'ci',
      '--workspaces',
      ws.id,
      '--access',
      'write',
      ...admin(),
    ]);
    const [summary, secret] = created.stdout.trimEnd().split('\n');
    expect(summary).toMatch(new RegExp(`^Created token (tok_\\w+) \\(write, workspaces: ${ws.id}\\)\\.$`));
    expect(secret).toMatch(/^sluice_\S+$/);
    expect(created.stderr).toBe('This is the only time the token is shown: keep it now.\n');
    const tokenId = /(tok_\w+)/.exec(summary as string)?.[1] as string;

    // The new token sees its workspace, and only it.
    const seen = await succeed([
      'workspace',
      'list',
      '--format',
      'json',
      '--url',
      t.url,
      '--token',
      secret as string,
    ]);
    expect(JSON.parse(seen.stdout).map((w: { id: string }) => w.id)).toEqual([ws.id]);

    const reader = JSON.parse(
      (await succeed(['token', 'create', 'reader', '--format', 'json', ...admin()])).stdout,
    );
    expect(reader).toMatchObject({
      name: 'reader',
      workspaces: '*',
      access: 'read',
      token: expect.stringMatching(/^sluice_/),
    });

    const listed = await succeed(['token', 'list', ...admin()]);
    const rows = listed.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^ID +NAME +ACCESS +WORKSPACES +CREATED$/);
    expect(rows).toContainEqual(
      expect.stringMatching(new RegExp(`^${tokenId} +ci +write +${ws.id} +\\d{4}-`)),
    );
    expect(rows).toContainEqual(
      expect.stringMatching(new RegExp(`^${reader.id} +reader +read +\\* +\\d{4}-`)),
    );
    expect(rows).toContainEqual(expect.stringMatching(/^tok_\w+ +admin \(SLUICE_ADMIN_TOKEN\) +admin +\* /));
    expect(listed.stdout).not.toContain(secret);

    expectUserError(
      await sluice(['token', 'list', '--url', t.url, '--token', secret as string]),
      /^error: This needs an admin token\.$/m,
    );

    const revoked = await succeed(['token', 'revoke', tokenId, ...admin()]);
    expect(revoked.stdout).toBe(`Revoked token ${tokenId}.\n`);
    expectUserError(
      await sluice(['workspace', 'list', '--url', t.url, '--token', secret as string]),
      /^error: The token is not valid \(unknown or revoked\)\.$/m,
    );
    expect((await succeed(['token', 'list', ...admin()])).stdout).not.toContain(tokenId);
  });

  it('reports errors on one line and exits 1', async () => {
    const ws = (await api(t.url, t.adminToken, 'POST', '/workspaces', { name: 'Errors' })).body;
    const cases: [string[], RegExp][] = [
      [
        ['workspace', 'show', 'ws_doesnotexist', ...admin()],
        /^error: No workspace 'ws_doesnotexist'\. List yours with `sluice workspace list`/,
      ],
      [['workspace', 'delete', 'ws_doesnotexist', ...admin()], /^error: No workspace 'ws_doesnotexist'/],
      [['workspace', 'create', '!!!', ...admin()], /^error: The workspace name '!!!' has no letter or digit/],
      [
        ['workspace', 'set', ws.id, '--active-environment', 'qa', ...admin()],
        /^error: Environment 'qa' .*Defined environments: dev, staging, prod\.$/m,
      ],
      [
        ['workspace', 'list', '--url', t.url],
        /^error: This needs a token.* Set SLUICE_TOKEN \(or --token\)\.$/m,
      ],
      [['token', 'revoke', 'tok_doesnotexist', ...admin()], /^error: No active token 'tok_doesnotexist'\.$/m],
    ];
    const results = await Promise.all(cases.map(([args]) => sluice(args)));
    results.forEach((result, i) => {
      expectUserError(result, cases[i]?.[1] as RegExp);
    });
  });

  it('says so when the server cannot be reached', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const runs = [
      ['workspace', 'list'],
      ['workspace', 'create', 'Nowhere'],
      ['token', 'list'],
    ].map((args) => sluice([...args, '--url', url, '--token', 'anything']));
    for (const result of await Promise.all(runs)) {
      expectUserError(
        result,
        new RegExp(
          `^error: Cannot reach the Sluice server at ${url} \\(ECONNREFUSED\\)\\. Start one with \`sluice serve\``,
        ),
      );
    }
  });
});
