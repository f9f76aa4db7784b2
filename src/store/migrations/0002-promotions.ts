import type { Kysely } from 'kysely';

/** Promotions (with their reverts), protected workspaces, and the keys a workspace owns in promotions. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('promotions')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('kind', 'varchar(20)', (c) => c.notNull())
    .addColumn('source_workspace_id', 'varchar(64)')
    .addColumn('target_workspace_id', 'varchar(64)', (c) =>
      c.notNull().references('workspaces.id').onDelete('cascade'),
    )
    .addColumn('source_commit', 'varchar(64)')
    .addColumn('target_commit', 'varchar(64)', (c) => c.notNull())
    .addColumn('result_commit', 'varchar(64)')
    .addColumn('status', 'varchar(20)', (c) => c.notNull())
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('reverts_promotion_id', 'varchar(64)')
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('created_by', 'varchar(200)', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('promotions_target')
    .on('promotions')
    .columns(['target_workspace_id', 'created_at'])
    .execute();
  await db.schema
    .alterTable('workspaces')
    .addColumn('protected', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('workspaces').addColumn('owned_keys', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('workspaces').dropColumn('owned_keys').execute();
  await db.schema.alterTable('workspaces').dropColumn('protected').execute();
  await db.schema.dropTable('promotions').execute();
}
