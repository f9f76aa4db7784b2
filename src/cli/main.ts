import { createInterface } from 'node:readline/promises';
import { Command, CommanderError, Option } from 'commander';
import { SluiceError, type SluiceErrorCode } from '../errors.js';
import { extractGlobalOptions, type GlobalOptions } from './global-options.js';
import type { CliIo } from './io.js';
import { SLUICE_VERSION } from './project-context.js';

/** Exit statuses: 1 for a user error, 2 for a usage error, 70 for a bug. */
const EXIT_STATUS: Partial<Record<SluiceErrorCode, number>> = { usage: 2 };

function defaultIo(): CliIo {
  return {
    cwd: process.cwd(),
    env: { ...process.env },
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    stdinIsTTY: process.stdin.isTTY === true,
    confirm: async (question) => {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
      } finally {
        rl.close();
      }
    },
  };
}

function buildProgram(globals: GlobalOptions, io: CliIo): Command {
  const program = new Command('sluice')
    .description(
      'DataOps workspaces for Meltano projects: resolve configuration per environment, promote, run.',
    )
    .version(SLUICE_VERSION)
    // Global options are taken out of argv before parsing (they may follow the command); they are
    // declared here so that --help lists them.
    .addOption(
      new Option(
        '-e, --environment <name>',
        'the environment to use (else SLUICE_ENVIRONMENT, MELTANO_ENVIRONMENT, default_environment)',
      ),
    )
    .addOption(new Option('--no-environment', 'use no environment'))
    .addOption(
      new Option(
        '--project-root <dir>',
        'the project folder (else the nearest folder above that holds meltano.yml)',
      ),
    )
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  const config = program.command('config').description("show and change plugins' configuration");
  const pluginType = () =>
    new Option('--plugin-type <type>', 'the plugin type, where two types have a plugin of this name');
  config
    .command('print <plugin>')
    .description('the configuration the plugin runs with, secrets masked')
    .option('--format <format>', 'json or env', 'json')
    .option('--unsafe', 'show sensitive values')
    .addOption(pluginType())
    .action(async (plugin: string, opts) =>
      (await import('./commands/config.js')).configPrint(globals, io, plugin, opts),
    );
  config
    .command('list <plugin>')
    .description('every setting with its value and where the value comes from')
    .option('--format <format>', 'text or json', 'text')
    .option('--unsafe', 'show sensitive values')
    .option('--all', 'also list settings left at their default')
    .option('--extras', 'list the extras (select, metadata, schema, ...) instead')
    .addOption(pluginType())
    .action(async (plugin: string, opts) =>
      (await import('./commands/config.js')).configList(globals, io, plugin, opts),
    );
  config
    .command('matrix <plugin>')
    .description('every setting across all environments, side by side')
    .option('--format <format>', 'text or json', 'text')
    .option('--unsafe', 'show sensitive values')
    .addOption(pluginType())
    .action(async (plugin: string, opts) =>
      (await import('./commands/config.js')).configMatrixCommand(globals, io, plugin, opts),
    );
  config
    .command('set <plugin> <setting_and_value...>')
    .description(
      'set a setting: in the environment chosen with --environment, else in the base config; secrets go to .env',
    )
    .option('--from-file <file>', 'read the value from a file (- for standard input)')
    .addOption(pluginType())
    .action(async (plugin: string, args: string[], opts) =>
      (await import('./commands/config.js')).configSet(globals, io, plugin, args, opts),
    );
  config
    .command('unset <plugin> <setting...>')
    .description(
      'remove a setting: from the environment chosen with --environment only, else from the base config and .env',
    )
    .addOption(pluginType())
    .action(async (plugin: string, setting: string[], opts) =>
      (await import('./commands/config.js')).configUnset(globals, io, plugin, setting, opts),
    );
  config
    .command('reset <plugin>')
    .description("clear a plugin's settings (environment or base) and its own .env variables")
    .option('-y, --yes', 'do not ask for confirmation')
    .addOption(pluginType())
    .action(async (plugin: string, opts) =>
      (await import('./commands/config.js')).configReset(globals, io, plugin, opts),
    );

  const environment = program
    .command('environment')
    .description("list, add and remove the project's environments");
  environment
    .command('list')
    .option('--format <format>', 'text or json', 'text')
    .action(async (opts) => (await import('./commands/environment.js')).environmentList(globals, io, opts));
  environment
    .command('add <name>')
    .action(async (name: string) =>
      (await import('./commands/environment.js')).environmentAdd(globals, io, name),
    );
  environment
    .command('remove <name>')
    .action(async (name: string) =>
      (await import('./commands/environment.js')).environmentRemove(globals, io, name),
    );

  program
    .command('init <dir>')
    .description('create a project with environments dev, staging and prod')
    .action(async (dir: string) => (await import('./commands/init.js')).init(io, dir));
  return program;
}

/** Runs the CLI; answers the exit status. User errors are printed without a stack trace. */
export async function main(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
  try {
    const { globals, rest } = extractGlobalOptions(argv);
    await buildProgram(globals, io).parseAsync(rest, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof SluiceError) {
      io.stderr(`error: ${error.message}\n`);
      return EXIT_STATUS[error.code] ?? 1;
    }
    io.stderr(
      `internal error (please report it): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 70;
  }
}
