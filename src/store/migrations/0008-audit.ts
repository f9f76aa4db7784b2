import { type Kysely, PostgresAdapter, sql } from 'kysely';

/**
 * The audit log: who changed what, when, with the value before and after (never a secret's).
 * Append-only for everyone, admins included: the database itself refuses to update or delete a
 * row (a trigger), so no route, bug or hand-run statement through Sluice's connection can.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('actor_token_id', 'varchar(64)')
    .addColumn('actor_name', 'varchar(300)', (c) => c.notNull())
    .addColumn('workspace_id', 'varchar(64)')
    .addColumn('action', 'varchar(100)', (c) => c.notNull())
    .addColumn('subject', 'varchar(300)')
    .addColumn('before', 'text')
    .addColumn('after', 'text')
    .execute();
  await db.schema.createIndex('audit_log_order').on('audit_log').columns(['created_at', 'id']).execute();
  await db.schema
    .createIndex('audit_log_workspace')
    .on('audit_log')
    .columns(['workspace_id', 'created_at'])
    .execute();
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$`.execute(db);
    await sql`CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
      FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()`.execute(db);
  } else {
    for (const operation of ['UPDATE', 'DELETE']) {
      await sql
        .raw(
          `CREATE TRIGGER audit_log_no_${operation.toLowerCase()} BEFORE ${operation} ON audit_log
           BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END`,
        )
        .execute(db);
    }
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`DROP TRIGGER audit_log_append_only ON audit_log`.execute(db);
    await sql`DROP FUNCTION audit_log_append_only()`.execute(db);
  }
  await db.schema.dropTable('audit_log').execute();
}
