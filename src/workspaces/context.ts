import { join } from 'node:path';
import type { Store } from '../store/open-store.js';
import type { ProjectWorkers } from './project-workers.js';

/** What workspace operations need: the database, where repositories live, the URL users see. */
export interface WorkspaceContext {
  readonly store: Store;
  readonly reposDir: string;
  readonly publicUrl: string;
  /**
   * Where projects are loaded and their views computed: the server's worker threads. Without
   * them (a context built for one task, such as recovery at start), the same code runs in-thread.
   */
  readonly projectWorkers?: ProjectWorkers;
}

/** The bare repository of a workspace on disk. */
export function repositoryPath(context: WorkspaceContext, repositoryName: string): string {
  return join(context.reposDir, `${repositoryName}.git`);
}
