import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../src/errors.js';
import {
  commitFiles,
  initBareRepository,
  listFiles,
  readBlob,
  resolveRef,
} from '../../src/git/bare-repository.js';
import { runGit } from '../../src/git/run-git.js';
import { ALICE, tempDir } from './fixture.js';

async function newRepository(): Promise<string> {
  const repo = join(tempDir(), 'repo.git');
  await initBareRepository(repo);
  return repo;
}

async function git(repo: string, ...args: string[]): Promise<string> {
  return (await runGit(args, { gitDir: repo })).toString('utf8').trim();
}

async function rejection(promise: Promise<unknown>): Promise<SluiceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (error instanceof SluiceError) return error;
  throw new Error(`expected a SluiceError, got ${String(error)}`);
}

describe('initBareRepository', () => {
  it('creates a bare repository on an unborn main, configured for smart HTTP pushes, without hooks', async () => {
    const repo = await newRepository();
    expect(await git(repo, 'rev-parse', '--is-bare-repository')).toBe('true');
    expect(await git(repo, 'symbolic-ref', 'HEAD')).toBe('refs/heads/main');
    expect(await git(repo, 'config', '--local', 'http.receivepack')).toBe('true');
    expect(await git(repo, 'config', '--local', 'receive.fsckObjects')).toBe('true');
    expect(existsSync(join(repo, 'hooks')) ? readdirSync(join(repo, 'hooks')) : []).toEqual([]);
    expect(await resolveRef(repo, 'refs/heads/main')).toBeNull();
    expect(await resolveRef(repo, 'HEAD')).toBeNull();
  });

  it('refuses a path that already exists', async () => {
    const repo = await newRepository();
    const error = await rejection(initBareRepository(repo));
    expect(error.code).toBe('file_exists');
  });
});

