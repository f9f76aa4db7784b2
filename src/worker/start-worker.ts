import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SluiceError } from '../errors.js';
import { CodeMirror } from '../runs/code-mirror.js';
import { RunService } from '../runs/run-service.js';
import { openRunTransport } from '../runs/run-transport.js';
import { LostWorkerReaper } from '../runs/worker-lease.js';
import { sluiceCodeRoot } from '../sandbox/code-root.js';
import { preparePluginSandbox } from '../sandbox/plugin-sandbox.js';
import type { SandboxSettings } from '../sandbox/sandbox-settings.js';
import { parseSecretKey } from '../secrets/secret-key.js';
import { type SecretContext, secretEnvFor, secretValues } from '../secrets/secret-service.js';
import { openStore, type Store } from '../store/open-store.js';
import { findWorkspaceById, findWorkspaceByName } from '../store/workspaces.js';

export interface WorkerOptions {
  readonly name: string;
  readonly concurrency: number;
  /** Only runs in these environments (the workspace's active environment when the run was asked for). */
  readonly environments: readonly string[] | null;
  /** Only runs of these workspaces (names or ids). */
  readonly workspaces: readonly string[] | null;
  /** The worker's own folder: repository mirrors and the workspaces' run folders. */
  readonly dataDir: string;
  /** The cluster's PostgreSQL database (postgres://...). */
  readonly databaseUrl: string;
  /** A Sluice server the worker fetches workspaces' code from, and a token that may read them. */
  readonly serverUrl: string;
  readonly token: string;
  /** The servers' SLUICE_SECRET_KEY: runs get their workspace's secrets. */
  readonly secretKey: string;
  readonly sandbox: SandboxSettings;
  readonly leaseMs: number;
}

export interface RunningWorker {
  readonly id: string;
  close(): Promise<void>;
}

/**
 * `sluice worker`: a process on any machine that reaches the PostgreSQL database and a Sluice
 * server. It takes runs from the queue (only those its filters allow), fetches the workspace's
 * code at the run's commit over Git HTTP, runs the pipeline in the sandbox, and writes the log,
 * records and state to the database, where every server reads them.
 */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  if (!/^postgres(ql)?:\/\//.test(options.databaseUrl)) {
    throw new SluiceError(
      'usage',
      'sluice worker needs the cluster\'s PostgreSQL database: set SLUICE_DATABASE_URL to "postgres://...", as the servers have it.',
    );
  }
  const secretKey = parseSecretKey(options.secretKey, 'SLUICE_SECRET_KEY');
  process.umask(0o077);
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  await checkServer(options.serverUrl, options.token);
  const store = await openStore({ databaseUrl: options.databaseUrl, dataDir });
  const closers: (() => Promise<void>)[] = [() => store.close()];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  try {
    const workspaces = options.workspaces && (await workspaceIds(store, options.workspaces));
    const codeRoot = sluiceCodeRoot();
    const sandbox = await preparePluginSandbox({ dataDir, settings: options.sandbox, codeRoot });
    if (sandbox.problem) throw new SluiceError('sandbox_unavailable', sandbox.problem);
    const transport = await openRunTransport(store, options.databaseUrl);
    closers.push(() => transport.events.close());
    const mirror = new CodeMirror(join(dataDir, 'repos'), options.serverUrl, options.token);
    const context: SecretContext = {
      store,
      reposDir: mirror.reposDir,
      publicUrl: options.serverUrl,
      secretKey,
    };
    const runs = new RunService(context, {
      dataDir,
      sandbox,
      codeRoot,
      queue: transport.queue,
      events: transport.events,
      prepareCode: (workspace, commit) => mirror.ensure(workspace.repository_name, commit),
      secrets: (workspace, environment) => secretEnvFor(context, workspace, environment),
      secretValues: (workspace) => secretValues(context, workspace),
    });
    await runs.recover();
    await runs.startExecuting(
      {
        name: options.name,
        kind: 'worker',
        filter: { environments: options.environments, workspaces },
        concurrency: options.concurrency,
      },
      options.leaseMs,
    );
    closers.push(() => runs.close());
    const reaper = new LostWorkerReaper(store.db, transport.queue, transport.events, options.leaseMs);
    reaper.start();
    closers.push(() => reaper.stop());
    return { id: runs.worker?.id ?? '', close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** The server answers and takes the token: said at start, not at the first run. */
async function checkServer(serverUrl: string, token: string): Promise<void> {
  const url = `${serverUrl.replace(/\/+$/, '')}/api/v1/workspaces?limit=1`;
  let response: Response;
  try {
    response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  } catch (error) {
    throw new SluiceError(
      'server_unreachable',
      `Cannot reach the Sluice server at ${serverUrl} (${(error as Error).message}): the worker fetches workspaces' code from it. Point SLUICE_URL (or --url) at a server.`,
    );
  }
  if (response.status === 401 || response.status === 403) {
    throw new SluiceError(
      'unauthorized',
      `The server at ${serverUrl} refused the worker's token (${response.status}). Give the worker a token that may read the workspaces it runs (SLUICE_TOKEN or --token).`,
    );
  }
}

/** The ids of the workspaces a worker is limited to, given by name or id. */
async function workspaceIds(store: Store, given: readonly string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const nameOrId of given) {
    const row =
      (await findWorkspaceById(store.db, nameOrId)) ?? (await findWorkspaceByName(store.db, nameOrId));
    if (!row) {
      throw new SluiceError(
        'workspace_not_found',
        `--workspaces names '${nameOrId}', which is no workspace's name or id on this database.`,
      );
    }
    ids.push(row.id);
  }
  return ids;
}
