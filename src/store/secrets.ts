import type { Kysely, Selectable } from 'kysely';
import type { Database, SecretTable } from './schema.js';

export type SecretRow = Selectable<SecretTable>;

/** A secret's row without its ciphertext: what listings read, so values are never loaded for them. */
export type SecretEntryRow = Omit<SecretRow, 'ciphertext'>;

/** Inserts a secret or replaces its value, keeping when it was first created. */
export async function upsertSecret(db: Kysely<Database>, row: SecretRow): Promise<void> {
  await db
    .insertInto('secrets')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['workspace_id', 'environment', 'name']).doUpdateSet({
        ciphertext: row.ciphertext,
        updated_at: row.updated_at,
        updated_by: row.updated_by,
      }),
    )
    .execute();
}

export async function findSecretEntry(
  db: Kysely<Database>,
  key: { workspaceId: string; environment: string; name: string },
): Promise<SecretEntryRow | undefined> {
  return db
    .selectFrom('secrets')
    .select(['workspace_id', 'environment', 'name', 'created_at', 'updated_at', 'updated_by'])
    .where('workspace_id', '=', key.workspaceId)
    .where('environment', '=', key.environment)
    .where('name', '=', key.name)
    .executeTakeFirst();
}

/** A workspace's secrets, without their values (in no particular order: collations differ). */
export async function listSecretEntries(
  db: Kysely<Database>,
  workspaceId: string,
): Promise<SecretEntryRow[]> {
  return db
    .selectFrom('secrets')
    .select(['workspace_id', 'environment', 'name', 'created_at', 'updated_at', 'updated_by'])
    .where('workspace_id', '=', workspaceId)
    .execute();
}

/** A workspace's secrets stored for any of `environments` ('' for all environments), with their values. */
export async function secretRows(
  db: Kysely<Database>,
  workspaceId: string,
  environments?: readonly string[],
): Promise<SecretRow[]> {
  let query = db.selectFrom('secrets').selectAll().where('workspace_id', '=', workspaceId);
  if (environments) {
    if (environments.length === 0) return [];
    query = query.where('environment', 'in', [...environments]);
  }
  return query.execute();
}

/** Answers whether a row was deleted. */
export async function deleteSecret(
  db: Kysely<Database>,
  key: { workspaceId: string; environment: string; name: string },
): Promise<boolean> {
  const result = await db
    .deleteFrom('secrets')
    .where('workspace_id', '=', key.workspaceId)
    .where('environment', '=', key.environment)
    .where('name', '=', key.name)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
