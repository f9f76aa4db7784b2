import { type Kysely, sql } from 'kysely';

/**
 * Approvals: how many a workspace requires before a promotion into it applies, the requests
 * waiting for them (each frozen at the commits its preview saw), and the reviews of each.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('workspaces').addColumn('required_approvals', 'integer').execute();
  await db.schema
    .createTable('promotion_requests')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('target_workspace_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('source_workspace_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('source_commit', 'varchar(64)', (c) => c.notNull())
    .addColumn('target_commit', 'varchar(64)', (c) => c.notNull())
    .addColumn('options', 'text', (c) => c.notNull())
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('status', 'varchar(20)', (c) => c.notNull())
    .addColumn('required_approvals', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('created_by_token_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('created_by', 'varchar(300)', (c) => c.notNull())
    .addColumn('decided_at', 'varchar(40)')
    .addColumn('promotion_id', 'varchar(64)')
    .execute();
  await db.schema
    .createIndex('promotion_requests_target')
    .on('promotion_requests')
    .columns(['target_workspace_id', 'created_at'])
    .execute();
  await db.schema
    .createTable('promotion_reviews')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('request_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('token_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('name', 'varchar(300)', (c) => c.notNull())
    .addColumn('verdict', 'varchar(20)', (c) => c.notNull())
    .addColumn('comment', 'text')
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .execute();
  // One approval per token and request, however often it is sent (two servers at once included).
  await sql`CREATE UNIQUE INDEX promotion_reviews_one_approval ON promotion_reviews (request_id, token_id)
    WHERE verdict = 'approve'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('promotion_reviews').execute();
  await db.schema.dropTable('promotion_requests').execute();
  await db.schema.alterTable('workspaces').dropColumn('required_approvals').execute();
}
