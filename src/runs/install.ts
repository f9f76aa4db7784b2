import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RuntimeEnv } from '../config/env-layers.js';
import { expandString } from '../config/expand.js';
import { SluiceError } from '../errors.js';
import { makeFolder, pathScope } from '../plugins/confined-paths.js';
import type { PluginEntry, Project } from '../project/model.js';
import type { PluginType } from '../project/plugin-types.js';
import { venvDir } from './external-plugin.js';

/** How many of a failed command's last output lines the error quotes. */
const OUTPUT_LINES = 20;

export interface InstalledPlugin {
  readonly type: PluginType;
  readonly name: string;
  /** `pip_url` after variable expansion: what pip was given. */
  readonly pipUrl: string;
  readonly venv: string;
}

export interface InstallOptions {
  readonly project: Project;
  readonly runtime: RuntimeEnv;
  /** Plugin names; empty installs every plugin that has a `pip_url`. */
  readonly names: readonly string[];
  /** The interpreter that creates the virtualenvs. */
  readonly python?: string;
}

/** The plugins to install: those named (each must exist and have a `pip_url`), else all with one. */
function pluginsToInstall(project: Project, names: readonly string[]): PluginEntry[] {
  if (names.length === 0) return project.plugins.filter((p) => p.pipUrl !== undefined);
  return names.flatMap((name) => {
    const found = project.plugins.filter((p) => p.name === name);
    if (found.length === 0) {
      throw new SluiceError(
        'plugin_not_found',
        `'${name}' is not a plugin of this project. Known: ${project.plugins.map((p) => p.name).join(', ') || 'none'}.`,
        { plugin: name },
      );
    }
    const installable = found.filter((p) => p.pipUrl !== undefined);
    if (installable.length === 0) {
      throw new SluiceError(
        'plugin_unsupported',
        `'${name}' has no pip_url, so there is nothing to install. Add a pip_url to it in meltano.yml, or set its executable to a program that is already installed.`,
        { plugin: name },
      );
    }
    return installable;
  });
}

/**
 * The plugin's virtualenv folder, under the real project folder, after making its parents
 * (`.sluice/venvs/<type>`) one at a time, refusing any that is a link: the folder is removed and
 * rebuilt, so a link committed as `.sluice/venvs/<type>` must not lead that elsewhere.
 */
async function venvFolder(projectRoot: string, plugin: PluginEntry): Promise<string> {
  const shown = venvDir('.', plugin);
  const scope = await pathScope({ root: projectRoot, confined: true });
  await makeFolder(scope, dirname(venvDir(scope.realRoot, plugin)), {
    plugin: plugin.name,
    setting: 'the virtualenv folder',
    value: shown,
    rule: 'Virtualenvs are made only inside the project folder: remove the link under .sluice/venvs that leads out of it.',
  });
  return venvDir(scope.realRoot, plugin);
}

/** Runs a command to the end; fails with its last output lines when it exits non-zero. */
function runCommand(
  command: string,
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  what: string,
  cwd: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    // In the project root, as Meltano runs pip, so a relative pip_url (`./plugins/tap-x`) works.
    const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      // Only the tail is quoted, so only a bounded amount is kept.
      output = (output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new SluiceError(
          'install_failed',
          `${what}: could not start '${command}' (${error.code ?? error.message}). Install Python 3 with its venv module.`,
          { command },
        ),
      );
    });
    child.once('close', (code) => {
      if (code === 0) return resolve();
      const tail = output.trimEnd().split('\n').slice(-OUTPUT_LINES);
      reject(
        new SluiceError(
          'install_failed',
          `${what} failed (exit status ${code}). The last lines it printed:\n${tail.map((l) => `  ${l}`).join('\n')}`,
          { command, args, exitCode: code },
        ),
      );
    });
  });
}

/**
 * Installs plugins as Meltano does: a fresh virtualenv per plugin under `.sluice/venvs/<type>/<name>`
 * and `pip install` of its `pip_url` (variables expanded from the shell and `.env`, no environment
 * active; several requirements separated by spaces, `-e` allowed). `onInstalled` hears of each one
 * as it finishes; the first failure stops the rest.
 */
export async function installPlugins(
  options: InstallOptions,
  onInstalled?: (plugin: InstalledPlugin) => void,
): Promise<readonly InstalledPlugin[]> {
  const { project, runtime } = options;
  const plugins = pluginsToInstall(project, options.names);
  const env = { ...runtime.dotenv, ...runtime.shell };
  const installed: InstalledPlugin[] = [];
  for (const plugin of plugins) {
    const pipUrl = expandString(plugin.pipUrl ?? '', env, {
      strict: runtime.strict,
      context: `pip_url of ${plugin.name}`,
    });
    const requirements = pipUrl.split(/\s+/).filter((word) => word !== '');
    const venv = await venvFolder(project.root, plugin);
    await rm(venv, { recursive: true, force: true });
    await runCommand(
      options.python ?? 'python3',
      ['-m', 'venv', venv],
      runtime.shell,
      `Creating the virtualenv of '${plugin.name}'`,
      project.root,
    );
    await runCommand(
      join(venv, 'bin', 'python'),
      ['-m', 'pip', 'install', ...requirements],
      { ...runtime.shell, VIRTUAL_ENV: venv },
      `Installing '${plugin.name}' (pip install ${pipUrl})`,
      project.root,
    );
    const result = { type: plugin.type, name: plugin.name, pipUrl, venv };
    installed.push(result);
    onInstalled?.(result);
  }
  return installed;
}
