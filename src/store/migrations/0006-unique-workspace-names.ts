import { type Kysely, sql } from 'kysely';
import { workspaceNameKey } from '../workspace-name-key.js';

/** The longest workspace name (workspaces/names.ts): a renamed duplicate must still be valid. */
const MAX_NAME_LENGTH = 100;

/**
 * Workspace names become unique under `workspaceNameKey` (NFKC, case folded): a `normalized_name`
 * column under a unique index, so that two creates at the same moment cannot both win.
 *
 * Existing duplicates must not stop the upgrade, and must not stay look-alikes: the oldest
 * workspace keeps its name, and each later one is renamed `<name> (2)`, `(3)`, ... (its repository
 * and URLs do not change). The column stays nullable, as SQLite cannot add a NOT NULL column
 * without a default; the store sets it on every insert and rename.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('workspaces').addColumn('normalized_name', 'text').execute();
  const rows = await sql<{ id: string; name: string }>`
    SELECT id, name FROM workspaces ORDER BY created_at, id`.execute(db);
  const taken = new Set<string>();
  for (const row of rows.rows) {
    let name = row.name;
    let key = workspaceNameKey(name);
    for (let n = 2; taken.has(key); n++) {
      const suffix = ` (${n})`;
      name = `${cutTo(row.name, MAX_NAME_LENGTH - suffix.length)}${suffix}`;
      key = workspaceNameKey(name);
    }
    taken.add(key);
    await sql`UPDATE workspaces SET name = ${name}, normalized_name = ${key} WHERE id = ${row.id}`.execute(
      db,
    );
  }
  await db.schema
    .createIndex('workspaces_normalized_name')
    .on('workspaces')
    .column('normalized_name')
    .unique()
    .execute();
}

/** The longest start of `text` within `length` UTF-16 units that does not split a character. */
function cutTo(text: string, length: number): string {
  let out = '';
  for (const char of text) {
    if (out.length + char.length > length) break;
    out += char;
  }
  return out.trimEnd();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('workspaces_normalized_name').execute();
  await db.schema.alterTable('workspaces').dropColumn('normalized_name').execute();
}
