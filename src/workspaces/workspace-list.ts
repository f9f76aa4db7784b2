import { decodeCursor, keysetPage } from '../store/keyset-page.js';
import type { Store } from '../store/open-store.js';
import {
  listWorkspaces as listRows,
  pageStampOf,
  type WorkspaceScope,
  workspacePageStamp,
} from '../store/workspaces.js';
import type { WorkspaceContext } from './context.js';
import { type Page, toWorkspace, type Workspace } from './workspace-service.js';

/** Pages kept per server, the least recently asked dropped first (a page holds at most 200 workspaces). */
const KEPT_PAGES = 32;

interface KeptPage {
  readonly stamp: string;
  readonly page: Page<Workspace>;
}

/** Per server (tests run several in one process), by what was asked. */
const keptPages = new WeakMap<Store, Map<string, KeptPage>>();

/**
 * One page of the workspaces in `scope`, in creation order. The page's rows are read again only
 * when its stamp (each row's id and version, one value from the database) differs from the one
 * of the page last answered: a list polled by many clients costs one short query, and answers
 * the same object, whose JSON the route serializes once. Another server's changes, written to
 * the shared database, change the stamp like this server's own.
 */
export async function listWorkspaces(
  context: WorkspaceContext,
  options: { scope: WorkspaceScope; limit: number; cursor?: string },
): Promise<Page<Workspace>> {
  const query = { scope: options.scope, limit: options.limit + 1, after: decodeCursor(options.cursor) };
  let pages = keptPages.get(context.store);
  if (!pages) {
    pages = new Map();
    keptPages.set(context.store, pages);
  }
  const key = JSON.stringify([options.scope, options.limit, options.cursor ?? '', context.publicUrl]);
  const kept = pages.get(key);
  if (kept && kept.stamp === (await workspacePageStamp(context.store.db, query))) {
    // Most recently used last (unless a newer page took its place meanwhile).
    if (pages.get(key) === kept) {
      pages.delete(key);
      pages.set(key, kept);
    }
    return kept.page;
  }
  const rows = await listRows(context.store.db, query);
  const page: Page<Workspace> = keysetPage(rows, options.limit, (row) => toWorkspace(context, row));
  // The stamp of the rows read, not one read before them: a change in between is not hidden.
  pages.set(key, { stamp: pageStampOf(rows), page });
  if (pages.size > KEPT_PAGES) pages.delete(pages.keys().next().value as string);
  return page;
}
