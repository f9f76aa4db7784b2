import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { testSandboxEnv } from './sandbox.js';

const BIN = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));

export interface WorkerProcessOptions {
  readonly name: string;
  readonly dataDir: string;
  readonly databaseUrl: string;
  readonly serverUrl: string;
  readonly token: string;
  readonly secretKey: string;
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

/** `sluice worker` running as a process of its own, in a process group of its own. */
export interface WorkerProcess {
  readonly pid: number;
  readonly name: string;
  /** Its id in GET /api/v1/workers, as it printed it. */
  readonly id: string;
  stderr(): string;
  /** SIGKILL to the whole group (the worker, its runners and their plugins), as a lost machine. */
  crash(): Promise<void>;
  /** SIGTERM, and waits for it to exit. */
  stop(): Promise<void>;
}

/** Starts `node bin/sluice.js worker` and resolves once it takes runs. Needs the built CLI. */
export async function startWorkerProcess(options: WorkerProcessOptions): Promise<WorkerProcess> {
  const child = spawn(
    process.execPath,
    [BIN, 'worker', '--name', options.name, '--data-dir', options.dataDir, ...(options.args ?? [])],
    {
      env: {
        PATH: process.env.PATH ?? '',
        SLUICE_DATABASE_URL: options.databaseUrl,
        SLUICE_URL: options.serverUrl,
        SLUICE_TOKEN: options.token,
        SLUICE_SECRET_KEY: options.secretKey,
        ...(await testSandboxEnv()),
        ...options.env,
      },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error('sluice worker did not start');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const id = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      stdout += chunk;
      const started = /\((wkr_[0-9a-z]+)\) is taking runs/.exec(stdout);
      if (started) resolve(started[1] as string);
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`sluice worker exited (${code ?? signal}) before taking runs:\n${stdout}${stderr}`)),
    );
  });
  const signal = async (name: NodeJS.Signals, group: boolean) => {
    try {
      process.kill(group ? -pid : pid, name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
    await exited;
  };
  return {
    pid,
    name: options.name,
    id,
    stderr: () => stderr,
    crash: () => signal('SIGKILL', true),
    stop: () => signal('SIGTERM', false),
  };
}
