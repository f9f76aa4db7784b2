import { installPlugins } from '../../runs/install.js';
import type { GlobalOptions } from '../global-options.js';
import type { CliIo } from '../io.js';
import { openProject } from '../project-context.js';

/** `sluice install [PLUGIN...]`: a virtualenv per plugin with a `pip_url`, as `meltano install` makes. */
export async function install(globals: GlobalOptions, io: CliIo, names: readonly string[]): Promise<void> {
  const context = openProject(globals, io);
  let count = 0;
  await installPlugins({ project: context.project, runtime: context.runtime, names }, (plugin) => {
    count++;
    io.stdout(
      `Installed ${plugin.type.replace(/s$/, '')} '${plugin.name}' (${plugin.pipUrl}) in ${plugin.venv}\n`,
    );
  });
  if (count === 0) io.stdout('Nothing to install: no plugin has a pip_url.\n');
}
