import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SluiceError } from '../../errors.js';
import { scaffoldProject } from '../../project/scaffold.js';
import type { CliIo } from '../io.js';

/** `sluice init DIR`: a new project with environments dev, staging and prod. */
export function init(io: CliIo, dir: string): void {
  const root = resolve(io.cwd, dir);
  if (existsSync(join(root, 'meltano.yml'))) {
    throw new SluiceError(
      'file_exists',
      `${join(root, 'meltano.yml')} already exists; sluice init will not overwrite a project. Choose another folder.`,
      { root },
    );
  }
  mkdirSync(root, { recursive: true });
  for (const [file, text] of Object.entries(scaffoldProject())) {
    if (!existsSync(join(root, file))) writeFileSync(join(root, file), text);
  }
  io.stdout(`Created a Meltano project in ${root} with environments dev, staging and prod (default: dev).\n`);
}
