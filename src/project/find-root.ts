import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SluiceError } from '../errors.js';

export const PROJECT_FILE = 'meltano.yml';

/**
 * The project root: `explicit` if given (it must hold `meltano.yml`), else the nearest ancestor of
 * `cwd` that holds one, as Meltano finds its project.
 */
export function findProjectRoot(cwd: string, explicit?: string): string {
  if (explicit !== undefined) {
    const root = resolve(cwd, explicit);
    if (!existsSync(join(root, PROJECT_FILE))) {
      throw new SluiceError(
        'project_not_found',
        `No ${PROJECT_FILE} in ${root} (from --project-root). Point --project-root at the folder that holds ${PROJECT_FILE}, or create a project with \`sluice init DIR\`.`,
        { root },
      );
    }
    return root;
  }
  let dir = resolve(cwd);
  for (;;) {
    if (existsSync(join(dir, PROJECT_FILE))) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new SluiceError(
        'project_not_found',
        `No ${PROJECT_FILE} in ${resolve(cwd)} or any folder above it. Run sluice inside a Meltano project, pass --project-root DIR, or create one with \`sluice init DIR\`.`,
        { cwd: resolve(cwd) },
      );
    }
    dir = parent;
  }
}
