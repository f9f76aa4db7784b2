import type { Kysely, Selectable } from 'kysely';
import { afterCursor, type PageCursor } from './keyset-page.js';
import type { AuditLogTable, Database } from './schema.js';

export type AuditRow = Selectable<AuditLogTable>;

/** Appends one entry (the table refuses updates and deletes). */
export async function insertAuditEntry(db: Kysely<Database>, row: AuditRow): Promise<void> {
  await db.insertInto('audit_log').values(row).execute();
}

export interface AuditFilter {
  /** Only these workspaces' entries, or every workspace's ('*'). */
  readonly workspaces: readonly string[] | '*';
  /** Entries of no workspace (tokens) too. */
  readonly unscoped: boolean;
  readonly workspace?: string;
  /** A token id or a token name. */
  readonly actor?: string;
  /** ISO times, inclusive. */
  readonly since?: string;
  readonly until?: string;
}

/** Entries oldest first, a page at a time. */
export async function listAuditEntries(
  db: Kysely<Database>,
  filter: AuditFilter,
  page: { readonly limit: number; readonly after?: PageCursor },
): Promise<AuditRow[]> {
  let query = db.selectFrom('audit_log').selectAll();
  if (filter.workspaces !== '*') {
    if (filter.workspaces.length === 0) return [];
    query = query.where('workspace_id', 'in', filter.workspaces);
  } else if (!filter.unscoped) query = query.where('workspace_id', 'is not', null);
  if (filter.workspace !== undefined) query = query.where('workspace_id', '=', filter.workspace);
  const { actor, since, until } = filter;
  if (actor !== undefined)
    query = query.where((eb) => eb.or([eb('actor_token_id', '=', actor), eb('actor_name', '=', actor)]));
  if (since !== undefined) query = query.where('created_at', '>=', since);
  if (until !== undefined) query = query.where('created_at', '<=', until);
  const { after } = page;
  if (after) query = query.where((eb) => afterCursor(eb, after));
  return query.orderBy('created_at').orderBy('id').limit(page.limit).execute();
}
