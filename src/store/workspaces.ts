import { type Kysely, type Selectable, sql } from 'kysely';
import { compiledOnce } from './compiled-query.js';
import { afterCursor } from './keyset-page.js';
import type { Database, WorkspaceTable } from './schema.js';
import { workspaceNameKey } from './workspace-name-key.js';

/** A workspace's row; its `normalized_name` is the store's business, derived from `name`. */
export type WorkspaceRow = Omit<Selectable<WorkspaceTable>, 'normalized_name'>;

/** Which workspaces a caller may see: all, or the listed ids. */
export type WorkspaceScope = '*' | readonly string[];

export async function insertWorkspace(
  db: Kysely<Database>,
  row: Omit<WorkspaceRow, 'version' | 'protected' | 'upstream_workspace_id' | 'required_approvals'>,
): Promise<void> {
  await db
    .insertInto('workspaces')
    .values({ ...row, normalized_name: workspaceNameKey(row.name) })
    .execute();
}

/** The workspace whose name is the same as `name` once normalised (see workspaceNameKey), if any. */
export async function findWorkspaceByName(
  db: Kysely<Database>,
  name: string,
): Promise<WorkspaceRow | undefined> {
  return db
    .selectFrom('workspaces')
    .selectAll()
    .where('normalized_name', '=', workspaceNameKey(name))
    .executeTakeFirst();
}

export async function findWorkspaceById(db: Kysely<Database>, id: string): Promise<WorkspaceRow | undefined> {
  return db.selectFrom('workspaces').selectAll().where('id', '=', id).executeTakeFirst();
}

/** A workspace by its current repository name, or by a name it had before a rename. */
export async function findWorkspaceByRepositoryName(
  db: Kysely<Database>,
  name: string,
): Promise<WorkspaceRow | undefined> {
  const current = await db
    .selectFrom('workspaces')
    .selectAll()
    .where('repository_name', '=', name)
    .executeTakeFirst();
  if (current) return current;
  const alias = await db
    .selectFrom('repository_aliases')
    .select('workspace_id')
    .where('name', '=', name)
    .executeTakeFirst();
  return alias ? findWorkspaceById(db, alias.workspace_id) : undefined;
}

/** Which page `listWorkspaces` and `workspacePageStamp` read. */
export interface WorkspacePageQuery {
  readonly scope: WorkspaceScope;
  readonly limit: number;
  readonly after?: { createdAt: string; id: string };
}

/** The rows of a page, selecting nothing yet; undefined for an empty scope, which holds none. */
function pageQuery(db: Kysely<Database>, options: WorkspacePageQuery) {
  let query = db.selectFrom('workspaces');
  if (options.scope !== '*') {
    if (options.scope.length === 0) return undefined;
    query = query.where('id', 'in', [...options.scope]);
  }
  const after = options.after;
  if (after) {
    query = query.where((eb) => afterCursor(eb, after));
  }
  return query.orderBy('created_at').orderBy('id').limit(options.limit);
}

/** One page of workspaces in creation order, after the (created_at, id) of the cursor. */
export async function listWorkspaces(
  db: Kysely<Database>,
  options: WorkspacePageQuery,
): Promise<WorkspaceRow[]> {
  return (await pageQuery(db, options)?.selectAll().execute()) ?? [];
}

/** The stamp query of one shape of page: all workspaces or `ids` of them, after a cursor or not. */
const pageStamps = compiledOnce((db, p, shape) => {
  const { scope, after } = JSON.parse(shape) as { scope: '*' | number; after: boolean };
  const rows = pageQuery(db, {
    scope: scope === '*' ? '*' : Array.from({ length: scope }, (_, i) => p(`id${i}`)),
    limit: p<number>('limit'),
    after: after ? { createdAt: p('afterCreatedAt'), id: p('afterId') } : undefined,
  })?.select(['id', 'version', 'created_at']);
  if (!rows) throw new Error('An empty scope has no page to stamp.');
  // Each row's id:version; `string_agg` is PostgreSQL's and SQLite's (3.44+). Both aggregate
  // an ordered subquery in its order (an ORDER BY inside would sort the rows again, which costs
  // more than the rest); in any order, equal stamps mean the same rows at the same versions.
  const idsAndVersions = sql<string | null>`string_agg(page.id || ':' || cast(page.version as text), ',')`;
  return db.selectFrom(rows.as('page')).select(idsAndVersions.as('stamp'));
});

