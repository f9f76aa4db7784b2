import { type Kysely, sql } from 'kysely';

/**
 * Pipeline runs on the server with their logs, the Singer state of each workspace, and the
 * schedule switch and the last scheduled run of each schedule.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('runs')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('workspace_id', 'varchar(64)', (c) =>
      c.notNull().references('workspaces.id').onDelete('cascade'),
    )
    .addColumn('environment', 'varchar(200)', (c) => c.notNull())
    .addColumn('commit', 'varchar(64)', (c) => c.notNull())
    .addColumn('blocks', 'text', (c) => c.notNull())
    .addColumn('job', 'varchar(200)')
    .addColumn('pipeline', 'varchar(1000)', (c) => c.notNull())
    .addColumn('status', 'varchar(20)', (c) => c.notNull())
    .addColumn('trigger', 'varchar(20)', (c) => c.notNull())
    .addColumn('schedule_name', 'varchar(200)')
    .addColumn('state_id', 'varchar(500)')
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('max_retries', 'integer', (c) => c.notNull())
    .addColumn('timeout_seconds', 'integer')
    .addColumn('records_by_stream', 'text', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('created_by', 'varchar(200)', (c) => c.notNull())
    .addColumn('started_at', 'varchar(40)')
    .addColumn('ended_at', 'varchar(40)')
    .execute();
  await db.schema.createIndex('runs_workspace').on('runs').columns(['workspace_id', 'created_at']).execute();
  // The concurrency guard, held by the database: one active run per pipeline and workspace.
  await db.schema
    .createIndex('runs_one_active_per_pipeline')
    .on('runs')
    .columns(['workspace_id', 'pipeline'])
    .unique()
    .where(sql.ref('status'), 'in', ['queued', 'running'])
    .execute();
  await db.schema
    .createTable('run_log_lines')
    .addColumn('run_id', 'varchar(64)', (c) => c.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('at', 'varchar(40)', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('run_log_lines_pk', ['run_id', 'seq'])
    .execute();
  await db.schema
    .createTable('workspace_states')
    .addColumn('workspace_id', 'varchar(64)', (c) =>
      c.notNull().references('workspaces.id').onDelete('cascade'),
    )
    .addColumn('state_id', 'varchar(500)', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .addPrimaryKeyConstraint('workspace_states_pk', ['workspace_id', 'state_id'])
    .execute();
  await db.schema
    .createTable('schedule_marks')
    .addColumn('workspace_id', 'varchar(64)', (c) =>
      c.notNull().references('workspaces.id').onDelete('cascade'),
    )
    .addColumn('schedule_name', 'varchar(200)', (c) => c.notNull())
    .addColumn('last_run_at', 'varchar(40)', (c) => c.notNull())
    .addPrimaryKeyConstraint('schedule_marks_pk', ['workspace_id', 'schedule_name'])
    .execute();
  await db.schema.alterTable('workspaces').addColumn('schedules_enabled', 'integer').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('workspaces').dropColumn('schedules_enabled').execute();
  await db.schema.dropTable('schedule_marks').execute();
  await db.schema.dropTable('workspace_states').execute();
  await db.schema.dropTable('run_log_lines').execute();
  await db.schema.dropTable('runs').execute();
}
