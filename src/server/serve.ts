import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { reconcilePromotions } from '../promotion/promotion-service.js';
import { openRunTransport } from '../runs/run-transport.js';
import { DEFAULT_LEASE_MS } from '../runs/worker-lease.js';
import { sluiceCodeRoot } from '../sandbox/code-root.js';
import { preparePluginSandbox } from '../sandbox/plugin-sandbox.js';
import { DEFAULT_SANDBOX_SETTINGS, type SandboxSettings } from '../sandbox/sandbox-settings.js';
import { loadSecretKey } from '../secrets/secret-key.js';
import { openStore, type Store } from '../store/open-store.js';
import { ensureAdminToken } from '../tokens/token-service.js';
import { recoverRepositories } from '../workspaces/recover.js';
import { buildApp } from './app.js';
import { makeDataPrivate, permissionNotices } from './private-data-dir.js';

/** How old a leftover in a shared repositories folder must be before a starting server settles it. */
const SHARED_LEFTOVER_AGE_MS = 10 * 60_000;

export interface ServeOptions {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly databaseUrl?: string;
  readonly publicUrl?: string;
  readonly adminToken?: string;
  /** SLUICE_SECRET_KEY: 32 bytes as hex or base64; unset: `secret.key` in the data folder. */
  readonly secretKey?: string;
  readonly logger?: boolean;
  /** How often the scheduler looks for due schedules (default 20 s; tests drive it themselves). */
  readonly schedulerTickMs?: number;
  /** How plugins are confined (SLUICE_PLUGIN_SANDBOX, ...); bubblewrap by default. */
  readonly sandbox?: SandboxSettings;
  /** Runs this server executes at once (default 2; 0: none, `sluice worker` processes do). */
  readonly workers?: number;
  /**
   * The workspaces' repositories (default `<dataDir>/repos`): one folder that every server of a
   * cluster mounts, while each keeps its own data folder.
   */
  readonly reposDir?: string;
  /** A worker's lease (SLUICE_WORKER_LEASE_SECONDS; default 30 s). */
  readonly leaseMs?: number;
}

export interface RunningServer {
  readonly url: string;
  readonly publicUrl: string;
  readonly app: FastifyInstance;
  readonly store: Store;
  /** Set when this start created the first admin token (printed once by the caller). */
  readonly createdAdminToken?: { token: string; file: string };
  /** What the operator should know about this start, one line each (printed on stderr by the CLI). */
  readonly notices: readonly string[];
  close(): Promise<void>;
}

/**
 * Starts the platform: the metadata store (SQLite in the data folder, or PostgreSQL), the admin
 * token, and the HTTP server. `port: 0` picks a free port (tests).
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  // Everything the server and its children (git, plugins) create from now on is for its user
  // only: the database SQLite creates, repositories git creates or receives, run folders. A umask
  // covers every creator at once, where a mode on each call would miss the ones we do not write.
  // The process is the server's for good, so the umask is not put back when it closes.
  process.umask(0o077);
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const sqliteFile = options.databaseUrl?.startsWith('sqlite:')
    ? resolve(options.databaseUrl.slice('sqlite:'.length))
    : undefined;
  // A data folder made before (or copied under a 022 umask) is made private too, and said so.
  const notices = permissionNotices(
    dataDir,
    makeDataPrivate(dataDir, sqliteFile ? [sqliteFile, `${sqliteFile}-wal`, `${sqliteFile}-shm`] : []),
  );
  const reposDir = options.reposDir ? resolve(options.reposDir) : join(dataDir, 'repos');
  mkdirSync(reposDir, { recursive: true });
  // Scratch repositories of promotions a killed server left behind: never needed again.
  rmSync(join(dataDir, 'tmp'), { recursive: true, force: true });
  // A bad SLUICE_SECRET_KEY stops the start here, before anything is opened.
  const secretKey = await loadSecretKey({ fromEnv: options.secretKey, dataDir });
  const store = await openStore({ databaseUrl: options.databaseUrl, dataDir });
  const closers: (() => Promise<void>)[] = [];
  try {
    const admin = await ensureAdminToken(store, { dataDir, fixedToken: options.adminToken });
    // Promotions a killed server left half-way are settled from the repositories before serving.
    const recovery = { store, reposDir, publicUrl: options.publicUrl ?? '' };
    // On PostgreSQL other servers may share the folder and be creating, deleting or moving refs
    // right now: only what is old enough to be certainly abandoned is settled.
    await recoverRepositories(recovery, store.kind === 'postgres' ? SHARED_LEFTOVER_AGE_MS : 0);
    await reconcilePromotions(recovery);
    const codeRoot = sluiceCodeRoot();
    const sandbox = await preparePluginSandbox({
      dataDir,
      settings: options.sandbox ?? DEFAULT_SANDBOX_SETTINGS,
      codeRoot,
    });
    if (sandbox.problem) console.error(`sluice: ${sandbox.problem}`);
    else if (sandbox.settings.mode === 'off') {
      console.error(
        'sluice: SLUICE_PLUGIN_SANDBOX=off: plugins run unconfined, as the server (one trusted team only).',
      );
    }
    // The public URL must be known before routes answer; with port 0 it is fixed after listen.
    let publicUrl = options.publicUrl?.replace(/\/+$/, '') ?? '';
    const transport = await openRunTransport(store, options.databaseUrl);
    closers.push(() => transport.events.close());
    const app = await buildApp({
      runQueue: transport.queue,
      runEvents: transport.events,
      runWorkers: options.workers,
      leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS,
      store,
      reposDir,
      dataDir,
      schedulerTickMs: options.schedulerTickMs,
      publicUrl: () => publicUrl,
      logger: options.logger,
      secretKey,
      sandbox,
      codeRoot,
    });
    const address = await app.listen({ host: options.host, port: options.port });
    const url = address.replace('[::1]', 'localhost');
    if (!publicUrl) publicUrl = url;
    return {
      url,
      publicUrl,
      app,
      store,
      createdAdminToken: admin.created && admin.file ? { token: admin.created, file: admin.file } : undefined,
      notices,
      close: async () => {
        await app.close();
        for (const close of closers) await close();
        await store.close();
      },
    };
  } catch (error) {
    for (const close of closers) await close().catch(() => undefined);
    await store.close();
    throw error;
  }
}
