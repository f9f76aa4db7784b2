import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { testSandboxEnv } from './sandbox.js';

const BIN = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));
const BUNDLE = fileURLToPath(new URL('../../dist/cli/main.cjs', import.meta.url));

/** A port nothing listens on: taken from the OS, then let go. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface ServerProcessOptions {
  readonly dataDir: string;
  readonly adminToken: string;
  readonly databaseUrl?: string;
  /** More variables for the server's process (a test's canary, SLUICE_PLUGIN_SANDBOX, ...). */
  readonly env?: Readonly<Record<string, string>>;
  /** More arguments for `sluice serve` (`--workers 0`, `--repos-dir DIR`). */
  readonly args?: readonly string[];
}

/** `sluice serve` running as a process of its own (the built CLI, as a user starts it). */
export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  /** Everything the server has written to stderr so far. */
  stderr(): string;
  /**
   * SIGKILL to the server's whole process group: the server and the git processes it started,
   * as when the machine or the container dies. Resolves once the server has exited.
   */
  crash(): Promise<void>;
}

/**
 * Starts `node bin/sluice.js serve` on a free loopback port, in a process group of its own, and
 * resolves once it listens. Needs the built CLI (`npm run build`).
 */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run \`npm run build\` first.`);
  const port = await freePort();
  const args = [BIN, 'serve', '--host', '127.0.0.1', '--port', String(port), ...(options.args ?? [])];
  const child = spawn(process.execPath, args, {
    env: {
      PATH: process.env.PATH ?? '',
      SLUICE_DATA_DIR: options.dataDir,
      SLUICE_ADMIN_TOKEN: options.adminToken,
      ...(options.databaseUrl ? { SLUICE_DATABASE_URL: options.databaseUrl } : {}),
      ...(await testSandboxEnv()),
      ...options.env,
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('sluice serve did not start');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer | string) => {
    stderr += chunk.toString();
  });
  await listening(child);
  return {
    url: `http://127.0.0.1:${port}`,
    pid,
    stderr: () => stderr,
    crash: async () => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
      await exited;
    },
  };
}

function listening(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes('Sluice is listening on ')) resolve();
    });
    child.stderr?.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`sluice serve exited (${code ?? signal}) before listening:\n${stdout}${stderr}`)),
    );
  });
}
