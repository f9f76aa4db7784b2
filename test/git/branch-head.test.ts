import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commitFiles, initBareRepository } from '../../src/git/bare-repository.js';
import { branchHead } from '../../src/git/branch-head.js';
import { runGit } from '../../src/git/run-git.js';
import { ALICE, tempDir } from './fixture.js';

describe('branchHead', () => {
  it('follows a branch as it moves, as it is packed, and as it moves again', async () => {
    const repo = join(tempDir(), 'heads.git');
    await initBareRepository(repo);
    expect(await branchHead(repo, 'main')).toBeNull();
    const commit = (n: number) =>
      commitFiles(repo, {
        branch: 'main',
        files: { 'a.txt': `${n}\n` },
        message: `commit ${n}`,
        author: ALICE,
      });
    const first = await commit(1);
    expect(await branchHead(repo, 'main')).toBe(first);
    // Moved twice in a row, faster than a file's time can tell apart: the answer follows.
    const second = await commit(2);
    expect(await branchHead(repo, 'main')).toBe(second);
    const third = await commit(3);
    expect(await branchHead(repo, 'main')).toBe(third);
    await runGit(['pack-refs', '--all', '--prune'], { gitDir: repo });
    expect(await branchHead(repo, 'main')).toBe(third);
    const fourth = await commit(4);
    expect(await branchHead(repo, 'main')).toBe(fourth);
    await runGit(['update-ref', '-d', 'refs/heads/main'], { gitDir: repo });
    expect(await branchHead(repo, 'main')).toBeNull();
  });

  it('reads a loose ref itself, without starting git, and asks git for a symbolic one', async () => {
    const repo = join(tempDir(), 'loose.git');
    await initBareRepository(repo);
    const commit = (branch: string, n: number) =>
      commitFiles(repo, { branch, files: { 'a.txt': `${n}\n` }, message: `commit ${n}`, author: ALICE });
    const first = await commit('main', 1);
    const other = await commit('other', 2);
    const path = process.env.PATH;
    // No git to be found: only an answer read from the ref file can come back.
    process.env.PATH = join(repo, 'no-such-folder');
    try {
      expect(await branchHead(repo, 'main')).toBe(first);
      await expect(branchHead(repo, 'other')).resolves.toBe(other);
    } finally {
      process.env.PATH = path;
    }
    writeFileSync(join(repo, 'refs', 'heads', 'main'), 'ref: refs/heads/other\n');
    expect(await branchHead(repo, 'main')).toBe(other);
  });
});
