import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSecretKey, parseSecretKey, SECRET_KEY_FILE } from '../../src/secrets/secret-key.js';
import { type SecretContext, secretEnvFor, secretValues } from '../../src/secrets/secret-service.js';
import { startServer } from '../../src/server/serve.js';
import { api, git, startTestServer, storeKinds, type TestServer } from '../helpers/test-server.js';

const kinds = await storeKinds();
const BIN = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));

/** A value no fixture could contain by chance. */
const secretValue = (label: string) => `${label}-${randomBytes(12).toString('hex')}`;

interface CliResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the built `sluice` asynchronously (the server answers from this process), with `input` as
 * its standard input and only PATH and the given variables set.
 */
function sluice(args: readonly string[], cwd: string, input = '', env: Record<string, string> = {}) {
  return new Promise<CliResult>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '', XDG_CACHE_HOME: join(cwd, '.cache'), ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** Every file under `dir`, as bytes. */
function filesUnder(dir: string): { path: string; bytes: Buffer }[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const path = join(entry.parentPath, entry.name);
      return { path, bytes: readFileSync(path) };
    });
}

describe.each(kinds)('secrets over the API (%s)', (kind) => {
  let t: TestServer;
  let context: SecretContext;
  let workspace: { id: string; name: string; repositoryName: string };
  let cwd: string;
  /** Every answer's raw text: none may ever hold a secret value. */
  const answers: string[] = [];
  const values: string[] = [];

  const call = async (method: string, path: string, body?: unknown, token = t.adminToken) => {
    const answer = await api(t.url, token, method, path, body);
    answers.push(JSON.stringify(answer.body ?? null));
    return answer;
  };
  const put = (name: string, body: { value: string; environment?: string }, token?: string) => {
    values.push(body.value);
    return call('PUT', `/workspaces/${workspace.id}/secrets/${name}`, body, token);
  };
  const list = async () => {
    const answer = await call('GET', `/workspaces/${workspace.id}/secrets`);
    expect(answer.status).toBe(200);
    return answer.body.items as { name: string; environment: string | null }[];
  };

  beforeAll(async () => {
    t = await startTestServer(kind);
    cwd = mkdtempSync(join(tmpdir(), 'sluice-secrets-cli-'));
    context = {
      store: t.server.store,
      reposDir: join(t.dataDir, 'repos'),
      publicUrl: t.url,
      secretKey: await loadSecretKey({ dataDir: t.dataDir }),
    };
    const created = await call('POST', '/workspaces', { name: 'Secrets' });
    expect(created.status).toBe(201);
    workspace = created.body;
  });
  afterAll(async () => {
    await t?.close();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  it('sets, lists and unsets secrets, per environment and for all', async () => {
    const all = await put('TAP_GITHUB_AUTH_TOKEN', { value: secretValue('all') });
    expect(all.status, JSON.stringify(all.body)).toBe(200);
    expect(all.body).toEqual({
      name: 'TAP_GITHUB_AUTH_TOKEN',
      environment: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      updatedBy: 'admin (SLUICE_ADMIN_TOKEN)',
    });
    const prod = await put('TAP_GITHUB_AUTH_TOKEN', { value: secretValue('prod'), environment: 'prod' });
    expect(prod.status).toBe(200);
    expect(prod.body).toMatchObject({ name: 'TAP_GITHUB_AUTH_TOKEN', environment: 'prod' });
    expect((await put('A_PASSWORD', { value: secretValue('a'), environment: 'dev' })).status).toBe(200);

    // Replacing keeps when it was created.
    const again = await put('TAP_GITHUB_AUTH_TOKEN', { value: secretValue('all2') });
    expect(again.body.createdAt).toBe(all.body.createdAt);
    expect(again.body.updatedAt >= all.body.updatedAt).toBe(true);

    expect(await list()).toEqual([
      expect.objectContaining({ name: 'A_PASSWORD', environment: 'dev' }),
      expect.objectContaining({ name: 'TAP_GITHUB_AUTH_TOKEN', environment: null }),
      expect.objectContaining({ name: 'TAP_GITHUB_AUTH_TOKEN', environment: 'prod' }),
    ]);
    // The workspace may be named by its repository name too.
    expect((await call('GET', `/workspaces/${workspace.repositoryName}/secrets`)).body.items).toHaveLength(3);

    const unset = await call(
      'DELETE',
      `/workspaces/${workspace.id}/secrets/TAP_GITHUB_AUTH_TOKEN?environment=prod`,
    );
    expect(unset.status).toBe(204);
    const absent = await call(
      'DELETE',
      `/workspaces/${workspace.id}/secrets/TAP_GITHUB_AUTH_TOKEN?environment=prod`,
    );
    expect(absent.status).toBe(404);
    expect(absent.body.error.code).toBe('secret_not_found');
    expect(absent.body.error.message).toBe(
      "Workspace 'Secrets' has no secret TAP_GITHUB_AUTH_TOKEN for environment 'prod'. It is set for all environments.",
    );
    expect((await call('DELETE', `/workspaces/${workspace.id}/secrets/A_PASSWORD`)).status).toBe(404);
    expect(
      (await call('DELETE', `/workspaces/${workspace.id}/secrets/A_PASSWORD?environment=dev`)).status,
    ).toBe(204);
    expect((await list()).map((s) => [s.name, s.environment])).toEqual([['TAP_GITHUB_AUTH_TOKEN', null]]);
  });

  it("gives a run the environment's own value over the all-environments one", async () => {
    const base = secretValue('base');
    const staging = secretValue('staging');
    const only = secretValue('only');
    expect((await put('DB_PASSWORD', { value: base })).status).toBe(200);
    expect((await put('DB_PASSWORD', { value: staging, environment: 'staging' })).status).toBe(200);
    expect((await put('STAGING_ONLY', { value: only, environment: 'staging' })).status).toBe(200);

    const inStaging = await secretEnvFor(context, workspace, 'staging');
    expect(inStaging).toMatchObject({ DB_PASSWORD: staging, STAGING_ONLY: only });
    const inDev = await secretEnvFor(context, workspace, 'dev');
    expect(inDev.DB_PASSWORD).toBe(base);
    expect(inDev).not.toHaveProperty('STAGING_ONLY');
    expect((await secretEnvFor(context, workspace, null)).DB_PASSWORD).toBe(base);
    expect(await secretValues(context, workspace)).toEqual(expect.arrayContaining([base, staging, only]));
  });

  it.each([
    ['starts with a digit', '1TOKEN'],
    ['has a dash', 'MY-TOKEN'],
    ['has a dot', 'my.token'],
    ['is longer than 200 characters', `T${'X'.repeat(200)}`],
  ])('refuses a name that %s (400)', async (_, name) => {
    const answer = await put(name, { value: secretValue('bad-name') });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('name_invalid');
    expect(answer.body.error.message).toMatch(/letters, digits and _/);
  });

  it('refuses an environment the project does not define, listing those it does (400)', async () => {
    const answer = await put('TOKEN', { value: secretValue('qa'), environment: 'qa' });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('environment_not_found');
    expect(answer.body.error.message).toMatch(
      /Environment 'qa' .*was not found\. Defined environments: dev, staging, prod\./,
    );
    expect(answer.body.error.details.defined).toEqual(['dev', 'staging', 'prod']);
  });

  it.each([
    ['an empty value', { value: '' }, /value is empty/],
    ['a value with a NUL', { value: 'abc\u0000def' }, /NUL/],
    ['a value over 64 KiB', { value: 'é'.repeat(40_000) }, /longer than 64 KiB/],
    ['a number', { value: 42 }, /value/],
    ['an unknown field', { value: 'abcdef', env: 'prod' }, /unknown field 'env'/],
    ['no value', { environment: 'prod' }, /value/],
  ])('refuses %s (400)', async (_, body, message) => {
    const answer = await call('PUT', `/workspaces/${workspace.id}/secrets/TOKEN`, body);
    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toMatch(message);
  });

  it('refuses a body that is not JSON without quoting it', async () => {
    const value = secretValue('broken-json');
    const response = await fetch(`${t.url}/api/v1/workspaces/${workspace.id}/secrets/TOKEN`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
      body: `{"value": ${value}}`,
    });
    const text = await response.text();
    expect(response.status).toBe(400);
    expect(JSON.parse(text).error.code).toBe('validation_failed');
    expect(text).not.toContain(value.slice(0, 10));
  });

  it('lets a read-only token list but not set or unset (403)', async () => {
    const created = await call('POST', '/tokens', {
      name: 'reader',
      workspaces: [workspace.id],
      access: 'read',
    });
    expect(created.status).toBe(201);
    const reader = created.body.token as string;
    const set = await put('READER_TOKEN', { value: secretValue('reader') }, reader);
    expect(set.status).toBe(403);
    expect(set.body.error.code).toBe('forbidden');
    const unset = await call('DELETE', `/workspaces/${workspace.id}/secrets/DB_PASSWORD`, undefined, reader);
    expect(unset.status).toBe(403);
    const listed = await call('GET', `/workspaces/${workspace.id}/secrets`, undefined, reader);
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((s: { name: string }) => s.name)).not.toContain('READER_TOKEN');
    // A workspace outside the token's scope does not exist for it.
    const other = await call('POST', '/workspaces', { name: 'Elsewhere' });
    expect((await call('GET', `/workspaces/${other.body.id}/secrets`, undefined, reader)).status).toBe(404);
  });

  it('sets a secret from standard input and lists secrets with the real executable', async () => {
    const admin = ['--url', t.url, '--token', t.adminToken];
    const value = secretValue('cli');
    values.push(value);
    const set = await sluice(
      ['secret', 'set', workspace.id, 'CLI_TOKEN', '--environment', 'prod', ...admin],
      cwd,
      `${value}\n`,
    );
    expect(set.stderr).toBe('');
    expect(set.status).toBe(0);
    expect(set.stdout).toBe(`Set secret CLI_TOKEN for environment prod of workspace ${workspace.id}.\n`);
    expect((await secretEnvFor(context, workspace, 'prod')).CLI_TOKEN).toBe(value);

    const listed = await sluice(['secret', 'list', workspace.id, ...admin], cwd);
    expect(listed.status, listed.stderr).toBe(0);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME +ENVIRONMENT +UPDATED +UPDATED BY$/);
    expect(lines).toContainEqual(
      expect.stringMatching(/^CLI_TOKEN +prod +\d{4}-\d\d-\d\dT\S+ +admin \(SLUICE_ADMIN_TOKEN\)$/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^DB_PASSWORD +\(all\) +/));
    expect(listed.stdout).not.toContain(value);

    const empty = await sluice(['secret', 'set', workspace.id, 'CLI_TOKEN', ...admin], cwd, '');
    expect(empty.status).toBe(2);
    expect(empty.stderr).toMatch(/^error: No value for CLI_TOKEN: pipe it in/);

    const unset = await sluice(['secret', 'unset', workspace.id, 'CLI_TOKEN', '-e', 'prod', ...admin], cwd);
    expect(unset.status, unset.stderr).toBe(0);
    expect(unset.stdout).toBe(`Unset secret CLI_TOKEN for environment prod of workspace ${workspace.id}.\n`);
    const again = await sluice(['secret', 'unset', workspace.id, 'CLI_TOKEN', '-e', 'prod', ...admin], cwd);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(
      /^error: Workspace 'Secrets' has no secret CLI_TOKEN for environment 'prod'\.\n$/,
    );
  });

  it('says in --help that the value is never an argument', async () => {
    const help = await sluice(['secret', 'set', '--help'], cwd);
    expect(help.status).toBe(0);
    expect(help.stdout.replace(/\s+/g, ' ')).toMatch(
      /never given as an argument, since shell history would keep it/,
    );
  });

  it('never answers, commits or stores a value in clear', async () => {
    expect(values.length).toBeGreaterThan(5);
    for (const value of values) {
      for (const answer of answers) expect(answer).not.toContain(value);
    }
    // The repository: every file, and every object decompressed.
    const repository = join(t.dataDir, 'repos', `${workspace.repositoryName}.git`);
    const objects = await git(repository, ['cat-file', '--batch-all-objects', '--batch']);
    expect(objects.code).toBe(0);
    expect(objects.stdout).toContain('meltano.yml');
    const files = filesUnder(repository);
    for (const value of values) {
      expect(objects.stdout).not.toContain(value);
      for (const file of files) expect(file.bytes.includes(value), file.path).toBe(false);
    }
    // The database: the rows, and for SQLite the files themselves.
    const rows = await t.server.store.db.selectFrom('secrets').selectAll().execute();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.ciphertext).toMatch(/^v1\.[0-9a-f]{16}\.[A-Za-z0-9+/=]+$/);
    const stored = JSON.stringify(rows);
    const databaseFiles =
      kind === 'sqlite' ? filesUnder(t.dataDir).filter((f) => /sluice\.db/.test(f.path)) : [];
    for (const value of values) {
      expect(stored).not.toContain(value);
      for (const file of databaseFiles) expect(file.bytes.includes(value), file.path).toBe(false);
    }
  });

  it('keeps its key in secret.key (mode 0600) in the data folder', () => {
    const file = join(t.dataDir, SECRET_KEY_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(parseSecretKey(readFileSync(file, 'utf8'), 'file').id).toBe(context.secretKey.id);
  });

  it('tells, with another key, that the key changed', async () => {
    const other = { ...context, secretKey: parseSecretKey(randomBytes(32).toString('hex'), 'test') };
    await expect(secretEnvFor(other, workspace, 'staging')).rejects.toMatchObject({
      code: 'secret_key_mismatch',
      message: expect.stringMatching(/the secret key changed/),
    });
  });

  it('lists the secret operations in the OpenAPI document', async () => {
    const doc = (await call('GET', '/openapi.json')).body;
    const item = doc.paths['/api/v1/workspaces/{id}/secrets/{name}'];
    expect(Object.keys(item).sort()).toEqual(['delete', 'put']);
    expect(Object.keys(item.put.requestBody.content['application/json'].schema.properties).sort()).toEqual([
      'environment',
      'value',
    ]);
    expect(Object.keys(doc.paths['/api/v1/workspaces/{id}/secrets'])).toEqual(['get']);
  });

  it("deletes a workspace's secrets with the workspace", async () => {
    const doomed = (await call('POST', '/workspaces', { name: 'Doomed' })).body;
    const answer = await call('PUT', `/workspaces/${doomed.id}/secrets/GONE`, { value: secretValue('gone') });
    expect(answer.status).toBe(200);
    expect((await call('DELETE', `/workspaces/${doomed.id}`)).status).toBe(204);
    const rows = await t.server.store.db
      .selectFrom('secrets')
      .selectAll()
      .where('workspace_id', '=', doomed.id)
      .execute();
    expect(rows).toEqual([]);
  });
});

