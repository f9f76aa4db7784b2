import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { startServerProcess } from '../helpers/server-process.js';
import { api, git, withToken } from '../helpers/test-server.js';
import { until } from '../helpers/wait.js';

const SLOW_TAP = fileURLToPath(new URL('../fixtures/slow-tap/slow-tap', import.meta.url));
const ROWS = 60;

const PROJECT = `version: 1
default_environment: dev
plugins:
  extractors:
  - name: slow-tap
    namespace: slow_tap
    capabilities: [catalog, discover, state]
    executable: ${SLOW_TAP}
    config:
      count: ${ROWS}
      delay: 0.05
  loaders:
  - name: target-duckdb
    config:
      filepath: output/warehouse.duckdb
      batch_size_rows: 5
environments:
- name: dev
`;

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('a server killed (SIGKILL) in the middle of a run', () => {
  it('marks the run failed at restart, and the rerun resumes from the last confirmed state: no row lost, none twice', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sluice-run-crash-'));
    const work = mkdtempSync(join(tmpdir(), 'sluice-run-crash-work-'));
    dirs.push(dataDir, work);
    const adminToken = `admin-${randomBytes(16).toString('hex')}`;
    let server = await startServerProcess({ dataDir, adminToken });
    const call = (method: string, path: string, body?: unknown) =>
      api(server.url, adminToken, method, path, body);
    try {
      const ws = (await call('POST', '/workspaces', { name: 'Crash' })).body;
      const clone = join(work, 'clone');
      expect((await git(work, ['clone', withToken(ws.repositoryUrl, adminToken), clone])).code).toBe(0);
      writeFileSync(join(clone, 'meltano.yml'), PROJECT);
      mkdirSync(join(clone, 'output'));
      expect((await git(clone, ['commit', '-am', 'slow pipeline'])).code).toBe(0);
      expect((await git(clone, ['push', 'origin', 'main'])).code).toBe(0);

      const run = (await call('POST', `/workspaces/${ws.id}/runs`, { blocks: ['slow-tap', 'target-duckdb'] }))
        .body;
      expect(run.status).toBe('queued');
      // Killed once some batches are committed (and their state saved), mid-stream.
      const saved = await until('a confirmed state', async () => {
        const state = await call('GET', `/workspaces/${ws.id}/state/dev:slow-tap-to-target-duckdb`);
        const id = state.body?.value?.singer_state?.bookmarks?.numbers?.id as number | undefined;
        return id !== undefined && id >= 10 ? id : undefined;
      });
      expect(saved).toBeLessThan(ROWS);
      await server.crash();

      server = await startServerProcess({ dataDir, adminToken });
      const after = (await call('GET', `/workspaces/${ws.id}/runs/${run.id}`)).body;
      expect(after.status).toBe('failed');
      expect(after.error.message).toContain('The server stopped while this run was running');

      const rerun = (
        await call('POST', `/workspaces/${ws.id}/runs`, { blocks: ['slow-tap', 'target-duckdb'] })
      ).body;
      const ended = await until('the rerun to end', async () => {
        const got = (await call('GET', `/workspaces/${ws.id}/runs/${rerun.id}`)).body;
        return ['success', 'failed', 'cancelled'].includes(got.status) ? got : undefined;
      });
      expect(ended.status, JSON.stringify(ended.error)).toBe('success');
      // It started after the saved state, not from the beginning.
      expect(ended.recordsByStream.numbers).toBeLessThanOrEqual(ROWS - saved);
      await server.crash();

      const instance = await DuckDBInstance.create(join(dataDir, 'work', ws.id, 'output/warehouse.duckdb'));
      const connection = await instance.connect();
      const rows = (
        await connection.runAndReadAll(
          'SELECT count(*) AS n, count(DISTINCT id) AS d, min(id) AS lo, max(id) AS hi FROM numbers',
        )
      ).getRowObjectsJson();
      connection.closeSync();
      instance.closeSync();
      expect(rows).toEqual([{ n: String(ROWS), d: String(ROWS), lo: '1', hi: String(ROWS) }]);
    } finally {
      await server.crash();
    }
  });
});
