import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliAsync } from '../helpers/run-cli.js';
import { api, issueToken, startTestServer, type TestServer } from '../helpers/test-server.js';

interface Ws {
  readonly id: string;
  readonly name: string;
  readonly repositoryName: string;
}

/**
 * Stages: a workspace names the one it is promoted from (`upstream`), so dev -> staging -> prod is
 * a route the server knows: checked when set, the CLI's default source, and a warning when a
 * promotion skips or reverses it.
 */
describe('stages: dev -> staging -> prod', () => {
  let t: TestServer;
  let work: string;
  const ws: Record<string, Ws> = {};

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    work = mkdtempSync(join(tmpdir(), 'sluice-stages-'));
    for (const key of ['dev', 'staging', 'prod']) {
      ws[key] = (await api(t.url, t.adminToken, 'POST', '/workspaces', { name: `Stage ${key}` })).body;
    }
  });
  afterAll(async () => {
    await t?.close();
    rmSync(work, { recursive: true, force: true });
  });

  const patch = (key: string, body: unknown, token = t.adminToken) =>
    api(t.url, token, 'PATCH', `/workspaces/${ws[key]?.id}`, body);
  const preview = async (source: string, target: string) => {
    const answer = await api(
      t.url,
      t.adminToken,
      'GET',
      `/workspaces/${ws[target]?.id}/promotions/preview?source=${ws[source]?.id}`,
    );
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body.warnings as { code: string; message: string }[];
  };
  const cli = (args: readonly string[]) =>
    runCliAsync(args, work, { SLUICE_URL: t.url, SLUICE_TOKEN: t.adminToken });

  it('names the route by id or repository name, and shows it on the workspace', async () => {
    expect((await patch('staging', { upstream: ws.dev?.repositoryName })).body.upstream).toBe(ws.dev?.id);
    const prod = await patch('prod', { upstream: ws.staging?.id, protected: true });
    expect(prod.status, JSON.stringify(prod.body)).toBe(200);
    expect((await api(t.url, t.adminToken, 'GET', `/workspaces/${ws.prod?.id}`)).body.upstream).toBe(
      ws.staging?.id,
    );
  });

  it('refuses a loop, itself, a workspace the caller cannot see, and a protected stage to a write token', async () => {
    const loop = await patch('dev', { upstream: ws.prod?.id });
    expect(loop.status).toBe(400);
    expect(loop.body.error.message).toMatch(/'Stage prod' is promoted from 'Stage dev' already/);
    expect((await patch('dev', { upstream: ws.dev?.id })).body.error.message).toMatch(/from itself/);

    const stagingWriter = await issueToken(t.url, t.adminToken, {
      name: 'staging writer',
      workspaces: [ws.staging?.id ?? ''],
      access: 'write',
    });
    const hidden = await patch('staging', { upstream: ws.prod?.id }, stagingWriter);
    expect(hidden.status).toBe(404);
    expect(JSON.stringify(hidden.body)).not.toContain('Stage prod');
    const allWriter = await issueToken(t.url, t.adminToken, {
      name: 'writer',
      workspaces: '*',
      access: 'write',
    });
    expect((await patch('prod', { upstream: null }, allWriter)).status).toBe(403);
    // Nothing changed.
    expect((await api(t.url, t.adminToken, 'GET', `/workspaces/${ws.staging?.id}`)).body.upstream).toBe(
      ws.dev?.id,
    );
    expect((await api(t.url, t.adminToken, 'GET', `/workspaces/${ws.prod?.id}`)).body.upstream).toBe(
      ws.staging?.id,
    );
  });

  it('warns in sentences when a promotion skips or reverses the route, and not along it', async () => {
    expect((await preview('staging', 'prod')).map((w) => w.code)).not.toEqual(
      expect.arrayContaining([expect.stringMatching(/^route_/)]),
    );
    const skipped = (await preview('dev', 'prod')).find((w) => w.code === 'route_skipped');
    expect(skipped?.message).toBe(
      "'Stage prod' is promoted from 'Stage staging' (its route: Stage dev -> Stage staging -> Stage prod); promoting from 'Stage dev' leaves that route.",
    );
    const reversed = (await preview('prod', 'dev')).find((w) => w.code === 'route_reversed');
    expect(reversed?.message).toMatch(
      /back into 'Stage dev', against their route \(Stage dev -> Stage staging -> Stage prod\)/,
    );
  });

  it('promotes from the upstream when the CLI names only the target, and says what to do without one', async () => {
    const fromUpstream = await cli([
      'promote',
      ws.staging?.repositoryName ?? '',
      '--dry-run',
      '--format',
      'json',
    ]);
    expect(fromUpstream.status, fromUpstream.stderr).toBe(0);
    expect(JSON.parse(fromUpstream.stdout)).toMatchObject({
      sourceWorkspaceId: ws.dev?.id,
      targetWorkspaceId: ws.staging?.id,
    });
    const none = await cli(['promote', ws.dev?.repositoryName ?? '', '--dry-run']);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(
      /has no upstream to promote from\. Name the source .* or set one \(sluice workspace set/,
    );
    expect(none.stderr).not.toContain('    at ');
    const cleared = await cli(['workspace', 'set', ws.staging?.repositoryName ?? '', '--upstream', 'none']);
    expect(cleared.status, cleared.stderr).toBe(0);
    expect(cleared.stdout).toMatch(/upstream:\s+\(none\)/);
  });
});
