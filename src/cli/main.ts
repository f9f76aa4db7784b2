import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
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
    .command('run <blocks...>')
    .description(
      'run extractors -> (mappers) -> loaders and jobs in the environment (explicit or default_environment)',
    )
    .option(
      '--state-id-suffix <suffix>',
      "appended to the state ID (MELTANO_RUN_STATE_ID_SUFFIX; else the environment's state_id_suffix)",
    )
    .option('--full-refresh', 'ignore the saved state (MELTANO_RUN_FULL_REFRESH); the new state is saved')
    .action(async (blocks: string[], opts: { stateIdSuffix?: string; fullRefresh?: boolean }) => {
      const suffix = opts.stateIdSuffix ?? io.env.MELTANO_RUN_STATE_ID_SUFFIX;
      const fullRefresh =
        opts.fullRefresh === true || /^(true|1|yes|on)$/i.test(io.env.MELTANO_RUN_FULL_REFRESH ?? '');
      return (await import('./commands/run.js')).run(globals, io, blocks, {
        ...(suffix !== undefined && suffix !== '' ? { stateIdSuffix: suffix } : {}),
        fullRefresh,
      });
    });

  program
    .command('install [plugins...]')
    .description(
      'install plugins with a pip_url, each in its own virtualenv under .sluice/venvs (all when none named)',
    )
    .action(async (plugins: string[]) =>
      (await import('./commands/install.js')).install(globals, io, plugins),
    );

  const state = program.command('state').description('show and change the state of local runs');
  state
    .command('list')
    .option('--pattern <glob>', 'only IDs matching this pattern (* and ?)')
    .action(async (opts) => (await import('./commands/state.js')).stateList(globals, io, opts));
  state
    .command('get <state_id>')
    .action(async (id: string) => (await import('./commands/state.js')).stateGet(globals, io, id));
  state
    .command('set <state_id> [json]')
    .description('replace the state: a JSON object with a singer_state key')
    .option('--input-file <file>', 'read the state from this file')
    .action(async (id: string, json: string | undefined, opts) =>
      (await import('./commands/state.js')).stateSet(globals, io, id, json, opts),
    );
  state
    .command('clear <state_id>')
    .description('forget the state, so the next run starts from scratch')
    .action(async (id: string) => (await import('./commands/state.js')).stateClear(globals, io, id));
  state
    .command('copy <src_state_id> <dst_state_id>')
    .description("give a state ID another ID's state (replacing its own)")
    .action(async (src: string, dst: string) =>
      (await import('./commands/state.js')).stateCopy(globals, io, src, dst),
    );

  const schedule = program.command('schedule').description("show the project's schedules");
  schedule
    .command('list')
    .description('every schedule with what it runs, its interval and its next run (UTC)')
    .option('--format <format>', 'text or json', 'text')
    .action(async (opts) => (await import('./commands/schedule.js')).scheduleList(globals, io, opts));

  program
    .command('serve')
    .description('run the Sluice server: workspaces, Git hosting, REST API (Ctrl-C stops it)')
    .option('--host <host>', 'address to listen on (SLUICE_HOST; default 127.0.0.1)')
    .option('--port <port>', 'port to listen on (SLUICE_PORT; default 8080)')
    .option(
      '--data-dir <dir>',
      'where the database and repositories live (SLUICE_DATA_DIR; default ./.sluice)',
    )
    .option(
      '--workers <n>',
      'runs this server executes at once (SLUICE_WORKERS; default 2; 0: only `sluice worker` processes run them)',
    )
    .option(
      '--repos-dir <dir>',
      "the workspaces' repositories, shared by a cluster's servers (SLUICE_REPOS_DIR; default <data dir>/repos)",
    )
    .action(async (opts) => (await import('./commands/serve.js')).serve(io, opts));

  program
    .command('worker')
    .description(
      "execute runs from a cluster's queue (PostgreSQL: SLUICE_DATABASE_URL, SLUICE_SECRET_KEY) until Ctrl-C",
    )
    .option('--name <name>', 'how GET /api/v1/workers shows it (default <host>:<pid>)')
    .option('--concurrency <n>', 'runs at once (SLUICE_WORKER_CONCURRENCY; default 2)')
    .option('--environments <names>', 'only runs in these environments, e.g. prod,staging (default: all)')
    .option('--workspaces <names>', 'only runs of these workspaces, names or ids (default: all)')
    .option(
      '--data-dir <dir>',
      'repository copies and run folders (SLUICE_WORKER_DATA_DIR; default ./.sluice-worker)',
    )
    .option(
      '--url <url>',
      "a server to fetch workspaces' code from (SLUICE_URL; default http://127.0.0.1:8080)",
    )
    .option('--token <token>', 'a token that may read those workspaces (SLUICE_TOKEN)')
    .action(async (opts) => (await import('./commands/worker.js')).worker(io, opts));

  const remote = (command: Command) =>
    command
      .option('--url <url>', 'the Sluice server (SLUICE_URL; default http://127.0.0.1:8080)')
      .option('--token <token>', 'an API token (SLUICE_TOKEN; default ./.sluice/admin-token if present)')
      .option('--format <format>', 'text or json', 'text');
  const target = (opts: { url?: string; token?: string }) => ({
    url: opts.url ?? io.env.SLUICE_URL ?? 'http://127.0.0.1:8080',
    token: opts.token ?? io.env.SLUICE_TOKEN ?? localAdminToken(io),
  });
  const workspace = program.command('workspace').description('manage workspaces on a Sluice server');
  remote(workspace.command('create <name>'))
    .description('create a workspace and its Git repository')
    .action(async (name: string, opts) =>
      (await import('./commands/remote.js')).workspaceCreate(target(opts), io, name, opts),
    );
  remote(workspace.command('list')).action(async (opts) =>
    (await import('./commands/remote.js')).workspaceList(target(opts), io, opts),
  );
  remote(workspace.command('show <workspace>'))
    .description('a workspace by id or repository name')
    .action(async (ref: string, opts) =>
      (await import('./commands/remote.js')).workspaceShow(target(opts), io, ref, opts),
    );
  remote(workspace.command('set <workspace>'))
    .description('set the active environment, the upstream and/or rename')
    .option('--active-environment <env>', 'the environment pipelines run with')
    .option('--name <name>', 'a new name')
    .option(
      '--upstream <workspace>',
      'the workspace this one is promoted from (id or repository name; none: no upstream)',
    )
    .action(async (ref: string, opts) =>
      (await import('./commands/remote.js')).workspaceSet(target(opts), io, ref, opts),
    );
  remote(workspace.command('delete <workspace>'))
    .description('delete a workspace and its repository')
    .action(async (ref: string, opts) =>
      (await import('./commands/remote.js')).workspaceDelete(target(opts), io, ref),
    );
  /** A positional argument commander leaves optional for the other forms of the command. */
  const required = (value: string | undefined, name: string): string => {
    if (value === undefined) throw new SluiceError('usage', `missing argument ${name}.`);
    return value;
  };
  remote(program.command('promote'))
    .description(
      'promote SOURCE into TARGET (preview, confirm, apply); `promote TARGET` promotes from its upstream; or `promote history WS`, `promote revert PROMOTION`',
    )
    .argument('<source>', 'the source workspace (or, alone, the target), or `history` / `revert`')
    .argument('[target]', 'the target workspace (for history: the workspace; for revert: the promotion id)')
    .option('--dry-run', 'preview only')
    .option('-y, --yes', 'apply without asking')
    .option('--delete-target-only', 'also remove files only the target has (that the source never had)')
    .option('--all-environments', 'show the configuration changes in every environment')
    .action(async (first: string, second: string | undefined, opts) => {
      const commands = await import('./commands/promote.js');
      if (first === 'history') return commands.promoteHistory(target(opts), io, required(second, 'WS'), opts);
      if (first === 'revert')
        return commands.promoteRevert(target(opts), io, required(second, 'PROMOTION'), opts);
      if (second === undefined) return commands.promoteFromUpstream(target(opts), io, first, opts);
      return commands.promote(target(opts), io, first, second, opts);
    });
  // `--environment` is a global option (taken out of argv first): here it names the secret's
  // environment. Only the flag counts, never SLUICE_ENVIRONMENT: a secret for all environments
  // must not become an environment's by accident.
  const secretEnvironment = () => (globals.noEnvironment ? null : (globals.environment ?? null));
  const secret = program
    .command('secret')
    .description(
      "manage a workspace's secrets on a Sluice server: stored encrypted, given to plugins as environment variables",
    );
  remote(secret.command('set <workspace> <name>'))
    .description(
      'set secret NAME (an environment variable name) for -e ENV, or for all environments; the value is read from standard input (one final newline dropped) or typed at a prompt that does not echo, never given as an argument, since shell history would keep it',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  sluice secret set my-ws TAP_GITHUB_AUTH_TOKEN -e prod < token.txt\n  printf %s "$TOKEN" | sluice secret set my-ws TAP_GITHUB_AUTH_TOKEN\n',
    )
    .action(async (ref: string, name: string, opts) =>
      (await import('./commands/secret.js')).secretSet(
        target(opts),
        io,
        ref,
        name,
        secretEnvironment(),
        opts,
      ),
    );
  remote(secret.command('list <workspace>'))
    .description('the secrets of a workspace: names and environments, never values')
    .action(async (ref: string, opts) =>
      (await import('./commands/secret.js')).secretList(target(opts), io, ref, opts),
    );
  remote(secret.command('unset <workspace> <name>'))
    .description('remove secret NAME: the one for -e ENV, else the one for all environments')
    .action(async (ref: string, name: string, opts) =>
      (await import('./commands/secret.js')).secretUnset(target(opts), io, ref, name, secretEnvironment()),
    );
  const token = program.command('token').description('manage API tokens (admin)');
  remote(token.command('create <name>'))
    .option('--workspaces <ids>', 'comma-separated workspace ids, or * for all', '*')
    .option('--access <access>', 'read, write, or approve (write, and approving promotion requests)', 'read')
    .action(async (name: string, opts) =>
      (await import('./commands/remote.js')).tokenCreate(target(opts), io, name, opts),
    );
  remote(token.command('list')).action(async (opts) =>
    (await import('./commands/remote.js')).tokenList(target(opts), io, opts),
  );
  remote(token.command('revoke <id>')).action(async (id: string, opts) =>
    (await import('./commands/remote.js')).tokenRevoke(target(opts), io, id),
  );

  const approval = program
    .command('approval')
    .description('promotion requests into workspaces that require approvals: list and review them');
  remote(approval.command('list <workspace>'))
    .description('the requests into a workspace, newest first')
    .action(async (ws: string, opts) =>
      (await import('./commands/approval.js')).approvalList(target(opts), io, ws, opts),
    );
  for (const [verdict, what] of [
    [
      'approve',
      'approve a request (an admin or an approve token, not its author); the last approval applies it',
    ],
    ['reject', 'reject a request: it will not apply'],
    ['comment', 'comment on a request (--comment TEXT)'],
  ] as const) {
    remote(approval.command(`${verdict} <workspace> <request>`))
      .description(what)
      .option('--comment <text>', 'a comment kept with the review')
      .action(async (ws: string, id: string, opts) =>
        (await import('./commands/approval.js')).approvalReview(target(opts), io, verdict, ws, id, opts),
      );
  }

  remote(program.command('audit'))
    .description('who changed what and when (admins: everything; other tokens: their workspaces)')
    .option('--workspace <workspace>', 'only this workspace (id or repository name)')
    .option('--actor <actor>', 'only this token (its id or name)')
    .option('--since <time>', 'from this ISO date or time')
    .option('--until <time>', 'up to this ISO date or time')
    .addHelpText('after', '\nFormats: text (a table), json, or jsonl (one entry per line, for export).')
    .action(async (opts) => (await import('./commands/audit.js')).audit(target(opts), io, opts));

  // What a server starts in the sandbox to run a workspace's code (runs/runner-main.ts); not for people.
  program.command('internal-runner', { hidden: true }).action(async () => {
    process.exit(await (await import('../runs/runner-main.js')).runnerMain());
  });

  program
    .command('init <dir>')
    .description('create a project with environments dev, staging and prod')
    .action(async (dir: string) => (await import('./commands/init.js')).init(io, dir));
  return program;
}

/** The admin token a local server wrote into ./.sluice, so that `sluice workspace ...` works next to it. */
function localAdminToken(io: CliIo): string | undefined {
  const file = join(io.cwd, io.env.SLUICE_DATA_DIR ?? '.sluice', 'admin-token');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
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
