import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { processesWithEnv } from '../helpers/processes.js';
import { api, git, startTestServer, withToken } from '../helpers/test-server.js';

const SLOW_TAP = fileURLToPath(new URL('../fixtures/slow-tap/slow-tap', import.meta.url));
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('stopping the server during a run', () => {
  it('ends open log streams, stops the run and its plugins, and closes promptly', async () => {
    const t = await startTestServer('sqlite');
    const work = mkdtempSync(join(tmpdir(), 'sluice-shutdown-'));
    dirs.push(work);
    const marker = `shutdown-${Date.now()}`;
    const ws = (await api(t.url, t.adminToken, 'POST', '/workspaces', { name: 'Shutdown' })).body;
    const clone = join(work, 'clone');
    expect((await git(work, ['clone', withToken(ws.repositoryUrl, t.adminToken), clone])).code).toBe(0);
    writeFileSync(
      join(clone, 'meltano.yml'),
      `default_environment: dev
plugins:
  extractors:
  - name: slow-tap
    executable: ${SLOW_TAP}
    config: {count: 100000, delay: 0.05, marker: ${marker}}
  loaders:
  - name: target-jsonl
environments:
- name: dev
`,
    );
    expect((await git(clone, ['commit', '-am', 'slow'])).code).toBe(0);
    expect((await git(clone, ['push', 'origin', 'main'])).code).toBe(0);
    const run = (
      await api(t.url, t.adminToken, 'POST', `/workspaces/${ws.id}/runs`, {
        blocks: ['slow-tap', 'target-jsonl'],
      })
    ).body;
    const response = await fetch(`${t.url}/api/v1/workspaces/${ws.id}/runs/${run.id}/log`, {
      headers: { authorization: `Bearer ${t.adminToken}`, accept: 'text/event-stream' },
    });
    const reader = response.body?.getReader();
    if (!reader) throw new Error('no body');
    let received = '';
    while (!received.includes('slow-tap starting')) {
      const { value, done } = await reader.read();
      if (done) break;
      received += new TextDecoder().decode(value);
    }
    // The tap's host process, found by its variable (it runs in a PID namespace of its own).
    expect(processesWithEnv(`SLOW_TAP_MARKER=${marker}`)).toHaveLength(1);
    // Without ending the streams first, this waited for the log's client to go away (the test times out).
    await t.server.close();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      received += new TextDecoder().decode(value);
    }
    expect(received).toContain('event: closing');
    expect(processesWithEnv(`SLOW_TAP_MARKER=${marker}`)).toEqual([]);
    rmSync(t.dataDir, { recursive: true, force: true });
  });
});
