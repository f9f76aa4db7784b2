import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliAsync } from '../helpers/run-cli.js';
import { productPageMeltanoYml } from '../helpers/shared-paths.js';
import { api, git, startTestServer, type TestServer, withToken } from '../helpers/test-server.js';

const AUTH0_YML = productPageMeltanoYml();

/** What prod runs with once the product page's project reached it. */
const PROD_CONFIG = { domain: 'matatika.eu.auth0.com', client_id: 'u4kcVHKUD9lkbUbXA3eXCt88scStaqHM' };

/**
 * Git's revert-of-a-merge trap: after a promotion is reverted, Git takes the reverted merge as the
 * base of the next one, sees no source change, and leaves out what the revert removed. A Sluice
 * promotion merges from the source content the target still holds instead, so re-promoting the
 * same source restores prod's own environment values; the preview says when the manual
 * `git pull -X theirs` would have done otherwise.
 */
describe('re-promoting after a revert', () => {
  let t: TestServer;
  let work: string;
  const ws: Record<string, { id: string; repositoryUrl: string; repositoryName: string }> = {};

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    work = mkdtempSync(join(tmpdir(), 'sluice-revert-safe-'));
    for (const [key, environment] of [
      ['staging', 'staging'],
      ['prod', 'prod'],
      ['prodByHand', 'prod'],
    ] as const) {
      ws[key] = (await api(t.url, t.adminToken, 'POST', '/workspaces', { name: `Auth0 ${key}` })).body;
      await api(t.url, t.adminToken, 'PATCH', `/workspaces/${ws[key]?.id}`, {
        activeEnvironment: environment,
      });
    }
    const clone = join(work, 'staging');
    await git(work, ['clone', withToken(ws.staging?.repositoryUrl ?? '', t.adminToken), clone]);
    writeFileSync(join(clone, 'meltano.yml'), AUTH0_YML);
    await git(clone, ['commit', '-am', 'Add tap-auth0']);
    await git(clone, ['push', 'origin', 'main']);
  });
  afterAll(async () => {
    await t?.close();
    rmSync(work, { recursive: true, force: true });
  });

  const promote = (target: string, body: Record<string, unknown>) =>
    api(t.url, t.adminToken, 'POST', `/workspaces/${ws[target]?.id}/promotions`, body);
  const revert = (target: string, id: string) =>
    api(t.url, t.adminToken, 'POST', `/workspaces/${ws[target]?.id}/promotions/${id}/revert`);
  const configOf = async (target: string) => {
    const answer = await api(
      t.url,
      t.adminToken,
      'GET',
      `/workspaces/${ws[target]?.id}/plugins/tap-auth0/config`,
    );
    return answer.status === 200 ? answer.body.config : answer.status;
  };
  const cli = (args: readonly string[]) =>
    runCliAsync(args, work, { SLUICE_URL: t.url, SLUICE_TOKEN: t.adminToken });

  it('restores what the revert removed: the preview shows it, the apply does it (API)', async () => {
    const first = await promote('prod', { source: ws.staging?.id });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(await configOf('prod')).toEqual(PROD_CONFIG);
    expect((await revert('prod', first.body.id)).status).toBe(201);
    expect(await configOf('prod')).toBe(404);

    // The same staging again: Git alone would see nothing to merge.
    const preview = await promote('prod', { source: ws.staging?.id, dryRun: true });
    expect(preview.status, JSON.stringify(preview.body)).toBe(200);
    expect(preview.body.unchanged).toBe(false);
    expect(preview.body.configDiff.plugins).toEqual([
      {
        plugin: 'tap-auth0',
        type: 'extractors',
        status: 'added',
        settings: [
          { name: 'domain', after: PROD_CONFIG.domain, afterSource: 'environment' },
          { name: 'client_id', after: PROD_CONFIG.client_id, afterSource: 'environment' },
        ],
      },
    ]);
    const manual = preview.body.warnings.find((w: { code: string }) => w.code === 'manual_merge_differs');
    expect(manual?.message).toMatch(/git pull -X theirs.*meltano\.yml.*reverted since.*brings it back/);

    const again = await promote('prod', {
      source: ws.staging?.id,
      expectedSourceCommit: preview.body.sourceCommit,
      expectedTargetCommit: preview.body.targetCommit,
    });
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    expect(await configOf('prod')).toEqual(PROD_CONFIG);
  });

  it('restores them with a manual edit on the target in between, which stays (CLI)', async () => {
    const history = await api(t.url, t.adminToken, 'GET', `/workspaces/${ws.prod?.id}/promotions`);
    const latest = history.body.items[0];
    expect(latest.kind).toBe('promotion');
    const reverted = await cli(['promote', 'revert', latest.id]);
    expect(reverted.status, reverted.stderr).toBe(0);
    expect(await configOf('prod')).toBe(404);

    // Someone edits prod by hand after the revert.
    const clone = join(work, 'prod-edit');
    await git(work, ['clone', withToken(ws.prod?.repositoryUrl ?? '', t.adminToken), clone]);
    writeFileSync(join(clone, 'RUNBOOK.md'), 'Call the on-call engineer.\n');
    await git(clone, ['add', 'RUNBOOK.md']);
    await git(clone, ['commit', '-m', 'Runbook']);
    expect((await git(clone, ['push', 'origin', 'main'])).code).toBe(0);

    const stagingToProd = ['promote', ws.staging?.repositoryName ?? '', ws.prod?.repositoryName ?? ''];
    const preview = await cli([...stagingToProd, '--dry-run']);
    expect(preview.status, preview.stderr).toBe(0);
    expect(preview.stdout).toMatch(/client_id/);
    expect(preview.stdout).toMatch(/git pull -X theirs/);
    const applied = await cli([...stagingToProd, '--yes']);
    expect(applied.status, applied.stderr).toBe(0);
    expect(await configOf('prod')).toEqual(PROD_CONFIG);
    const after = join(work, 'prod-after');
    await git(work, ['clone', withToken(ws.prod?.repositoryUrl ?? '', t.adminToken), after]);
    expect(readFileSync(join(after, 'RUNBOOK.md'), 'utf8')).toBe('Call the on-call engineer.\n');
  });

  it("on a history made by hand with `git pull -X theirs` and `git revert -m 1`, restores what Git's way would not, and says so", async () => {
    const clone = join(work, 'by-hand');
    await git(work, ['clone', withToken(ws.prodByHand?.repositoryUrl ?? '', t.adminToken), clone]);
    const staging = withToken(ws.staging?.repositoryUrl ?? '', t.adminToken);
    const pull = await git(clone, [
      'pull',
      '--no-rebase',
      '-X',
      'theirs',
      '--allow-unrelated-histories',
      '--no-edit',
      staging,
      'main',
    ]);
    expect(pull.code, pull.stderr).toBe(0);
    expect((await git(clone, ['push', 'origin', 'main'])).code).toBe(0);
    expect(await configOf('prodByHand')).toEqual(PROD_CONFIG);
    expect((await git(clone, ['revert', '--no-edit', '-m', '1', 'HEAD'])).code).toBe(0);
    expect((await git(clone, ['push', 'origin', 'main'])).code).toBe(0);
    expect(await configOf('prodByHand')).toBe(404);

    // The manual way again brings nothing back: the trap.
    const again = await git(clone, ['pull', '--no-rebase', '-X', 'theirs', '--no-edit', staging, 'main']);
    expect(again.stdout).toMatch(/Already up to date/);

    const preview = await promote('prodByHand', { source: ws.staging?.id, dryRun: true });
    expect(preview.status, JSON.stringify(preview.body)).toBe(200);
    expect(preview.body.configDiff.plugins[0]).toMatchObject({ plugin: 'tap-auth0', status: 'added' });
    expect(preview.body.warnings.map((w: { code: string }) => w.code)).toContain('manual_merge_differs');
    const applied = await promote('prodByHand', { source: ws.staging?.id });
    expect(applied.status, JSON.stringify(applied.body)).toBe(201);
    expect(await configOf('prodByHand')).toEqual(PROD_CONFIG);
  });

  it('still merges from the last promotion when none was reverted: a target edit the source did not touch stays', async () => {
    const clone = join(work, 'prod-tweak');
    await git(work, ['clone', withToken(ws.prod?.repositoryUrl ?? '', t.adminToken), clone]);
    const text = readFileSync(join(clone, 'meltano.yml'), 'utf8');
    writeFileSync(
      join(clone, 'meltano.yml'),
      text.replace('domain: matatika.eu.auth0.com', 'domain: login.matatika.com'),
    );
    await git(clone, ['commit', '-am', 'Prod uses its custom domain']);
    expect((await git(clone, ['push', 'origin', 'main'])).code).toBe(0);

    const preview = await promote('prod', { source: ws.staging?.id, dryRun: true });
    expect(preview.status, JSON.stringify(preview.body)).toBe(200);
    expect(preview.body.unchanged).toBe(true);
    expect(preview.body.warnings.map((w: { code: string }) => w.code)).not.toContain('manual_merge_differs');
  });
});
