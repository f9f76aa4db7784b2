import { type Kysely, sql } from 'kysely';

/** Workspaces, their old repository names, and API tokens. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('workspaces')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('repository_name', 'varchar(200)', (c) => c.notNull().unique())
    .addColumn('active_environment', 'varchar(200)')
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('checked_commit', 'varchar(64)')
    .addColumn('last_good_commit', 'varchar(64)')
    .addColumn('config_error', 'text')
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();
  await db.schema
    .createIndex('workspaces_created_at_id')
    .on('workspaces')
    .columns(['created_at', 'id'])
    .execute();
  await db.schema
    .createTable('repository_aliases')
    .addColumn('name', 'varchar(200)', (c) => c.primaryKey())
    .addColumn('workspace_id', 'varchar(64)', (c) =>
      c.notNull().references('workspaces.id').onDelete('cascade'),
    )
    .execute();
  await db.schema
    .createTable('tokens')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('token_hash', 'varchar(128)', (c) => c.notNull().unique())
    .addColumn('workspaces', 'text', (c) => c.notNull())
    .addColumn('access', 'varchar(10)', (c) => c.notNull())
    .addColumn('admin', 'integer', (c) => c.notNull().defaultTo(sql`0`))
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('revoked_at', 'varchar(40)')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('tokens').execute();
  await db.schema.dropTable('repository_aliases').execute();
  await db.schema.dropTable('workspaces').execute();
}
