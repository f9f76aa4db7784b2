import { hostname } from 'node:os';
import { SluiceError } from '../../errors.js';
import { leaseFromEnv } from '../../runs/worker-lease.js';
import { sandboxSettingsFromEnv } from '../../sandbox/sandbox-settings.js';
import type { CliIo } from '../io.js';

export interface WorkerFlags {
  readonly name?: string;
  readonly concurrency?: string;
  readonly environments?: string;
  readonly workspaces?: string;
  readonly dataDir?: string;
  readonly url?: string;
  readonly token?: string;
}

/** `a, b,c` into names; an empty list is a mistake, not "everything". */
function listFlag(flag: string, text: string | undefined): string[] | null {
  if (text === undefined) return null;
  const items = text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0) throw new SluiceError('usage', `${flag} needs at least one name (a,b,c).`);
  return items;
}

/** `sluice worker`: executes runs from the cluster's queue until Ctrl-C or SIGTERM. */
export async function worker(io: CliIo, flags: WorkerFlags): Promise<void> {
  const concurrencyText = flags.concurrency ?? io.env.SLUICE_WORKER_CONCURRENCY ?? '2';
  const concurrency = Number(concurrencyText);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new SluiceError(
      'usage',
      `--concurrency must be a whole number from 1 to 64, not '${concurrencyText}'.`,
    );
  }
  const databaseUrl = io.env.SLUICE_DATABASE_URL ?? '';
  const token = flags.token ?? io.env.SLUICE_TOKEN ?? '';
  if (token === '') {
    throw new SluiceError(
      'usage',
      'sluice worker needs a token that may read the workspaces it runs (SLUICE_TOKEN or --token): it fetches their code from the server over Git HTTP.',
    );
  }
  const secretKey = io.env.SLUICE_SECRET_KEY ?? '';
  if (secretKey === '') {
    throw new SluiceError(
      'usage',
      "sluice worker needs SLUICE_SECRET_KEY, the servers' key, to give runs their workspace's secrets (a server without SLUICE_SECRET_KEY keeps it in secret.key in its data folder).",
    );
  }
  const { startWorker } = await import('../../worker/start-worker.js');
  const name = flags.name ?? `${hostname()}:${process.pid}`;
  const running = await startWorker({
    name,
    concurrency,
    environments: listFlag('--environments', flags.environments),
    workspaces: listFlag('--workspaces', flags.workspaces),
    dataDir: flags.dataDir ?? io.env.SLUICE_WORKER_DATA_DIR ?? '.sluice-worker',
    databaseUrl,
    serverUrl: flags.url ?? io.env.SLUICE_URL ?? 'http://127.0.0.1:8080',
    token,
    secretKey,
    sandbox: sandboxSettingsFromEnv(io.env),
    leaseMs: leaseFromEnv(io.env),
  });
  io.stdout(`Sluice worker '${name}' (${running.id}) is taking runs, ${concurrency} at a time.\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      io.stdout('Stopping the worker: its runs are stopped and fail; start them again to resume.\n');
      running.close().then(resolve, resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
