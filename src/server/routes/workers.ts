import type { FastifyInstance } from 'fastify';
import type { RunFilter } from '../../runs/run-queue.js';
import { listWorkers, runsHeldBy } from '../../store/workers.js';
import type { WorkspaceContext } from '../../workspaces/context.js';

/**
 * The processes that execute runs, with their last heartbeat, labels and current runs. Admin
 * only: a worker's runs belong to every workspace.
 */
export function workerRoutes(app: FastifyInstance, context: WorkspaceContext): void {
  app.get(
    '/api/v1/workers',
    {
      schema: {
        summary: 'Workers (sluice worker, and servers that run pipelines): heartbeats, labels, runs',
      },
      config: { access: 'admin' },
    },
    async () => {
      const db = context.store.db;
      const workers = await listWorkers(db);
      const runs = await runsHeldBy(
        db,
        workers.map((w) => w.id),
      );
      return {
        items: workers.map((worker) => {
          const labels = JSON.parse(worker.labels) as RunFilter;
          return {
            id: worker.id,
            name: worker.name,
            kind: worker.kind,
            host: worker.host,
            concurrency: worker.concurrency,
            labels: { environments: labels.environments, workspaces: labels.workspaces },
            startedAt: worker.started_at,
            lastHeartbeatAt: worker.last_heartbeat_at,
            runs: runs
              .filter((run) => run.worker_id === worker.id)
              .map((run) => ({
                id: run.id,
                workspaceId: run.workspace_id,
                environment: run.environment,
                attempt: run.attempt,
                startedAt: run.started_at,
              })),
          };
        }),
      };
    },
  );
}
