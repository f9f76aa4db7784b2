import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { productPageMeltanoYml } from '../helpers/shared-paths.js';
import { api, git, startTestServer, storeKinds, type TestServer, withToken } from '../helpers/test-server.js';

const AUTH0_YML = productPageMeltanoYml();

const kinds = await storeKinds();

describe.each(kinds)('promoting the product page example dev -> staging -> prod (%s)', (kind) => {
  let t: TestServer;
  let work: string;
  const ws: Record<string, { id: string; repositoryUrl: string }> = {};
  beforeAll(async () => {
    t = await startTestServer(kind);
    work = mkdtempSync(join(tmpdir(), 'sluice-promote-'));
    for (const [key, name, environment] of [
      ['dev', 'My Workspace (dev)', 'dev'],
      ['staging', 'My Workspace (staging)', 'staging'],
      ['prod', 'My Workspace', 'prod'],
    ] as const) {
      ws[key] = (await api(t.url, t.adminToken, 'POST', '/workspaces', { name })).body;
      await api(t.url, t.adminToken, 'PATCH', `/workspaces/${ws[key]?.id}`, {
        activeEnvironment: environment,
      });
    }
    const clone = join(work, 'dev');
    await git(work, ['clone', withToken(ws.dev?.repositoryUrl ?? '', t.adminToken), clone]);
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
  const configOf = async (target: string) =>
    (await api(t.url, t.adminToken, 'GET', `/workspaces/${ws[target]?.id}/plugins/tap-auth0/config`)).body
      .config;

  it('previews dev -> staging with the configuration staging will run with, then applies exactly that plan', async () => {
    const preview = await promote('staging', { source: ws.dev?.id, dryRun: true });
    expect(preview.status, JSON.stringify(preview.body)).toBe(200);
    expect(preview.body.sourceCommit).toMatch(/^[0-9a-f]{40}$/);
    expect(preview.body.files.map((f: { path: string; status: string }) => [f.path, f.status])).toEqual([
      ['meltano.yml', 'modified'],
    ]);
    expect(preview.body.configDiff.environment).toBe('staging');
    expect(preview.body.configDiff.plugins).toEqual([
      {
        plugin: 'tap-auth0',
        type: 'extractors',
        status: 'added',
        settings: [
          { name: 'domain', after: 'matatika-staging.eu.auth0.com', afterSource: 'meltano_yml' },
          { name: 'client_id', after: '4Zd5QXqHKNoKq4ySx8CP1UBm5eIUgh7t', afterSource: 'environment' },
        ],
      },
    ]);
    // Nothing changed yet.
    expect(
      (await api(t.url, t.adminToken, 'GET', `/workspaces/${ws.staging?.id}/plugins/tap-auth0/config`))
        .status,
    ).toBe(404);

    const applied = await promote('staging', {
      source: ws.dev?.id,
      expectedSourceCommit: preview.body.sourceCommit,
      expectedTargetCommit: preview.body.targetCommit,
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(201);
    expect(applied.body).toMatchObject({
      status: 'applied',
      sourceWorkspaceId: ws.dev?.id,
      targetWorkspaceId: ws.staging?.id,
      createdBy: expect.any(String),
    });
    expect(await configOf('staging')).toEqual({
      domain: 'matatika-staging.eu.auth0.com',
      client_id: '4Zd5QXqHKNoKq4ySx8CP1UBm5eIUgh7t',
    });

    // The merge commit has both parents and names its source.
    const clone = join(work, 'staging-check');
    await git(work, ['clone', withToken(ws.staging?.repositoryUrl ?? '', t.adminToken), clone]);
    const log = await git(clone, ['log', '-1', '--format=%P%n%B']);
    expect(log.stdout.split('\n')[0]?.split(' ')).toEqual([
      preview.body.targetCommit,
      preview.body.sourceCommit,
    ]);
    expect(log.stdout).toContain(`Promoted-From: `);
    // The target keeps its own project_id.
    expect(readFileSync(join(clone, 'meltano.yml'), 'utf8')).not.toContain(
      '8c07f654-6908-4b51-acef-8de3d37aecac',
    );
  });

  it('refuses an apply whose target moved since the preview (409), changing nothing', async () => {
    const preview = await promote('prod', { source: ws.staging?.id, dryRun: true });
    const refused = await promote('prod', {
      source: ws.staging?.id,
      expectedTargetCommit: preview.body.sourceCommit,
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/moved since the preview/);
    const history = await api(t.url, t.adminToken, 'GET', `/workspaces/${ws.prod?.id}/promotions`);
    expect(history.body.items).toEqual([]);
  });

  it('promotes staging -> prod: prod runs with its own client_id and domain; revert restores the tree', async () => {
    const preview = await promote('prod', { source: ws.staging?.id, dryRun: true });
    expect(preview.body.configDiff.plugins[0].settings).toEqual([
      { name: 'domain', after: 'matatika.eu.auth0.com', afterSource: 'environment' },
      { name: 'client_id', after: 'u4kcVHKUD9lkbUbXA3eXCt88scStaqHM', afterSource: 'environment' },
    ]);
    const applied = await promote('prod', {
      source: ws.staging?.id,
      expectedSourceCommit: preview.body.sourceCommit,
      expectedTargetCommit: preview.body.targetCommit,
    });
    expect(applied.status).toBe(201);
    expect(await configOf('prod')).toEqual({
      domain: 'matatika.eu.auth0.com',
      client_id: 'u4kcVHKUD9lkbUbXA3eXCt88scStaqHM',
    });

    const reverted = await api(
      t.url,
      t.adminToken,
      'POST',
      `/workspaces/${ws.prod?.id}/promotions/${applied.body.id}/revert`,
    );
    expect(reverted.status, JSON.stringify(reverted.body)).toBe(201);
    expect(reverted.body).toMatchObject({
      kind: 'revert',
      status: 'applied',
      revertsPromotionId: applied.body.id,
    });
    expect(
      (await api(t.url, t.adminToken, 'GET', `/workspaces/${ws.prod?.id}/plugins/tap-auth0/config`)).status,
    ).toBe(404);
    const history = await api(t.url, t.adminToken, 'GET', `/workspaces/${ws.prod?.id}/promotions`);
    expect(history.body.items.map((p: { kind: string; status: string }) => [p.kind, p.status])).toEqual([
      ['revert', 'applied'],
      ['promotion', 'applied'],
    ]);
  });
});
