import type { Kysely } from 'kysely';

/**
 * The processes that execute runs (`sluice worker`, and servers that run pipelines themselves),
 * each with its last heartbeat; and on each run, which of them holds it and the queue's job.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('workers')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('kind', 'varchar(20)', (c) => c.notNull())
    .addColumn('host', 'varchar(200)', (c) => c.notNull())
    .addColumn('labels', 'text', (c) => c.notNull())
    .addColumn('concurrency', 'integer', (c) => c.notNull())
    .addColumn('started_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('last_heartbeat_at', 'varchar(40)', (c) => c.notNull())
    .execute();
  await db.schema.alterTable('runs').addColumn('worker_id', 'varchar(64)').execute();
  await db.schema.alterTable('runs').addColumn('queue_job', 'varchar(200)').execute();
  await db.schema.createIndex('runs_worker').on('runs').columns(['worker_id', 'status']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('runs_worker').execute();
  await db.schema.alterTable('runs').dropColumn('queue_job').execute();
  await db.schema.alterTable('runs').dropColumn('worker_id').execute();
  await db.schema.dropTable('workers').execute();
}
