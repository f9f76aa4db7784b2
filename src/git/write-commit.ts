import { gitIdentityEnv, runGit } from './run-git.js';

/**
 * Writes a commit object for an existing tree (no ref moves: callers move refs with a
 * compare-and-swap of their own). Never signed; the author is also the committer.
 */
export async function writeCommit(
  repo: string,
  input: {
    readonly tree: string;
    readonly parents: readonly string[];
    readonly message: string;
    readonly author: { readonly name: string; readonly email: string };
  },
): Promise<string> {
  const args = ['commit-tree', '--no-gpg-sign', ...input.parents.flatMap((p) => ['-p', p]), input.tree];
  const out = await runGit(args, {
    gitDir: repo,
    input: input.message,
    env: gitIdentityEnv(input.author.name, input.author.email),
  });
  return out.toString('utf8').trim();
}
