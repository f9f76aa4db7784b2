import { sql } from 'kysely';
import { OneAtATime } from '../one-at-a-time.js';
import type { Store } from '../store/open-store.js';

/** The first key of Sluice's advisory locks on promotion targets (the second is the target's hash). */
const PROMOTION_LOCK_SPACE = 0x51_1c_e0_02;

/** Promotions into one workspace waiting in this process, by target id. */
const inProcess = new OneAtATime();
const inProcessOrder = <T>(targetId: string, work: () => Promise<T>) => inProcess.run(targetId, work);

/**
 * Promotions and reverts into one workspace happen one at a time, across every server: in this
 * process by a promise chain, and on PostgreSQL also by an advisory lock held on one connection
 * for the whole apply (another server's apply into the same target waits for it). The
 * compare-and-swap on `main` stays the last word: an apply that waited then finds `main` moved.
 */
export function withTargetLock<T>(store: Store, targetId: string, work: () => Promise<T>): Promise<T> {
  if (store.kind !== 'postgres') return inProcessOrder(targetId, work);
  return inProcessOrder(targetId, () =>
    store.db.connection().execute(async (connection) => {
      await sql`select pg_advisory_lock(${PROMOTION_LOCK_SPACE}, hashtext(${targetId}))`.execute(connection);
      try {
        return await work();
      } finally {
        await sql`select pg_advisory_unlock(${PROMOTION_LOCK_SPACE}, hashtext(${targetId}))`.execute(
          connection,
        );
      }
    }),
  );
}

/**
 * Runs `work` only if no process is applying a promotion into the target now (PostgreSQL), for
 * settling what a killed server left: answers false, without running it, when one is.
 */
export async function ifTargetIdle(
  store: Store,
  targetId: string,
  work: () => Promise<void>,
): Promise<boolean> {
  if (store.kind !== 'postgres') {
    await work();
    return true;
  }
  return store.db.connection().execute(async (connection) => {
    const { rows } = await sql<{ locked: boolean }>`
      select pg_try_advisory_lock(${PROMOTION_LOCK_SPACE}, hashtext(${targetId})) as locked`.execute(
      connection,
    );
    if (!rows[0]?.locked) return false;
    try {
      await work();
      return true;
    } finally {
      await sql`select pg_advisory_unlock(${PROMOTION_LOCK_SPACE}, hashtext(${targetId}))`.execute(
        connection,
      );
    }
  });
}
