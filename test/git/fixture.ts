import { gitIdentityEnv, runGit } from '../../src/git/run-git.js';
import { tempFolder } from '../helpers/temp-folders.js';

/** A new temporary folder, removed after the test. */
export function tempDir(): string {
  return tempFolder('sluice-git-', 'test');
}

export const ALICE = { name: 'Alice Example', email: 'alice@example.com' } as const;

/**
 * Runs a stock git command as a user would, in `cwd`: `runGit` already ignores the machine's
 * configuration; the identity comes from the environment and the protocol is set explicitly.
 */
export async function userGit(cwd: string, ...args: string[]): Promise<string> {
  const out = await runGit(['-c', 'protocol.version=2', '-c', 'init.defaultBranch=main', ...args], {
    cwd,
    env: gitIdentityEnv(ALICE.name, ALICE.email),
  });
  return out.toString('utf8').trim();
}
