import type { FastifyInstance, FastifyReply } from 'fastify';
import { actorOf, recordChange } from '../../audit/audit-log.js';
import type { RunEvents } from '../../runs/run-events.js';
import type { LogEvent, LogLine, RunLog } from '../../runs/run-log.js';
import { type RunService, toRunView } from '../../runs/run-service.js';
import { decodeCursor, keysetPage } from '../../store/keyset-page.js';
import { findRun, readLogLines } from '../../store/runs.js';
import type { WorkspaceContext } from '../../workspaces/context.js';
import { principalOf, workspaceOf } from '../route-access.js';
import { errorResponses, pageQuerySchema, workspaceParamsSchema } from '../schemas.js';

const runParamsSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 250 },
    run: { type: 'string', minLength: 1, maxLength: 100 },
  },
  required: ['id', 'run'],
} as const;

const runSchema = { type: 'object', additionalProperties: true } as const;

/** Lines read from the database per query when replaying a log. */
const LOG_PAGE = 2000;

function sseFrame(event: string, data: unknown, id?: number): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Pipeline runs of a workspace: start, list, show, cancel, and the log (live as server-sent events). */
export function runRoutes(
  app: FastifyInstance,
  context: WorkspaceContext,
  runs: RunService,
  events: RunEvents,
): { closeStreams(): void } {
  // A run executing in another process is followed from the database, woken by its events; the
  // backstop re-reads the database in case a notification was lost (a reconnecting listener).
  const backstopMs = context.store.kind === 'sqlite' ? 100 : 5000;
  // Open event streams: ended when the server stops, which otherwise waits for their clients.
  const streams = new Set<FastifyReply['raw']>();

  app.post(
    '/api/v1/workspaces/:id/runs',
    {
      schema: {
        summary: "Run blocks or a job on main's current commit, in the workspace's active environment",
        params: workspaceParamsSchema,
        body: {
          type: 'object',
          properties: {
            blocks: {
              type: 'array',
              items: { type: 'string', minLength: 1, maxLength: 200 },
              minItems: 1,
              maxItems: 50,
            },
            job: { type: 'string', minLength: 1, maxLength: 200 },
            timeoutSeconds: { type: 'integer', minimum: 1, maximum: 7 * 24 * 3600 },
            maxRetries: { type: 'integer', minimum: 0, maximum: 10 },
          },
          additionalProperties: false,
        },
        response: { 201: runSchema, ...errorResponses },
      },
      config: { access: 'write', workspace: 'id' },
    },
    async (request, reply) => {
      const body = request.body as {
        blocks?: string[];
        job?: string;
        timeoutSeconds?: number;
        maxRetries?: number;
      };
      const started = await runs.start(workspaceOf(request), principalOf(request).name, body);
      await recordChange(context.store, actorOf(principalOf(request)), {
        action: 'run.start',
        workspaceId: started.workspaceId,
        subject: started.id,
        after: {
          blocks: started.blocks,
          job: started.job,
          commit: started.commit,
          environment: started.environment,
        },
      });
      reply.status(201);
      return started;
    },
  );

  app.get(
    '/api/v1/workspaces/:id/runs',
    {
      schema: {
        summary: 'Runs of this workspace, newest first',
        params: workspaceParamsSchema,
        querystring: pageQuerySchema,
      },
      config: { access: 'read', workspace: 'id' },
    },
    async (request) => {
      const workspace = workspaceOf(request);
      const query = request.query as { limit: number; cursor?: string };
      const rows = await runs.list(workspace, query.limit + 1, decodeCursor(query.cursor));
      return keysetPage(rows, query.limit, toRunView);
    },
  );

  app.get(
    '/api/v1/workspaces/:id/runs/:run',
    { schema: { summary: 'One run', params: runParamsSchema }, config: { access: 'read', workspace: 'id' } },
    async (request) =>
      toRunView(await runs.get(workspaceOf(request), (request.params as { run: string }).run)),
  );

  app.post(
    '/api/v1/workspaces/:id/runs/:run/cancel',
    {
      schema: {
        summary: 'Cancel a queued or running run: every process of it is stopped',
        params: runParamsSchema,
      },
      config: { access: 'write', workspace: 'id' },
    },
    async (request) => {
      const run = (request.params as { run: string }).run;
      const before = (await runs.get(workspaceOf(request), run)).status;
      const cancelled = await runs.cancel(workspaceOf(request), run, principalOf(request).name);
      await recordChange(context.store, actorOf(principalOf(request)), {
        action: 'run.cancel',
        workspaceId: cancelled.workspaceId,
        subject: run,
        before: { status: before },
        after: { status: cancelled.status },
      });
      return cancelled;
    },
  );

  app.get(
    '/api/v1/workspaces/:id/runs/:run/log',
    {
      schema: {
        summary:
          'The run\'s log (secrets redacted): text, or server-sent events ("line", then "end") with Accept: text/event-stream, live while it runs',
        params: runParamsSchema,
      },
      config: { access: 'read', workspace: 'id' },
    },
    async (request, reply) => {
      const run = await runs.get(workspaceOf(request), (request.params as { run: string }).run);
      if ((request.headers.accept ?? '').includes('text/event-stream')) {
        const lastEventId = Number(request.headers['last-event-id'] ?? 0);
        return streamLog(reply, run.id, Number.isFinite(lastEventId) ? lastEventId : 0);
      }
      // The active log first: once read from the database, its lines in memory fill the rest.
      const active = runs.logs.get(run.id);
      const lines: string[] = [];
      let last = 0;
      for (;;) {
        const rows = await readLogLines(context.store.db, run.id, last, LOG_PAGE);
        for (const row of rows) lines.push(`${row.at} ${row.text}\n`);
        last = rows[rows.length - 1]?.seq ?? last;
        if (rows.length < LOG_PAGE) break;
      }
      for (const line of active?.lines ?? []) if (line.seq > last) lines.push(`${line.at} ${line.text}\n`);
      reply.type('text/plain; charset=utf-8');
      return lines.join('');
    },
  );

  /**
   * Replays the log after `afterSeq` and, while the run is active, follows it live. Live lines
   * are taken from the active log's memory (complete since the run started), so none is missed
   * between the replay and the subscription.
   */
  async function streamLog(reply: FastifyReply, runId: string, afterSeq: number): Promise<void> {
    reply.hijack();
    const raw = reply.raw;
    streams.add(raw);
    raw.on('close', () => streams.delete(raw));
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    let sent = afterSeq;
    const send = (line: LogLine) => {
      if (line.seq <= sent) return;
      sent = line.seq;
      raw.write(sseFrame('line', line, line.seq));
    };
    // A run that has not opened its log here (queued, or executing in another process) is read
    // from the database each time its events say something changed.
    let closed = false;
    let wake: (() => void) | undefined;
    let changed = false;
    const unsubscribe = events.subscribe((event) => {
      if (event.runId !== runId || event.kind === 'cancel') return;
      changed = true;
      wake?.();
    });
    raw.on('close', () => {
      closed = true;
      unsubscribe();
      wake?.();
    });
    try {
      for (;;) {
        const active = runs.logs.get(runId);
        if (active) return await followActive(active, runId, raw, send, () => sent);
        changed = false;
        const run = await findRun(context.store.db, runId);
        const status = run?.status ?? 'failed';
        await replayStored(runId, sent, Number.POSITIVE_INFINITY, send);
        if (status !== 'queued' && status !== 'running') {
          raw.end(sseFrame('end', { status }));
          return;
        }
        if (closed) return;
        if (!changed) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, backstopMs);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
        }
      }
    } finally {
      unsubscribe();
    }
  }

  async function followActive(
    active: RunLog,
    runId: string,
    raw: FastifyReply['raw'],
    send: (line: LogLine) => void,
    sent: () => number,
  ): Promise<void> {
    const pending: LogEvent[] = [];
    let live = false;
    let ended = false;
    const finish = async () => {
      ended = true;
      const run = await findRun(context.store.db, runId);
      raw.end(sseFrame('end', { status: run?.status ?? 'failed' }));
    };
    const unsubscribe = active.subscribe((event) => {
      if (!live) pending.push(event);
      else if (event.kind === 'line') send(event.line);
      else void finish();
    });
    raw.on('close', unsubscribe);
    // Lines before the memory's first (a restarted run's older attempts) come from the database.
    const first = active.lines[0]?.seq ?? Number.POSITIVE_INFINITY;
    await replayStored(runId, sent(), first - 1, send);
    for (const line of active.lines) send(line);
    live = true;
    for (const event of pending) {
      if (event.kind === 'line') send(event.line);
      else if (!ended) await finish();
    }
  }

  async function replayStored(runId: string, after: number, upTo: number, send: (line: LogLine) => void) {
    for (let from = after; from < upTo; ) {
      const rows = await readLogLines(context.store.db, runId, from, LOG_PAGE);
      for (const row of rows) if (row.seq <= upTo) send(row);
      const last = rows[rows.length - 1];
      if (!last || rows.length < LOG_PAGE) return;
      from = last.seq;
    }
  }

  return {
    closeStreams: () => {
      for (const raw of streams) raw.end(sseFrame('closing', { reason: 'The server is stopping.' }));
    },
  };
}