/**
 * What the page `listWorkspaces` would answer holds, as one short text: the id and version of
 * each of its rows (`pageStampOf` those rows). Every change to a row increases its version, and
 * the rows' ids fix their order, so two equal stamps mean equal pages; the stamp costs one value
 * to read where the page costs every column of every row.
 */
export async function workspacePageStamp(db: Kysely<Database>, options: WorkspacePageQuery): Promise<string> {
  if (options.scope !== '*' && options.scope.length === 0) return '';
  const values: Record<string, unknown> = { limit: options.limit };
  if (options.scope !== '*') for (const [i, id] of options.scope.entries()) values[`id${i}`] = id;
  if (options.after) {
    values.afterCreatedAt = options.after.createdAt;
    values.afterId = options.after.id;
  }
  const shape = JSON.stringify({
    scope: options.scope === '*' ? '*' : options.scope.length,
    after: options.after !== undefined,
  });
  const [row] = await pageStamps(db, shape, values);
  return row?.stamp ?? '';
}

/** The stamp of rows read with `listWorkspaces`: what `workspacePageStamp` answers for them. */
export function pageStampOf(rows: readonly Pick<WorkspaceRow, 'id' | 'version'>[]): string {
  return rows.map((row) => `${row.id}:${row.version}`).join(',');
}

export async function updateWorkspace(
  db: Kysely<Database>,
  id: string,
  changes: Partial<Omit<WorkspaceRow, 'id' | 'name' | 'created_at' | 'version'>>,
): Promise<void> {
  await db
    .updateTable('workspaces')
    .set((eb) => ({ ...changes, version: eb('version', '+', 1) }))
    .where('id', '=', id)
    .execute();
}

/** Renames a workspace's repository, keeping the old name as an alias, with other `changes`, in one transaction. */
export async function renameRepository(
  db: Kysely<Database>,
  id: string,
  oldName: string,
  newName: string,
  changes: Partial<Omit<WorkspaceRow, 'id' | 'created_at' | 'version' | 'repository_name'>> & {
    readonly name: string;
  },
): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await tx.insertInto('repository_aliases').values({ name: oldName, workspace_id: id }).execute();
    await tx.deleteFrom('repository_aliases').where('name', '=', newName).execute();
    await tx
      .updateTable('workspaces')
      .set((eb) => ({
        ...changes,
        normalized_name: workspaceNameKey(changes.name),
        repository_name: newName,
        version: eb('version', '+', 1),
      }))
      .where('id', '=', id)
      .execute();
  });
}

export async function deleteWorkspace(db: Kysely<Database>, id: string): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await tx.deleteFrom('repository_aliases').where('workspace_id', '=', id).execute();
    await tx.deleteFrom('secrets').where('workspace_id', '=', id).execute();
    await tx.deleteFrom('workspaces').where('id', '=', id).execute();
  });
}

/** True when a repository name is taken, as a current name or an alias. */
export async function repositoryNameTaken(db: Kysely<Database>, name: string): Promise<boolean> {
  const row = await db
    .selectFrom('workspaces')
    .select('id')
    .where('repository_name', '=', name)
    .executeTakeFirst();
  if (row) return true;
  const alias = await db
    .selectFrom('repository_aliases')
    .select('name')
    .where('name', '=', name)
    .executeTakeFirst();
  return alias !== undefined;
}
