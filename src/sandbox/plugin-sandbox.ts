import { execFile } from 'node:child_process';
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { bubblewrapArgs, bubblewrapProblem } from './bubblewrap.js';
import type { SandboxSettings } from './sandbox-settings.js';

const run = promisify(execFile);

/** What a sandboxed process is started for: a run, or the install of one plugin's virtualenv. */
export interface SandboxedProcess {
  /** The run folder (a workspace's checkout): its files are the only ones it may write. */
  readonly runFolder: string;
  /** Inside the run folder: the one folder of Sluice's own it may write (the run's scratch folder). */
  readonly scratch: string;
  /** During an install only: the virtualenv folder it builds. */
  readonly installing?: string;
  /** The process's variables (the sandbox adds PATH, HOME and the locale). */
  readonly env: Readonly<Record<string, string>>;
  readonly command: readonly string[];
}

/** How the server starts what runs a workspace's code. */
export interface PluginSandbox {
  readonly settings: SandboxSettings;
  /** Why plugins cannot run here, and what to do; undefined when they can. */
  readonly problem?: string;
  /** PATH inside the sandbox: the Python installation first, then the system. */
  readonly path: string;
  /** The program and arguments that start `process` confined. */
  commandFor(process: SandboxedProcess): { readonly file: string; readonly args: readonly string[] };
}

/** The Python installation `python3` on the server's PATH belongs to (a pyenv one lives outside /usr). */
async function pythonInstallation(
  env: NodeJS.ProcessEnv,
): Promise<{ prefix: string; bin: string } | undefined> {
  try {
    const { stdout } = await run(
      'python3',
      [
        '-c',
        'import os, sys; print(sys.base_prefix); print(os.path.dirname(os.path.realpath(sys.executable)))',
      ],
      { env, timeout: 10_000 },
    );
    const [prefix, bin] = stdout.trim().split('\n');
    return prefix && bin ? { prefix, bin } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Prepares the sandbox plugins run in on a server (`settings.mode`): with bubblewrap, checks that
 * it can start, finds the Python installation plugins' virtualenvs are made from, and writes the
 * sandbox's `/etc/passwd` under `<dataDir>/sandbox`. `codeRoot` is Sluice's own folder (the
 * runner's code, read-only inside). With `off`, processes start unconfined.
 */
export async function preparePluginSandbox(options: {
  readonly dataDir: string;
  readonly settings: SandboxSettings;
  readonly codeRoot: string;
}): Promise<PluginSandbox> {
  const { settings } = options;
  const dataDir = resolve(options.dataDir);
  // Both probes start programs (python3 through a pyenv shim takes a good part of a second): at once.
  const [python, problem] = await Promise.all([
    pythonInstallation(process.env),
    settings.mode === 'off' ? undefined : bubblewrapProblem(settings.bubblewrap),
  ]);
  const systemPath = '/usr/local/bin:/usr/bin:/bin';
  const path = python && !python.bin.startsWith('/usr/') ? `${python.bin}:${systemPath}` : systemPath;
  if (settings.mode === 'off') {
    return {
      settings,
      path: process.env.PATH ?? systemPath,
      commandFor: (p) => ({ file: p.command[0] as string, args: p.command.slice(1) }),
    };
  }
  const folder = join(dataDir, 'sandbox');
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const uid = process.getuid?.() ?? 65534;
  const gid = process.getgid?.() ?? 65534;
  const user = uid === 0 ? 'root' : 'sluice';
  const passwd = join(folder, 'passwd');
  const group = join(folder, 'group');
  writeFileSync(passwd, `${user}:x:${uid}:${gid}:Sluice plugin:/tmp:/usr/sbin/nologin\n`, { mode: 0o644 });
  writeFileSync(group, `${user}:x:${gid}:\n`, { mode: 0o644 });
  // Masked as given and as it really is: bwrap mounts over a link's path, not its target's.
  const hiddenDataDir = [...new Set([dataDir, realpathSync(dataDir)])];
  // Node itself, when it is not the system's (nvm, a tarball in /opt): the runner needs it.
  const nodePrefix = dirname(dirname(realpathSync(process.execPath)));
  const readOnly = [
    options.codeRoot,
    ...(nodePrefix.startsWith('/usr') ? [] : [nodePrefix]),
    ...(python && !python.prefix.startsWith('/usr') ? [python.prefix] : []),
    ...settings.readOnlyPaths,
  ];
  return {
    settings,
    ...(problem
      ? {
          problem: `Plugins cannot run: ${problem}. Install it (Debian: apt-get install -y bubblewrap), or, for one trusted team only, set SLUICE_PLUGIN_SANDBOX=off.`,
        }
      : {}),
    path,
    commandFor: (p) => ({
      file: settings.bubblewrap,
      args: bubblewrapArgs(
        {
          runFolder: p.runFolder,
          readOnlyInside: [join(p.runFolder, '.sluice')],
          writableInside: [p.scratch, ...(p.installing ? [p.installing] : [])],
          readOnly,
          hidden: hiddenDataDir,
          network: settings.network,
          env: p.env,
          passwd,
          group,
        },
        p.command,
      ),
    }),
  };
}
