import { SluiceError } from '../../errors.js';
import { leaseFromEnv } from '../../runs/worker-lease.js';
import { sandboxSettingsFromEnv } from '../../sandbox/sandbox-settings.js';
import type { CliIo } from '../io.js';

export interface ServeFlags {
  readonly host?: string;
  readonly port?: string;
  readonly dataDir?: string;
  readonly workers?: string;
  readonly reposDir?: string;
}

/** `sluice serve`: runs the platform until Ctrl-C or SIGTERM. Flags beat SLUICE_* variables. */
export async function serve(io: CliIo, flags: ServeFlags): Promise<void> {
  const host = flags.host ?? io.env.SLUICE_HOST ?? '127.0.0.1';
  const portText = flags.port ?? io.env.SLUICE_PORT ?? '8080';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SluiceError('usage', `The port must be a number from 0 to 65535, not '${portText}'.`);
  }
  const workersText = flags.workers ?? io.env.SLUICE_WORKERS ?? '2';
  const workers = Number(workersText);
  if (!Number.isInteger(workers) || workers < 0 || workers > 64) {
    throw new SluiceError('usage', `--workers must be a whole number from 0 to 64, not '${workersText}'.`);
  }
  const databaseUrl = io.env.SLUICE_DATABASE_URL || undefined;
  if (workers === 0 && !/^postgres(ql)?:\/\//.test(databaseUrl ?? '')) {
    throw new SluiceError(
      'usage',
      "--workers 0 leaves runs to `sluice worker` processes, which need the cluster's PostgreSQL database: set SLUICE_DATABASE_URL=postgres://... (with SQLite, only this server can run pipelines).",
    );
  }
  const leaseMs = leaseFromEnv(io.env);
  const { startServer } = await import('../../server/serve.js');
  const server = await startServer({
    host,
    port,
    dataDir: flags.dataDir ?? io.env.SLUICE_DATA_DIR ?? '.sluice',
    databaseUrl,
    publicUrl: io.env.SLUICE_PUBLIC_URL || undefined,
    adminToken: io.env.SLUICE_ADMIN_TOKEN || undefined,
    secretKey: io.env.SLUICE_SECRET_KEY || undefined,
    sandbox: sandboxSettingsFromEnv(io.env),
    workers,
    reposDir: flags.reposDir ?? (io.env.SLUICE_REPOS_DIR || undefined),
    leaseMs,
  });
  for (const notice of server.notices) io.stderr(`${notice}\n`);
  io.stdout(
    `Sluice is listening on ${server.url} (metadata: ${server.store.kind}); repository URLs start with ${server.publicUrl}/git/\n`,
  );
  if (server.createdAdminToken) {
    io.stdout(
      `Admin token (shown once, also in ${server.createdAdminToken.file}):\n${server.createdAdminToken.token}\n`,
    );
  }
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      io.stdout('Stopping Sluice...\n');
      server.close().then(resolve, resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
