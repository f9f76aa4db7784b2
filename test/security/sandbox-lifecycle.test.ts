import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { processesWithEnv } from '../helpers/processes.js';
import { sandboxAvailable } from '../helpers/sandbox.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { api, git, withToken } from '../helpers/test-server.js';
import { until } from '../helpers/wait.js';

/**
 * What happens to a run's processes and private files when the server dies, and the sandbox's own
 * settings: a closed network, no bubblewrap, and the explicit "off".
 */

const SLOW_TAP = fileURLToPath(new URL('../fixtures/slow-tap/slow-tap', import.meta.url));

const dirs: string[] = [];
const servers: ServerProcess[] = [];
afterAll(async () => {
  for (const server of servers) await server.crash();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A server process on a fresh data folder, with a workspace whose main holds `project` (and `files`). */
async function serverWith(
  project: string,
  files: Record<string, string> = {},
  env: Record<string, string> = {},
  dataDir = mkdtempSync(join(tmpdir(), 'sluice-lifecycle-')),
) {
  const work = mkdtempSync(join(tmpdir(), 'sluice-lifecycle-work-'));
  dirs.push(dataDir, work);
  const adminToken = `admin-${randomBytes(20).toString('hex')}`;
  const server = await startServerProcess({ dataDir, adminToken, env });
  servers.push(server);
  const call = (method: string, path: string, body?: unknown) =>
    api(server.url, adminToken, method, path, body);
  const ws = (await call('POST', '/workspaces', { name: `Lifecycle ${randomBytes(3).toString('hex')}` }))
    .body;
  const clone = join(work, 'clone');
  expect((await git(work, ['clone', withToken(ws.repositoryUrl, adminToken), clone])).code).toBe(0);
  writeFileSync(join(clone, 'meltano.yml'), project);
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(clone, name), text);
    chmodSync(join(clone, name), 0o755);
  }
  expect((await git(clone, ['add', '-A'])).code).toBe(0);
  expect((await git(clone, ['commit', '-m', 'pipeline'])).code).toBe(0);
  expect((await git(clone, ['push', 'origin', 'main'])).code).toBe(0);
  const ended = (runId: string) =>
    until(`run ${runId} to end`, async () => {
      const run = await call('GET', `/workspaces/${ws.id}/runs/${runId}`);
      return ['success', 'failed', 'cancelled'].includes(run.body.status) ? run.body : undefined;
    });
  const logOf = async (runId: string) =>
    (
      await fetch(`${server.url}/api/v1/workspaces/${ws.id}/runs/${runId}/log`, {
        headers: { authorization: `Bearer ${adminToken}` },
      })
    ).text();
  return { server, call, ws, dataDir, adminToken, ended, logOf };
}

const slowProject = (marker: string) => `default_environment: dev
plugins:
  extractors:
  - name: slow-tap
    namespace: slow_tap
    capabilities: [catalog, discover, state]
    executable: ${SLOW_TAP}
    config: {count: 100000, delay: 0.05, marker: ${marker}}
  loaders:
  - name: target-jsonl
environments:
- name: dev
`;

describe.skipIf(!(await sandboxAvailable()))('a server killed during a run', () => {
  it("takes the run's plugin processes with it, and its private files are gone at the next start", async () => {
    const marker = `killed-${randomBytes(6).toString('hex')}`;
    const first = await serverWith(slowProject(marker));
    const started = await first.call('POST', `/workspaces/${first.ws.id}/runs`, {
      blocks: ['slow-tap', 'target-jsonl'],
    });
    expect(started.status).toBe(201);
    await until('the tap to run', () =>
      processesWithEnv(`SLOW_TAP_MARKER=${marker}`).length > 0 ? true : undefined,
    );
    // The step's configuration (with secrets, in general) lies in the workspace's folder, not in /tmp.
    const scratch = join(first.dataDir, 'work', first.ws.id, '.sluice', 'tmp');
    expect(readdirSync(scratch).some((name) => name.startsWith('sluice-run-'))).toBe(true);

    await first.server.crash();
    await until('the plugin processes to be gone', () =>
      processesWithEnv(`SLOW_TAP_MARKER=${marker}`).length === 0 ? true : undefined,
    );

    const again = await startServerProcess({ dataDir: first.dataDir, adminToken: first.adminToken });
    servers.push(again);
    expect(existsSync(scratch) ? readdirSync(scratch) : []).toEqual([]);
    const run = await api(
      again.url,
      first.adminToken,
      'GET',
      `/workspaces/${first.ws.id}/runs/${started.body.id}`,
    );
    expect(run.body.status).toBe('failed');
  }, 60_000);
});

