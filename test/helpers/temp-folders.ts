import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Temporary folders helpers make, removed by the hooks of the per-file setup (file-setup.ts).
 * Test files share their worker's modules (`isolate: false`), so a hook a helper registered when
 * it was first imported would run in the first file that imported it only.
 */
const pending: Record<'test' | 'file', string[]> = { test: [], file: [] };

/** A new folder in the system's temporary folder, removed after the current test, or test file. */
export function tempFolder(prefix: string, removedAfter: 'test' | 'file'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  pending[removedAfter].push(dir);
  return dir;
}

/** Removes the folders made to last until the end of a test, or of a test file. */
export function removeTempFolders(madeFor: 'test' | 'file'): void {
  for (const dir of pending[madeFor].splice(0)) rmSync(dir, { recursive: true, force: true });
}
