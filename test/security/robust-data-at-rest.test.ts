import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { api, git, withToken } from '../helpers/test-server.js';

/** Every file and folder under `root` (symbolic links excluded: their own mode means nothing). */
function entriesUnder(root: string): string[] {
  const found: string[] = [root];
  for (const entry of readdirSync(root, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (!lstatSync(path).isSymbolicLink()) found.push(path);
  }
  return found;
}

/** The entries other users could read, write or enter, with their modes (`repos 0755`). */
function openToOthers(root: string): string[] {
  return entriesUnder(root)
    .filter((path) => (statSync(path).mode & 0o077) !== 0)
    .map((path) => `${relative(root, path) || '.'} ${(statSync(path).mode & 0o777).toString(8)}`);
}

function modeOf(path: string): string {
  return (statSync(path).mode & 0o777).toString(8);
}

/**
 * Finding 7 (modes): a data folder made before (or by another tool, under a 022 umask) kept its
 * modes, so every local user could read sluice.db, secret.key and every repository. A real
 * `sluice serve` process is started on such a folder.
 */
describe('the data folder is private to the server user', () => {
  let dataDir: string;
  let server: ServerProcess | undefined;
  let adminToken: string;
  let firstStart: { db: string; notices: string };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sluice-robust-rest-'));
    // First start on an empty folder: the server makes its database, key and admin token.
    server = await startServerProcess({ dataDir, adminToken: '' });
    adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    expect((await api(server.url, adminToken, 'POST', '/workspaces', { name: 'Existing' })).status).toBe(201);
    firstStart = { db: modeOf(join(dataDir, 'sluice.db')), notices: server.stderr() };
    // Killed, so the -wal file stays, as after a crash or a power loss.
    await server.crash();
    server = undefined;
    // An earlier Sluice, which did not keep its database to itself, left a -shm file beside it too.
    writeFileSync(join(dataDir, 'sluice.db-shm'), Buffer.alloc(32768));
    // Then the folder is opened up, as an older Sluice or a `cp -r`/`tar x` under umask 022 leaves it.
    for (const path of entriesUnder(dataDir)) {
      chmodSync(path, statSync(path).isDirectory() ? 0o755 : 0o644);
    }
  });
  afterAll(async () => {
    await server?.crash();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates a new database readable by its user only', () => {
    expect(firstStart.db).toBe('600');
    expect(firstStart.notices).not.toMatch(/readable by other users/);
  });

  it('takes group and other permissions off an existing folder at start, and says so in one line', async () => {
    expect(openToOthers(dataDir).length).toBeGreaterThan(10);
    for (const file of ['sluice.db', 'sluice.db-wal', 'sluice.db-shm', 'secret.key', 'admin-token']) {
      expect(modeOf(join(dataDir, file)), file).toBe('644');
    }

    server = await startServerProcess({ dataDir, adminToken: '' });

    expect(openToOthers(dataDir)).toEqual([]);
    expect(modeOf(dataDir)).toBe('700');
    expect(modeOf(join(dataDir, 'repos'))).toBe('700');
    for (const file of ['sluice.db', 'sluice.db-wal', 'secret.key', 'admin-token']) {
      expect(modeOf(join(dataDir, file)), file).toBe('600');
    }
    // The server keeps its database to itself and so needs no -shm; an old one is private all the same.
    if (existsSync(join(dataDir, 'sluice.db-shm')))
      expect(modeOf(join(dataDir, 'sluice.db-shm'))).toBe('600');
    const notices = server
      .stderr()
      .split('\n')
      .filter((line) => /readable by other users/.test(line));
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(
      /^sluice: .* was readable by other users: took group and other permissions off \d+ entries \(.*0755->0700.*\); only this user can read them now\.$/,
    );
    // The data folder still works: the workspace made before answers.
    const listed = await api(server.url, adminToken, 'GET', '/workspaces');
    expect(listed.body.items.map((w: { name: string }) => w.name)).toEqual(['Existing']);
  });

  it('creates new repositories, and what a push brings into them, for its user only', async () => {
    if (!server) throw new Error('the server of the previous test is not running');
    const created = await api(server.url, adminToken, 'POST', '/workspaces', { name: 'Fresh' });
    expect(created.status).toBe(201);
    const repository = join(dataDir, 'repos', `${created.body.repositoryName}.git`);

    const clone = mkdtempSync(join(tmpdir(), 'sluice-robust-clone-'));
    try {
      const url = withToken(created.body.repositoryUrl, adminToken);
      expect((await git(clone, ['clone', '--quiet', url, 'work'])).code).toBe(0);
      const work = join(clone, 'work');
      expect((await git(work, ['commit', '--quiet', '--allow-empty', '-m', 'A pushed commit'])).code).toBe(0);
      const pushed = await git(work, ['push', '--quiet', 'origin', 'main']);
      expect(pushed.code, pushed.stderr).toBe(0);
    } finally {
      rmSync(clone, { recursive: true, force: true });
    }

    expect(entriesUnder(repository).length).toBeGreaterThan(10);
    expect(openToOthers(repository)).toEqual([]);
    expect(openToOthers(dataDir)).toEqual([]);
  });
});
