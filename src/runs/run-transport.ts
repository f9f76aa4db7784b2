import type { Store } from '../store/open-store.js';
import { PostgresRunQueue } from './postgres-run-queue.js';
import { LocalRunEvents, PostgresRunEvents, type RunEvents } from './run-events.js';
import { EmbeddedRunQueue, type RunQueue } from './run-queue.js';

/**
 * The run queue and run events a process uses, chosen by its store: in-process with SQLite (one
 * process does everything), graphile-worker and LISTEN/NOTIFY with PostgreSQL (any number of
 * servers and workers share them).
 */
export async function openRunTransport(
  store: Store,
  databaseUrl: string | undefined,
): Promise<{ queue: RunQueue; events: RunEvents }> {
  if (store.kind === 'postgres' && databaseUrl) {
    const queue = await PostgresRunQueue.open(store.db, databaseUrl);
    const events = await PostgresRunEvents.open(store.db, databaseUrl);
    return { queue, events };
  }
  return { queue: new EmbeddedRunQueue(store.db), events: new LocalRunEvents() };
}
