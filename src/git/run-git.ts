import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { SluiceError } from '../errors.js';

export interface GitOptions {
  /** The repository (`--git-dir`); without it, git finds the repository from `cwd` as usual. */
  readonly gitDir?: string;
  readonly cwd?: string;
  /** Written to git's stdin, which is then closed. */
  readonly input?: string | Buffer;
  /** Added to the isolated environment (identity, `GIT_INDEX_FILE`, CGI variables, ...). */
  readonly env?: Readonly<Record<string, string>>;
}

/** What a finished git process said: its exit status (null when a signal ended it) and output. */
export interface GitOutcome {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/**
 * Configuration given on every command line. Our repositories have no hooks (they are created
 * without templates), and a hook must never run because of a file someone managed to write.
 */
const ISOLATION_ARGS = ['-c', 'core.hooksPath=/dev/null'] as const;

/** Enough stderr to explain a failure; git can print much more (progress, long fsck lists). */
const STDERR_LIMIT = 64 * 1024;

/**
 * The environment of every git process: nothing inherited but `PATH`, so that neither the user's
 * or the machine's configuration (`~/.gitconfig`, `/etc/gitconfig`, system attributes) nor stray
 * `GIT_DIR` / `GIT_INDEX_FILE` / proxy variables of the server's own environment change what git
 * does, and git never waits for a password on a terminal.
 */
function isolatedEnv(extra: Readonly<Record<string, string>> | undefined): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ATTR_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    ...extra,
  };
}

/**
 * Starts `git` isolated from the machine's configuration, with all three stdio streams piped.
 * For callers that stream (the smart HTTP backend); everything else uses `runGit`.
 */
export function spawnGit(
  args: readonly string[],
  options: Omit<GitOptions, 'input'> & { readonly detached?: boolean } = {},
): ChildProcessWithoutNullStreams {
  const gitDirArgs = options.gitDir === undefined ? [] : [`--git-dir=${options.gitDir}`];
  return spawn('git', [...ISOLATION_ARGS, ...gitDirArgs, ...args], {
    cwd: options.cwd,
    env: isolatedEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: options.detached,
  });
}

/**
 * Runs git to the end and reports its exit status without judging it: for commands whose status
 * is an answer (`rev-parse --verify --quiet` exits 1 for "no such ref").
 */
export function runGitStatus(args: readonly string[], options: GitOptions = {}): Promise<GitOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawnGit(args, options);
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < STDERR_LIMIT) stderr += chunk;
    });
    // A git that exits before reading all its input closes the pipe (EPIPE): its exit status,
    // reported below, says why, so the write error itself carries nothing more.
    child.stdin.on('error', () => {});
    child.on('error', (error) =>
      reject(
        new SluiceError(
          'git_failed',
          `Could not run git ${args[0] ?? ''}: ${error.message}. Is git installed?`,
          {
            args,
          },
        ),
      ),
    );
    child.on('close', (exitCode, signal) =>
      resolve({ exitCode, signal, stdout: Buffer.concat(stdout), stderr: stderr.slice(0, STDERR_LIMIT) }),
    );
    child.stdin.end(options.input);
  });
}

/**
 * Runs git and resolves with its stdout; any exit status but 0 rejects with a `git_failed`
 * error naming the subcommand and quoting git's stderr.
 */
export async function runGit(args: readonly string[], options: GitOptions = {}): Promise<Buffer> {
  const outcome = await runGitStatus(args, options);
  if (outcome.exitCode !== 0) throw gitFailure(args, outcome);
  return outcome.stdout;
}

/** The error for a git command that did not exit with status 0. */
export function gitFailure(args: readonly string[], outcome: GitOutcome): SluiceError {
  const how = outcome.signal
    ? `was killed by ${outcome.signal}`
    : `failed with exit status ${outcome.exitCode}`;
  const stderr = outcome.stderr.trim();
  return new SluiceError('git_failed', `git ${args[0] ?? ''} ${how}${stderr ? `: ${stderr}` : '.'}`, {
    args,
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    stderr,
  });
}

/** The variables that make git record `name <email>` as both author and committer. */
export function gitIdentityEnv(name: string, email: string): Record<string, string> {
  return {
    GIT_AUTHOR_NAME: name,
    GIT_AUTHOR_EMAIL: email,
    GIT_COMMITTER_NAME: name,
    GIT_COMMITTER_EMAIL: email,
  };
}
