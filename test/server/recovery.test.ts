import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from '../../src/server/serve.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('starting on a data folder a killed server left behind', () => {
  it('puts back a repository moved aside by a delete that did not finish, and removes half-built ones', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sluice-recover-'));
    dirs.push(dataDir);
    const first = await startServer({
      host: '127.0.0.1',
      port: 0,
      dataDir,
      adminToken: 'admin-token-for-the-recovery-test',
    });
    const created = await fetch(`${first.url}/api/v1/workspaces`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer admin-token-for-the-recovery-test',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ name: 'Kept' }),
    });
    const ws = (await created.json()) as { id: string; repositoryName: string };
    await first.close();

    const repos = join(dataDir, 'repos');
    // A kill between "move the repository aside" and "delete the row": the row is still there.
    renameSync(join(repos, `${ws.repositoryName}.git`), join(repos, `${ws.repositoryName}.git.deleting-1-2`));
    // A kill while building a new workspace's repository, before its row existed.
    mkdirSync(join(repos, 'Half-built-abcdefg.git.creating-99'));
    mkdirSync(join(dataDir, 'tmp', 'promote-x'), { recursive: true });
    const kept = join(repos, `${ws.repositoryName}.git.deleting-1-2`);

    const second = await startServer({
      host: '127.0.0.1',
      port: 0,
      dataDir,
      adminToken: 'admin-token-for-the-recovery-test',
    });
    try {
      expect(existsSync(join(repos, `${ws.repositoryName}.git`))).toBe(true);
      expect(existsSync(join(repos, 'Half-built-abcdefg.git.creating-99'))).toBe(false);
      expect(existsSync(join(dataDir, 'tmp'))).toBe(false);
      expect(existsSync(kept)).toBe(false);
      const got = await fetch(`${second.url}/api/v1/workspaces/${ws.id}/environments`, {
        headers: { authorization: 'Bearer admin-token-for-the-recovery-test' },
      });
      expect(got.status).toBe(200);
    } finally {
      await second.close();
    }
  });
});

describe('a ref lock left by a server killed while git moved main', () => {
  it('is removed at start, so that the workspace takes changes again', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sluice-recover-'));
    dirs.push(dataDir);
    const headers = {
      authorization: 'Bearer admin-token-for-the-recovery-test',
      'content-type': 'application/json',
    };
    const first = await startServer({
      host: '127.0.0.1',
      port: 0,
      dataDir,
      adminToken: 'admin-token-for-the-recovery-test',
    });
    const ws = (await (
      await fetch(`${first.url}/api/v1/workspaces`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name: 'Locked' }),
      })
    ).json()) as {
      repositoryName: string;
    };
    await first.close();
    const lock = join(dataDir, 'repos', `${ws.repositoryName}.git`, 'refs', 'heads', 'main.lock');
    mkdirSync(join(lock, '..'), { recursive: true });
    writeFileSync(lock, '');
    const second = await startServer({
      host: '127.0.0.1',
      port: 0,
      dataDir,
      adminToken: 'admin-token-for-the-recovery-test',
    });
    await second.close();
    expect(existsSync(lock)).toBe(false);
  });
});
