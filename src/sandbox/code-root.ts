import { fileURLToPath } from 'node:url';

/**
 * Sluice's own folder (the package root): two levels above this file, from the source
 * (`src/sandbox/`) as from the bundle (`dist/cli/main.cjs`). Runners start from its `bin/`, and
 * the sandbox lets plugins read it (the runner's code and native modules live there).
 */
export function sluiceCodeRoot(): string {
  return fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
}
