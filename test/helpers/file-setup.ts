import { afterAll, afterEach } from 'vitest';
import { removeTempFolders } from './temp-folders.js';

/*
 * Runs before each test file (`setupFiles` in vitest.config.ts). Test files share their worker's
 * process and modules (`isolate: false`), so what a file may leave in the process is put back
 * here, and the hooks every file needs are registered here rather than by shared helpers.
 */

const worker = globalThis as { sluiceWorkerStart?: { readonly umask: number; readonly cwd: string } };
if (worker.sluiceWorkerStart === undefined) {
  const umask = process.umask(0o022);
  process.umask(umask);
  worker.sluiceWorkerStart = { umask, cwd: process.cwd() };
}
// startServer sets a 077 umask for good: a later file would make its files under it, and a check
// that the product sets a file's mode itself could no longer fail.
process.umask(worker.sluiceWorkerStart.umask);
process.chdir(worker.sluiceWorkerStart.cwd);

afterEach(() => removeTempFolders('test'));
afterAll(() => removeTempFolders('file'));