describe.skipIf(!(await sandboxAvailable()))('the sandbox settings', () => {
  /** A tap that tries to reach the Sluice server over the network and says whether it could. */
  const probe = (url: string) => `#!/usr/bin/env python3
import urllib.request, sys
try:
    urllib.request.urlopen("${url}/api/v1/health", timeout=5).read()
    print("probe: reached the network", file=sys.stderr)
except Exception as error:
    print(f"probe: no network ({type(error).__name__})", file=sys.stderr)
`;
  const probeProject = `default_environment: dev
plugins:
  extractors:
  - name: tap-probe
    namespace: tap_probe
    executable: ./probe.py
  loaders:
  - name: target-jsonl
environments:
- name: dev
`;

  it.each([
    ['open', 'probe: reached the network'],
    ['none', 'probe: no network'],
  ])(
    'SLUICE_PLUGIN_NETWORK=%s',
    async (network, expected) => {
      // The server's URL is known only once it listens: the probe reads it from a second push.
      const setup = await serverWith(probeProject, {}, { SLUICE_PLUGIN_NETWORK: network });
      const clone = mkdtempSync(join(tmpdir(), 'sluice-probe-'));
      dirs.push(clone);
      expect(
        (await git(clone, ['clone', withToken(setup.ws.repositoryUrl, setup.adminToken), 'c'])).code,
      ).toBe(0);
      writeFileSync(join(clone, 'c', 'probe.py'), probe(setup.server.url));
      chmodSync(join(clone, 'c', 'probe.py'), 0o755);
      expect((await git(join(clone, 'c'), ['add', '-A'])).code).toBe(0);
      expect((await git(join(clone, 'c'), ['commit', '-m', 'probe'])).code).toBe(0);
      expect((await git(join(clone, 'c'), ['push', 'origin', 'main'])).code).toBe(0);
      const run = await setup.call('POST', `/workspaces/${setup.ws.id}/runs`, {
        blocks: ['tap-probe', 'target-jsonl'],
      });
      expect(run.status, JSON.stringify(run.body)).toBe(201);
      await setup.ended(run.body.id);
      expect(await setup.logOf(run.body.id)).toContain(expected);
    },
    60_000,
  );

  it('refuses runs when bubblewrap cannot start, saying how to install it; SLUICE_PLUGIN_SANDBOX=off runs them', async () => {
    const missing = await serverWith(slowProject('none'), {}, { SLUICE_BUBBLEWRAP: '/nonexistent/bwrap' });
    const refused = await missing.call('POST', `/workspaces/${missing.ws.id}/runs`, {
      blocks: ['slow-tap', 'target-jsonl'],
    });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('sandbox_unavailable');
    expect(refused.body.error.message).toContain('apt-get install -y bubblewrap');
    expect(refused.body.error.message).toContain('SLUICE_PLUGIN_SANDBOX=off');

    const off = await serverWith(
      slowProject('off').replace('count: 100000', 'count: 3').replace('delay: 0.05', 'delay: 0'),
      {},
      { SLUICE_PLUGIN_SANDBOX: 'off' },
    );
    const run = await off.call('POST', `/workspaces/${off.ws.id}/runs`, {
      blocks: ['slow-tap', 'target-jsonl'],
    });
    expect(run.status).toBe(201);
    expect((await off.ended(run.body.id)).status).toBe('success');
  }, 60_000);
});