describe('commitFiles', () => {
  it('makes a root commit with nested folders and moves the branch to it', async () => {
    const repo = await newRepository();
    const commit = await commitFiles(repo, {
      branch: 'main',
      files: {
        'meltano.yml': 'version: 1\n',
        'conf/envs/dev.yml': 'environments: []\n',
        'conf/a.yml': 'a\n',
      },
      message: 'Create the project',
      author: ALICE,
      expectedOld: null,
    });
    expect(commit).toMatch(/^[0-9a-f]{40}$/);
    expect(await resolveRef(repo, 'refs/heads/main')).toBe(commit);
    expect(await resolveRef(repo, 'HEAD')).toBe(commit);
    expect(await git(repo, 'log', '-1', '--format=%an <%ae>|%cn <%ce>|%P|%B', commit)).toBe(
      'Alice Example <alice@example.com>|Alice Example <alice@example.com>||Create the project',
    );
    expect(await listFiles(repo, commit)).toEqual([
      { path: 'conf/a.yml', mode: '100644', size: 2 },
      { path: 'conf/envs/dev.yml', mode: '100644', size: 17 },
      { path: 'meltano.yml', mode: '100644', size: 11 },
    ]);
    await git(repo, 'fsck', '--strict', '--no-dangling');
  });

  it('applies changes on top of the parent: new, changed and deleted files; untouched folders keep their trees', async () => {
    const repo = await newRepository();
    const first = await commitFiles(repo, {
      branch: 'main',
      files: {
        'meltano.yml': 'one\n',
        'keep/deep/x.yml': 'x\n',
        'gone/only.yml': 'bye\n',
        'conf/b.yml': 'b\n',
      },
      message: 'first',
      author: ALICE,
    });
    const second = await commitFiles(repo, {
      branch: 'main',
      files: { 'meltano.yml': 'two\n', 'gone/only.yml': null, 'conf/c.yml': 'c\n' },
      message: 'second',
      author: ALICE,
    });
    expect(await git(repo, 'rev-parse', `${second}^`)).toBe(first);
    expect((await listFiles(repo, second)).map((f) => f.path)).toEqual([
      'conf/b.yml',
      'conf/c.yml',
      'keep/deep/x.yml',
      'meltano.yml',
    ]);
    expect(await readBlob(repo, second, 'meltano.yml')).toBe('two\n');
    expect(await readBlob(repo, first, 'meltano.yml')).toBe('one\n');
    expect(await git(repo, 'rev-parse', `${second}:keep`)).toBe(
      await git(repo, 'rev-parse', `${first}:keep`),
    );
  });

  it('refuses to move a branch that moved since the caller read it (compare-and-swap)', async () => {
    const repo = await newRepository();
    const base = { branch: 'main', message: 'm', author: ALICE } as const;
    const first = await commitFiles(repo, { ...base, files: { 'a.yml': '1\n' }, expectedOld: null });
    const second = await commitFiles(repo, { ...base, files: { 'a.yml': '2\n' }, expectedOld: first });

    const stale = await rejection(
      commitFiles(repo, { ...base, files: { 'a.yml': '3\n' }, expectedOld: first }),
    );
    expect(stale.code).toBe('conflict');
    expect(stale.details).toMatchObject({ expected: first, actual: second });

    const exists = await rejection(
      commitFiles(repo, { ...base, files: { 'a.yml': '4\n' }, expectedOld: null }),
    );
    expect(exists.code).toBe('conflict');
    expect(await resolveRef(repo, 'refs/heads/main')).toBe(second);
  });

  it('lets exactly one of two concurrent writers of the same branch win', async () => {
    const repo = await newRepository();
    const base = { branch: 'main', message: 'm', author: ALICE } as const;
    const first = await commitFiles(repo, { ...base, files: { 'a.yml': '1\n' } });
    const results = await Promise.allSettled(
      ['x', 'y'].map((text) => commitFiles(repo, { ...base, files: { 'a.yml': text }, expectedOld: first })),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')?.reason).toMatchObject({ code: 'conflict' });
    expect(await resolveRef(repo, 'main')).toBe((won[0] as PromiseFulfilledResult<string>).value);
  });

  it('creates other branches from explicit parents and makes merges', async () => {
    const repo = await newRepository();
    const base = { message: 'm', author: ALICE } as const;
    const main = await commitFiles(repo, { ...base, branch: 'main', files: { 'a.yml': 'a\n' } });
    const side = await commitFiles(repo, {
      ...base,
      branch: 'feature/x',
      parents: [main],
      files: { 'b.yml': 'b\n' },
    });
    expect(await git(repo, 'rev-parse', `${side}^`)).toBe(main);
    expect((await listFiles(repo, side)).map((f) => f.path)).toEqual(['a.yml', 'b.yml']);
    const merge = await commitFiles(repo, {
      ...base,
      branch: 'main',
      parents: [main, side],
      files: { 'b.yml': 'b\n' },
      expectedOld: main,
    });
    expect(await git(repo, 'log', '-1', '--format=%P', merge)).toBe(`${main} ${side}`);
    expect(await resolveRef(repo, 'refs/heads/feature/x')).toBe(side);
  });

  it.each([
    ['an absolute path', { '/etc/passwd': 'x' }],
    ['a path that climbs out', { '../x.yml': 'x' }],
    ['a .git folder', { '.git/config': 'x' }],
    ['an empty segment', { 'a//b.yml': 'x' }],
    ['a file that is also a folder', { a: 'x', 'a/b.yml': 'y' }],
  ])('rejects %s', async (_, files) => {
    const repo = await newRepository();
    const error = await rejection(commitFiles(repo, { branch: 'main', files, message: 'm', author: ALICE }));
    expect(error.code).toBe('validation_failed');
    expect(await resolveRef(repo, 'main')).toBeNull();
  });

  it('rejects a bad branch name and a file placed where the parent has a folder', async () => {
    const repo = await newRepository();
    const base = { message: 'm', author: ALICE } as const;
    const bad = await rejection(commitFiles(repo, { ...base, branch: 'a..b', files: { 'a.yml': '' } }));
    expect(bad.code).toBe('validation_failed');
    await commitFiles(repo, { ...base, branch: 'main', files: { 'conf/a.yml': 'a\n' } });
    const clash = await rejection(commitFiles(repo, { ...base, branch: 'main', files: { conf: 'x' } }));
    expect(clash.code).toBe('validation_failed');
  });
});

describe('readBlob and resolveRef', () => {
  it('answer undefined and null for what does not exist, and fail with git_failed on a broken repository', async () => {
    const repo = await newRepository();
    const commit = await commitFiles(repo, {
      branch: 'main',
      files: { 'conf/a b.yml': 'spaces\n' },
      message: 'm',
      author: ALICE,
    });
    expect(await readBlob(repo, commit, 'conf/a b.yml')).toBe('spaces\n');
    expect(await readBlob(repo, commit, 'conf/missing.yml')).toBeUndefined();
    expect(await readBlob(repo, commit, 'conf')).toBeUndefined();
    expect(await resolveRef(repo, 'refs/heads/nope')).toBeNull();
    expect(await resolveRef(repo, commit.slice(0, 12))).toBe(commit);
    const broken = await rejection(resolveRef(join(tempDir(), 'not-a-repo'), 'main'));
    expect(broken.code).toBe('git_failed');
    expect(broken.message).toMatch(/^git rev-parse failed with exit status 128: /);
  });
});