describe('the secret key at start-up', () => {
  it('refuses to start with a SLUICE_SECRET_KEY that is not 32 bytes, saying the format', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sluice-secret-key-'));
    try {
      await expect(
        startServer({ host: '127.0.0.1', port: 0, dataDir, secretKey: 'my-password' }),
      ).rejects.toMatchObject({
        code: 'secret_key_invalid',
        message: expect.stringMatching(
          /^SLUICE_SECRET_KEY is not a secret key: it must be 32 random bytes written as 64 hexadecimal characters or as base64/,
        ),
      });
      const cli = await sluice(['serve', '--port', '0', '--data-dir', dataDir], dataDir, '', {
        SLUICE_SECRET_KEY: 'my-password',
      });
      expect(cli.status).toBe(1);
      expect(cli.stderr).toMatch(/^error: SLUICE_SECRET_KEY is not a secret key: .*openssl rand -hex 32/);
      expect(cli.stderr).not.toContain('my-password');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('reuses the key file across restarts, so stored secrets stay readable', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sluice-secret-key-'));
    const adminToken = `admin-${randomBytes(16).toString('hex')}`;
    try {
      const first = await startServer({ host: '127.0.0.1', port: 0, dataDir, adminToken });
      const ws = (await api(first.url, adminToken, 'POST', '/workspaces', { name: 'Restart' })).body;
      const value = secretValue('restart');
      expect(
        (await api(first.url, adminToken, 'PUT', `/workspaces/${ws.id}/secrets/KEEP`, { value })).status,
      ).toBe(200);
      await first.close();
      expect(existsSync(join(dataDir, SECRET_KEY_FILE))).toBe(true);
      const second = await startServer({ host: '127.0.0.1', port: 0, dataDir, adminToken });
      try {
        const context = {
          store: second.store,
          reposDir: join(dataDir, 'repos'),
          publicUrl: second.url,
          secretKey: await loadSecretKey({ dataDir }),
        };
        expect((await secretEnvFor(context, ws, null)).KEEP).toBe(value);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
