import { findEnvironment } from '../../config/select-environment.js';
import { addEnvironment, removeEnvironment } from '../../project/edit-settings.js';
import { findProjectRoot } from '../../project/find-root.js';
import { loadProject } from '../../project/load.js';
import { folderSource } from '../../project/project-source.js';
import type { GlobalOptions } from '../global-options.js';
import type { CliIo } from '../io.js';

function load(globals: GlobalOptions, io: CliIo) {
  return loadProject(folderSource(findProjectRoot(io.cwd, globals.projectRoot)));
}

/** `sluice environment list`: one name per line, in file order, the default marked. */
export function environmentList(globals: GlobalOptions, io: CliIo, options: { format?: string }): void {
  const project = load(globals, io);
  if (options.format === 'json') {
    io.stdout(
      `${JSON.stringify(
        project.environments.map((e) => ({
          name: e.name,
          default: e.name === project.defaultEnvironment,
          file: e.file,
        })),
        null,
        2,
      )}\n`,
    );
    return;
  }
  io.stdout(
    project.environments
      .map((e) => `${e.name}${e.name === project.defaultEnvironment ? ' (default)' : ''}\n`)
      .join(''),
  );
}

export function environmentAdd(globals: GlobalOptions, io: CliIo, name: string): void {
  addEnvironment(load(globals, io), name);
  io.stdout(`Created new environment '${name}'\n`);
}

export function environmentRemove(globals: GlobalOptions, io: CliIo, name: string): void {
  const project = load(globals, io);
  removeEnvironment(project, findEnvironment(project, name));
  io.stdout(`Removed environment '${name}'\n`);
  if (project.defaultEnvironment === name) {
    io.stderr(
      `warning: '${name}' was the default_environment; set default_environment to another environment in meltano.yml.\n`,
    );
  }
}
