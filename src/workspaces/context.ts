import { join } from 'node:path';
import type { Store } from '../store/open-store.js';

/** What workspace operations need: the database, where repositories live, the URL users see. */
export interface WorkspaceContext {
  readonly store: Store;
  readonly reposDir: string;
  readonly publicUrl: string;
}

/** The bare repository of a workspace on disk. */
export function repositoryPath(context: WorkspaceContext, repositoryName: string): string {
  return join(context.reposDir, `${repositoryName}.git`);
}
