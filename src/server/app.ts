import { hostname } from 'node:os';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { RunEvents } from '../runs/run-events.js';
import type { RunQueue } from '../runs/run-queue.js';
import { RunService } from '../runs/run-service.js';
import { LostWorkerReaper } from '../runs/worker-lease.js';
import type { PluginSandbox } from '../sandbox/plugin-sandbox.js';
import { Scheduler } from '../schedules/scheduler.js';
import type { SecretKey } from '../secrets/secret-key.js';
import { type SecretContext, secretEnvFor, secretValues } from '../secrets/secret-service.js';
import type { Store } from '../store/open-store.js';
import { startProjectWorkers } from '../workspaces/project-workers.js';
import { hideServerPaths } from './hide-server-paths.js';
import { errorBody, handleError } from './http-errors.js';
import { installRequestGuards, requestValidatorCompiler } from './request-validation.js';
import { installRouteAccess } from './route-access.js';
import { auditRoutes } from './routes/audit.js';
import { gitRoutes } from './routes/git.js';
import { promotionRequestRoutes } from './routes/promotion-requests.js';
import { promotionRoutes } from './routes/promotions.js';
import { runRoutes } from './routes/runs.js';
import { secretRoutes } from './routes/secrets.js';
import { stateRoutes } from './routes/states.js';
import { tokenRoutes } from './routes/tokens.js';
import { workerRoutes } from './routes/workers.js';
import { workspaceRoutes } from './routes/workspaces.js';
import { webAppRoutes } from './web-app.js';

export interface AppOptions {
  readonly store: Store;
  readonly reposDir: string;
  /** The URL users see; a function when it is known only after listening (port 0). */
  readonly publicUrl: string | (() => string);
  readonly logger?: boolean;
  /** The server's data folder: runs work in `work/<workspace>` under it. */
  readonly dataDir: string;
  /** How many runs this process executes at once (0: none, a pool of `sluice worker` does). */
  readonly runWorkers?: number;
  /** Where runs wait, and how processes tell each other about them (see serve.ts). */
  readonly runQueue: RunQueue;
  readonly runEvents: RunEvents;
  /** A worker's lease (runs/worker-lease.ts). */
  readonly leaseMs: number;
  /** How often the scheduler looks for due schedules (default 20 s). */
  readonly schedulerTickMs?: number;
  /** Encrypts and decrypts workspace secrets (see secrets/secret-key.ts). */
  readonly secretKey: SecretKey;
  /** Where workspaces' code runs (see sandbox/plugin-sandbox.ts). */
  readonly sandbox: PluginSandbox;
  /** Sluice's own folder: runs start `bin/sluice.js internal-runner` from it. */
  readonly codeRoot: string;
}

/** The HTTP application: REST API under /api/v1, Git smart HTTP under /git. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    routerOptions: { maxParamLength: 300 },
    bodyLimit: 1024 * 1024,
    // Requests Fastify rejects before routing (a badly encoded URL) answer in the API's error shape.
    frameworkErrors: (error, _request, reply) => {
      (reply as unknown as FastifyReply)
        .status(400)
        .send(errorBody('validation_failed', `The request cannot be read: ${error.message}.`));
    },
  });
  app.setValidatorCompiler(requestValidatorCompiler());
  installRequestGuards(app);
  hideServerPaths(app, options.dataDir);
  const publicUrl = options.publicUrl;
  const context: SecretContext = {
    store: options.store,
    reposDir: options.reposDir,
    secretKey: options.secretKey,
    // Loading pushed projects and computing their views, off the request thread (see there).
    projectWorkers: startProjectWorkers(),
    get publicUrl() {
      return typeof publicUrl === 'function' ? publicUrl() : publicUrl;
    },
  };
  // Before any route: each route declares who may call it, and one hook enforces that.
  installRouteAccess(app, context);

  await app.register(swagger, {
    openapi: {
      info: { title: 'Sluice API', version: '1' },
      components: { securitySchemes: { token: { type: 'http', scheme: 'bearer' } } },
      security: [{ token: [] }],
    },
  });
  app.setErrorHandler(handleError);
  const noRoute = (request: FastifyRequest, reply: FastifyReply) =>
    reply
      .status(404)
      .send(errorBody('not_found', `No route ${request.method} ${request.url.split('?')[0]}.`));
  app.setNotFoundHandler(noRoute);

  app.get('/api/v1/health', { schema: { summary: 'Liveness' }, config: { access: 'public' } }, async () => ({
    status: 'ok',
  }));
  // Behind a token, like the rest of the API: it tells how to call the API, not what it holds,
  // but nobody without a token needs it.
  app.get(
    '/api/v1/openapi.json',
    { schema: { hide: true } as object, config: { access: 'read' } },
    async () => app.swagger(),
  );
  // Any other path under /api/ (a misspelt route, a trailing slash) asks for a token first, so
  // that callers without one cannot tell which routes exist.
  app.all('/api/*', { schema: { hide: true } as object, config: { access: 'read' } }, noRoute);
  workspaceRoutes(app, context);
  tokenRoutes(app, options.store);
  auditRoutes(app, context);
  promotionRoutes(app, context);
  promotionRequestRoutes(app, context);
  secretRoutes(app, context);
  // Runs that a stopped server left running are settled before any request is served.
  const runs = new RunService(context, {
    dataDir: options.dataDir,
    sandbox: options.sandbox,
    codeRoot: options.codeRoot,
    queue: options.runQueue,
    events: options.runEvents,
    // Secrets reach plugins as variables, so Meltano's precedence (variables first) applies to them.
    secrets: (workspace, environment) => secretEnvFor(context, workspace, environment),
    secretValues: (workspace) => secretValues(context, workspace),
  });
  await runs.recover();
  const workers = options.runWorkers ?? 2;
  if (workers > 0) {
    await runs.startExecuting(
      {
        name: `sluice serve on ${hostname()} (pid ${process.pid})`,
        kind: 'server',
        filter: { environments: null, workspaces: null },
        concurrency: workers,
      },
      options.leaseMs,
    );
  }
  // With several processes on PostgreSQL, any of them settles the runs of a lost worker.
  const reaper =
    options.store.kind === 'postgres'
      ? new LostWorkerReaper(options.store.db, options.runQueue, options.runEvents, options.leaseMs)
      : undefined;
  reaper?.start();
  const scheduler = new Scheduler(context, runs, options.schedulerTickMs);
  scheduler.start();
  // Tests drive the scheduler's clock through this.
  app.decorate('scheduler', scheduler);
  const runStreams = runRoutes(app, context, runs, options.runEvents);
  workerRoutes(app, context);
  // Before connections are drained: open log streams would keep the server from closing, and
  // running plugins must be stopped while the database is still open.
  app.addHook('preClose', async () => {
    runStreams.closeStreams();
    await scheduler.stop();
    await reaper?.stop();
    await runs.close();
  });
  app.addHook('onClose', async () => context.projectWorkers?.close());
  stateRoutes(app, context);
  gitRoutes(app, context);
  webAppRoutes(app);
  return app;
}
