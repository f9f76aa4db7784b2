import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Store } from '../store/open-store.js';
import type { Principal } from '../tokens/principal.js';
import type { WorkspaceContext } from '../workspaces/context.js';
import { requirePrincipal } from './auth.js';
import { errorBody, handleError } from './http-errors.js';
import { requestValidatorCompiler } from './request-validation.js';
import { gitRoutes } from './routes/git.js';
import { promotionRoutes } from './routes/promotions.js';
import { tokenRoutes } from './routes/tokens.js';
import { workspaceRoutes } from './routes/workspaces.js';

export interface AppOptions {
  readonly store: Store;
  readonly reposDir: string;
  /** The URL users see; a function when it is known only after listening (port 0). */
  readonly publicUrl: string | (() => string);
  readonly logger?: boolean;
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
  const publicUrl = options.publicUrl;
  const context: WorkspaceContext = {
    store: options.store,
    reposDir: options.reposDir,
    get publicUrl() {
      return typeof publicUrl === 'function' ? publicUrl() : publicUrl;
    },
  };
  // Authentication runs before validation, so a caller without a valid token learns nothing else.
  const principals = new WeakMap<FastifyRequest, Principal>();
  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0] ?? '';
    if (!path.startsWith('/api/') || path === '/api/v1/health') return;
    principals.set(request, await requirePrincipal(options.store, request));
  });
  const principalOf = async (request: FastifyRequest): Promise<Principal> => {
    const principal = principals.get(request);
    return principal ?? requirePrincipal(options.store, request);
  };

  await app.register(swagger, {
    openapi: {
      info: { title: 'Sluice API', version: '1' },
      components: { securitySchemes: { token: { type: 'http', scheme: 'bearer' } } },
      security: [{ token: [] }],
    },
  });
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    reply
      .status(404)
      .send(errorBody('not_found', `No route ${request.method} ${request.url.split('?')[0]}.`));
  });

  app.get('/api/v1/health', { schema: { summary: 'Liveness', security: [] } }, async () => ({
    status: 'ok',
  }));
  app.get('/api/v1/openapi.json', { schema: { hide: true } as object }, async () => app.swagger());
  workspaceRoutes(app, context, principalOf);
  tokenRoutes(app, options.store, principalOf);
  promotionRoutes(app, context, principalOf);
  gitRoutes(app, options.store, context);
  return app;
}
