import type { Kysely } from 'kysely';

/** The workspace a workspace is promoted from (its stage before it: dev before staging), or none. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('workspaces').addColumn('upstream_workspace_id', 'varchar(64)').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('workspaces').dropColumn('upstream_workspace_id').execute();
}
