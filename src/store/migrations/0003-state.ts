import type { Kysely } from 'kysely';

/** Singer state of local runs, keyed by Meltano state ID. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('state')
    .addColumn('state_id', 'varchar(500)', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('state').execute();
}
