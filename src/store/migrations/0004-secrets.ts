import type { Kysely } from 'kysely';

/**
 * Encrypted secrets of workspaces, per environment. "All environments" is stored as the empty
 * environment name (never a valid one), not NULL: a NULL would not take part in the primary key
 * (NULLs are distinct in unique keys on both SQLite and PostgreSQL), so the same name could be
 * set twice for all environments.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('secrets')
    .addColumn('workspace_id', 'varchar(64)', (c) =>
      c.notNull().references('workspaces.id').onDelete('cascade'),
    )
    .addColumn('environment', 'varchar(200)', (c) => c.notNull())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('ciphertext', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('updated_by', 'varchar(200)', (c) => c.notNull())
    .addPrimaryKeyConstraint('secrets_pkey', ['workspace_id', 'environment', 'name'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('secrets').execute();
}
