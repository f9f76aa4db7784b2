import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, git, startTestServer, storeKinds, type TestServer, withToken } from '../helpers/test-server.js';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));
const kinds = await storeKinds();

/** Runs the real `sluice` executable asynchronously (the server under test runs in this process). */
async function sluice(args: readonly string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe.each(kinds)('protected workspaces, owned keys and `sluice promote` (%s)', (kind) => {
  let t: TestServer;
  let work: string;
  let dev: { id: string; repositoryName: string; repositoryUrl: string };
  let prod: { id: string; repositoryName: string; repositoryUrl: string };
  let env: Record<string, string>;
  beforeAll(async () => {
    t = await startTestServer(kind);
    work = mkdtempSync(join(tmpdir(), 'sluice-protect-'));
    dev = (await api(t.url, t.adminToken, 'POST', '/workspaces', { name: 'Dev' })).body;
    prod = (await api(t.url, t.adminToken, 'POST', '/workspaces', { name: 'Prod' })).body;
    env = { SLUICE_URL: t.url, SLUICE_TOKEN: t.adminToken };
    const clone = join(work, 'dev');
    await git(work, ['clone', withToken(dev.repositoryUrl, t.adminToken), clone]);
    const yml = readFileSync(join(clone, 'meltano.yml'), 'utf8');
    writeFileSync(join(clone, 'meltano.yml'), `${yml}send_anonymous_usage_stats: true\n`);
    writeFileSync(join(clone, 'model.sql'), 'select 1\n');
    await git(clone, ['add', '.']);
    await git(clone, ['commit', '-m', 'A model']);
    await git(clone, ['push', 'origin', 'main']);
  });
  afterAll(async () => {
    await t?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('lets only admins protect a workspace; a protected workspace refuses pushes and says to promote', async () => {
    const writer = (
      await api(t.url, t.adminToken, 'POST', '/tokens', { name: 'w', workspaces: '*', access: 'write' })
    ).body.token;
    const refused = await api(t.url, writer, 'PATCH', `/workspaces/${prod.id}`, { protected: true });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/admin/);
    const patched = await api(t.url, t.adminToken, 'PATCH', `/workspaces/${prod.id}`, {
      protected: true,
      ownedKeys: ['project_id', 'default_environment', 'send_anonymous_usage_stats'],
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.protected).toBe(true);

    const clone = join(work, 'prod');
    await git(work, ['clone', withToken(prod.repositoryUrl, t.adminToken), clone]);
    writeFileSync(join(clone, 'x.txt'), 'x\n');
    await git(clone, ['add', '.']);
    await git(clone, ['commit', '-m', 'direct']);
    const push = await git(clone, ['push', 'origin', 'main']);
    expect(push.code).not.toBe(0);
    expect(push.stderr).toContain('protected');
    expect(push.stderr).toContain('sluice promote');
  });

  it('promotes into a protected workspace with `sluice promote --yes`, keeping its owned keys, then shows history and reverts', async () => {
    const preview = await sluice(['promote', dev.repositoryName, prod.repositoryName, '--dry-run'], env);
    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stdout).toContain('A model.sql');
    const applied = await sluice(['promote', dev.repositoryName, prod.repositoryName, '--yes'], env);
    expect(applied.code, applied.stderr).toBe(0);
    const id = /Promoted: (pr_\w+)/.exec(applied.stdout)?.[1];
    expect(id).toBeDefined();

    const clone = join(work, 'prod-after');
    await git(work, ['clone', withToken(prod.repositoryUrl, t.adminToken), clone]);
    expect(readFileSync(join(clone, 'model.sql'), 'utf8')).toBe('select 1\n');
    // Prod owns send_anonymous_usage_stats: it had none, so it still has none.
    expect(readFileSync(join(clone, 'meltano.yml'), 'utf8')).not.toContain('send_anonymous_usage_stats');

    const history = await sluice(['promote', 'history', prod.repositoryName], env);
    expect(history.stdout).toContain(id);
    const reverted = await sluice(['promote', 'revert', id ?? ''], env);
    expect(reverted.code, reverted.stderr).toBe(0);
    const list = await api(t.url, t.adminToken, 'GET', `/workspaces/${prod.id}/promotions`);
    expect(list.body.items.map((p: { kind: string }) => p.kind)).toEqual(['revert', 'promotion']);
  });

  it('previews with a read-only token, in every environment with --all-environments', async () => {
    const reader = (
      await api(t.url, t.adminToken, 'POST', '/tokens', {
        name: 'reader',
        workspaces: [dev.id, prod.id],
        access: 'read',
      })
    ).body.token;
    const readerEnv = { ...env, SLUICE_TOKEN: reader };
    const preview = await sluice(
      [
        'promote',
        dev.repositoryName,
        prod.repositoryName,
        '--dry-run',
        '--all-environments',
        '--format',
        'json',
      ],
      readerEnv,
    );
    expect(preview.code, preview.stderr).toBe(0);
    const plan = JSON.parse(preview.stdout) as { configDiff?: unknown; environments?: unknown };
    expect(JSON.stringify(plan)).toContain('staging');
    // Applying needs write: the same token is refused, and nothing moves.
    const applied = await sluice(['promote', dev.repositoryName, prod.repositoryName, '--yes'], readerEnv);
    expect(applied.code).not.toBe(0);
    expect(applied.stderr).toMatch(/^error: This token can read workspace .* but not change it/m);
  });

  it('asks for --yes when not in a terminal, and changes nothing', async () => {
    const result = await sluice(['promote', dev.repositoryName, prod.repositoryName], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: .*--yes/m);
    expect(result.stderr).not.toContain('    at ');
  });

  it('tells the pusher where a pushed meltano.yml breaks, and refuses to promote from it (422), leaving the target as it was', async () => {
    const clone = join(work, 'dev-broken');
    await git(work, ['clone', withToken(dev.repositoryUrl, t.adminToken), clone]);
    writeFileSync(
      join(clone, 'meltano.yml'),
      'plugins:\n  extractors:\n  - name: tap-x\n    config: {unclosed: [1, 2\n',
    );
    await git(clone, ['commit', '-am', 'Broken']);
    const push = await git(clone, ['push', 'origin', 'main']);
    // Git accepts it; the pusher reads why the workspace will not use it.
    expect(push.code).toBe(0);
    expect(push.stderr).toMatch(/^remote: error: meltano\.yml:\d+:\d+: invalid YAML/m);
    expect(push.stderr).toMatch(
      /^remote: error: The push is accepted, but workspace .* keeps running its last good commit [0-9a-f]{7}/m,
    );
    const before = (await api(t.url, t.adminToken, 'GET', `/workspaces/${prod.id}`)).body.status.commit;
    for (const dryRun of [true, false]) {
      const refused = await api(t.url, t.adminToken, 'POST', `/workspaces/${prod.id}/promotions`, {
        source: dev.id,
        dryRun,
      });
      expect(refused.status, JSON.stringify(refused.body)).toBe(422);
      expect(refused.body.error.code).toBe('project_invalid');
      expect(refused.body.error.message).toMatch(
        /cannot be promoted: its main \([0-9a-f]{7}\) does not load: meltano\.yml:\d+:\d+: invalid YAML/,
      );
      expect(refused.body.error.details).toMatchObject({ file: 'meltano.yml', line: expect.any(Number) });
    }
    const cli = await sluice(['promote', dev.repositoryName, prod.repositoryName, '--yes'], env);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toMatch(/^error: Workspace .* cannot be promoted: .*meltano\.yml:\d+:\d+/m);
    expect(cli.stderr).not.toContain('    at ');
    expect((await api(t.url, t.adminToken, 'GET', `/workspaces/${prod.id}`)).body.status.commit).toBe(before);
  });
});
