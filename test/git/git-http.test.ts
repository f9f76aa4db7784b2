import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitFiles, initBareRepository, readBlob, resolveRef } from '../../src/git/bare-repository.js';
import { runGitStatus } from '../../src/git/run-git.js';
import { isGitHttpPath } from '../../src/server/git-http.js';
import { ALICE, tempDir, userGit } from './fixture.js';
import { type GitServer, startGitServer } from './git-server.js';

describe('isGitHttpPath', () => {
  it.each([
    ['/info/refs', true],
    ['/git-upload-pack', true],
    ['/git-receive-pack', true],
    ['/HEAD', true],
    ['/objects/info/packs', false],
    ['/config', false],
    ['/info/refs/../../x', false],
    ['info/refs', false],
    ['', false],
  ])('%s: %s', (path, expected) => {
    expect(isGitHttpPath(path)).toBe(expected);
  });
});

describe('serveGitHttp', () => {
  let root: string;
  let server: GitServer;
  let repo: string;
  let url: string;

  beforeEach(async () => {
    root = tempDir();
    server = await startGitServer(root);
    repo = join(root, 'sales.git');
    url = `${server.base}/sales.git`;
    await initBareRepository(repo);
    await commitFiles(repo, {
      branch: 'main',
      files: { 'meltano.yml': 'version: 1\n' },
      message: 'Create the project',
      author: ALICE,
      expectedOld: null,
    });
  });

  afterEach(async () => {
    await Promise.all(server.served);
    await server.close();
  });

  it('lets a stock git clone, push, fetch and pull over smart HTTP', async () => {
    const work = tempDir();
    const a = join(work, 'a');
    const b = join(work, 'b');
    await userGit(work, 'clone', '--quiet', url, a);
    await userGit(work, 'clone', '--quiet', url, b);
    expect(readFileSync(join(a, 'meltano.yml'), 'utf8')).toBe('version: 1\n');
    expect(await userGit(a, 'rev-parse', 'HEAD')).toBe(await resolveRef(repo, 'main'));

    writeFileSync(join(a, 'extractors.yml'), 'plugins: {}\n');
    await userGit(a, 'add', '--all');
    await userGit(a, 'commit', '--quiet', '--no-gpg-sign', '-m', 'Add extractors');
    await userGit(a, 'push', '--quiet', 'origin', 'main');
    expect(await resolveRef(repo, 'main')).toBe(await userGit(a, 'rev-parse', 'HEAD'));
    expect(await readBlob(repo, 'main', 'extractors.yml')).toBe('plugins: {}\n');

    // b is behind now: its push is refused and the server keeps a's commit.
    writeFileSync(join(b, 'loaders.yml'), 'plugins: {}\n');
    await userGit(b, 'add', '--all');
    await userGit(b, 'commit', '--quiet', '--no-gpg-sign', '-m', 'Add loaders');
    const refused = await runGitStatus(['push', '--quiet', 'origin', 'main'], { cwd: b });
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toMatch(/rejected/);
    expect(await resolveRef(repo, 'main')).toBe(await userGit(a, 'rev-parse', 'HEAD'));

    await userGit(b, 'pull', '--quiet', '--no-rebase', '--no-edit', 'origin', 'main');
    await userGit(b, 'push', '--quiet', 'origin', 'main');
    const merged = await userGit(b, 'rev-parse', 'HEAD');
    expect(await resolveRef(repo, 'refs/heads/main')).toBe(merged);

    await userGit(a, 'fetch', '--quiet', 'origin');
    expect(await userGit(a, 'rev-parse', 'refs/remotes/origin/main')).toBe(merged);
    await userGit(a, 'pull', '--quiet', '--ff-only', 'origin', 'main');
    expect(await userGit(a, 'rev-parse', 'HEAD')).toBe(merged);
    expect(readFileSync(join(a, 'loaders.yml'), 'utf8')).toBe('plugins: {}\n');

    // New branches and tags travel too; the server's objects stay sound.
    await userGit(a, 'tag', 'v1');
    await userGit(a, 'push', '--quiet', 'origin', 'HEAD:refs/heads/feature', 'v1');
    expect(await resolveRef(repo, 'refs/heads/feature')).toBe(merged);
    expect(await resolveRef(repo, 'refs/tags/v1')).toBe(merged);
    await userGit(root, '--git-dir', repo, 'fsck', '--strict', '--no-dangling');
  });

  it('streams large pushes (a chunked request body) and clones them back intact, protocol v0 too', async () => {
    const work = tempDir();
    const a = join(work, 'a');
    await userGit(work, 'clone', '--quiet', url, a);
    const big = randomBytes(512 * 1024).toString('base64');
    writeFileSync(join(a, 'big.yml'), big);
    await userGit(a, 'add', '--all');
    await userGit(a, 'commit', '--quiet', '--no-gpg-sign', '-m', 'Big');
    await userGit(a, '-c', 'http.postBuffer=65536', 'push', '--quiet', 'origin', 'main');
    expect(await resolveRef(repo, 'main')).toBe(await userGit(a, 'rev-parse', 'HEAD'));

    const c = join(work, 'c');
    await userGit(work, '-c', 'protocol.version=0', 'clone', '--quiet', url, c);
    expect(readFileSync(join(c, 'big.yml'), 'utf8')).toBe(big);
  });

  it('answers the ref advertisement with the CGI status and headers, in protocol v2 when asked', async () => {
    const v2 = await fetch(`${url}/info/refs?service=git-upload-pack`, {
      headers: { 'Git-Protocol': 'version=2' },
    });
    expect(v2.status).toBe(200);
    expect(v2.headers.get('content-type')).toBe('application/x-git-upload-pack-advertisement');
    expect(v2.headers.get('cache-control')).toMatch(/no-cache/);
    expect(await v2.text()).toContain('version 2');

    const v0 = await fetch(`${url}/info/refs?service=git-upload-pack`);
    const text = await v0.text();
    expect(text).toContain('# service=git-upload-pack');
    expect(text).toContain(`${await resolveRef(repo, 'main')} refs/heads/main`);

    const missing = await fetch(`${server.base}/nope.git/info/refs?service=git-upload-pack`);
    expect(missing.status).toBe(404);
    await missing.text();
  });

  it('passes gzip-encoded request bodies to git, which decodes them (git clients gzip large negotiations)', async () => {
    const response = await fetch(`${url}/git-upload-pack`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-git-upload-pack-request',
        'content-encoding': 'gzip',
        'git-protocol': 'version=2',
      },
      body: gzipSync('0014command=ls-refs\n0000'),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-git-upload-pack-result');
    expect(await response.text()).toContain(`${await resolveRef(repo, 'main')} refs/heads/main`);
  });

  it('stops git when the client goes away in the middle of the pack', async () => {
    const big = randomBytes(2 * 1024 * 1024).toString('base64');
    const commit = await commitFiles(repo, {
      branch: 'main',
      files: { 'big.yml': big },
      message: 'm',
      author: ALICE,
    });
    const pkt = (text: string) => `${(text.length + 4).toString(16).padStart(4, '0')}${text}`;
    const before = server.served.length;
    const received = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(`${url}/git-upload-pack`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-git-upload-pack-request', 'git-protocol': 'version=2' },
      });
      request.on('error', reject);
      request.on('response', (response) => {
        response.once('data', (chunk: Buffer) => {
          request.destroy();
          resolve(chunk.length);
        });
      });
      request.end(`${pkt('command=fetch\n')}0001${pkt(`want ${commit}\n`)}${pkt('done\n')}0000`);
    });
    expect(received).toBeGreaterThan(0);
    const settled = await Promise.race([
      server.served[before]?.then(() => 'settled'),
      new Promise((r) => setTimeout(() => r('still running'), 5000)),
    ]);
    expect(settled).toBe('settled');
  });

  it('stops git when the client goes away in the middle of a request', async () => {
    const before = server.served.length;
    const request = httpRequest(`${url}/git-upload-pack`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-git-upload-pack-request', 'git-protocol': 'version=2' },
    });
    request.on('error', () => {
      // ECONNRESET after the destroy below: the point of the test.
    });
    // Half a request: git waits for the rest, and only the disconnect can end it.
    request.write('0014command=ls-refs\n');
    while (server.served.length === before) await new Promise((r) => setTimeout(r, 10));
    request.destroy();
    const settled = await Promise.race([
      server.served[before]?.then(() => 'settled'),
      new Promise((r) => setTimeout(() => r('still running'), 5000)),
    ]);
    expect(settled).toBe('settled');
  });
});
