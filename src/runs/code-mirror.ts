import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SluiceError } from '../errors.js';
import { initBareRepository } from '../git/bare-repository.js';
import { runGitStatus } from '../git/run-git.js';
import { OneAtATime } from '../one-at-a-time.js';

/**
 * A worker's copies of workspaces' repositories, fetched over Git HTTP from a Sluice server with
 * the worker's token: a worker needs no shared disk. Each repository is a bare mirror of the
 * server's branches under `reposDir`, named as on the server, so the project loader reads it as
 * a server reads its own.
 */
export class CodeMirror {
  /** Fetches per repository, one at a time: two runs of one workspace fetch once. */
  private readonly fetching = new OneAtATime();

  constructor(
    readonly reposDir: string,
    private readonly serverUrl: string,
    private readonly token: string,
  ) {}

  /** Makes `commit` of the repository present locally, fetching the server's branches when it is not. */
  async ensure(repositoryName: string, commit: string): Promise<void> {
    const repo = join(this.reposDir, `${repositoryName}.git`);
    if (await hasCommit(repo, commit)) return;
    await this.fetching.run(repo, async () => {
      if (await hasCommit(repo, commit)) return;
      await this.fetch(repositoryName, repo);
    });
    if (!(await hasCommit(repo, commit))) {
      throw new SluiceError(
        'run_failed',
        `The commit ${commit.slice(0, 12)} is no longer on any branch of ${repositoryName} on ${this.serverUrl}; start the run again.`,
        { commit },
      );
    }
  }

  private async fetch(repositoryName: string, repo: string): Promise<void> {
    if (!existsSync(repo)) {
      await mkdir(this.reposDir, { recursive: true, mode: 0o700 });
      await initBareRepository(repo);
    }
    const url = `${this.serverUrl.replace(/\/+$/, '')}/git/${repositoryName}.git`;
    // The token goes in git's environment, never on a command line other users can list.
    const outcome = await runGitStatus(
      ['fetch', '--quiet', '--no-tags', '--prune', url, '+refs/heads/*:refs/heads/*'],
      {
        gitDir: repo,
        env: {
          GIT_CONFIG_COUNT: '1',
          GIT_CONFIG_KEY_0: 'http.extraHeader',
          GIT_CONFIG_VALUE_0: `Authorization: Bearer ${this.token}`,
        },
      },
    );
    if (outcome.exitCode !== 0) {
      const said = outcome.stderr.replaceAll(this.token, '****').trim();
      throw new SluiceError(
        'run_failed',
        `This worker could not fetch ${repositoryName} from ${url}: ${said || `git exited with ${outcome.exitCode}`}. Check that the server is reachable from the worker and that the worker's token (SLUICE_TOKEN) may read the workspace.`,
        { repository: repositoryName },
      );
    }
  }
}

async function hasCommit(repo: string, commit: string): Promise<boolean> {
  if (!existsSync(repo)) return false;
  const outcome = await runGitStatus(['cat-file', '-e', `${commit}^{commit}`], { gitDir: repo });
  return outcome.exitCode === 0;
}
