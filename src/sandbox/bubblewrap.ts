import { execFile } from 'node:child_process';
import { lstatSync, readlinkSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** What one sandboxed process may see and do. */
export interface SandboxSpec {
  /** The folder it may write: the run folder (a workspace's checkout). */
  readonly runFolder: string;
  /** Folders inside the run folder that stay read-only (virtualenvs, the checkout's index). */
  readonly readOnlyInside: readonly string[];
  /** Folders inside those that are writable again (the run's scratch folder, a virtualenv being installed). */
  readonly writableInside: readonly string[];
  /** Host folders it may read: Sluice's code, the Python installation, an admin's list. */
  readonly readOnly: readonly string[];
  /** Host folders masked with an empty folder even inside a readable one: the data directory. */
  readonly hidden: readonly string[];
  readonly network: 'open' | 'none';
  /** Its whole environment: nothing of the server's is inherited. */
  readonly env: Readonly<Record<string, string>>;
  /** `/etc/passwd` and `/etc/group` for it (some programs look their user up). */
  readonly passwd: string;
  readonly group: string;
}

/** `/bin`, `/lib`, ...: links into `/usr` on a merged system (recreated as links), folders elsewhere. */
function systemFolders(): string[] {
  const args: string[] = ['--ro-bind', '/usr', '/usr'];
  for (const path of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    let info: ReturnType<typeof lstatSync>;
    try {
      info = lstatSync(path);
    } catch {
      continue;
    }
    if (info.isSymbolicLink()) args.push('--symlink', readlinkSync(path), path);
    else if (info.isDirectory()) args.push('--ro-bind', path, path);
  }
  return args;
}

/** The few files of `/etc` that name resolution, TLS, time zones and the loader need. */
const ETC_FILES = [
  'resolv.conf',
  'hosts',
  'host.conf',
  'nsswitch.conf',
  'gai.conf',
  'services',
  'protocols',
  'localtime',
  'timezone',
  // Certificates and OpenSSL's configuration, never ssl/private (the host's keys).
  'ssl/certs',
  'ssl/openssl.cnf',
  'ca-certificates',
  'ca-certificates.conf',
  'alternatives',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'mime.types',
];

/**
 * bubblewrap's arguments for `spec`: new user, PID, IPC, UTS, cgroup and mount namespaces (and
 * network, unless it stays open), a read-only system, a private `/tmp` and `/proc` (which shows
 * only the sandbox's own processes), the run folder writable, and nothing else of the host. The
 * process tree dies with its parent, the server. Later mounts win, so the order matters: the
 * data directory is masked after the read-only folders (one of them may contain it), then the
 * run folder (inside the data directory) is mounted again on top.
 */
export function bubblewrapArgs(spec: SandboxSpec, command: readonly string[]): string[] {
  const args = [
    '--unshare-all',
    ...(spec.network === 'open' ? ['--share-net'] : []),
    '--die-with-parent',
    '--new-session',
    '--clearenv',
    ...Object.entries(spec.env).flatMap(([key, value]) => ['--setenv', key, value]),
    ...systemFolders(),
    ...ETC_FILES.flatMap((name) => ['--ro-bind-try', `/etc/${name}`, `/etc/${name}`]),
    '--ro-bind',
    spec.passwd,
    '/etc/passwd',
    '--ro-bind',
    spec.group,
    '/etc/group',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/tmp',
    ...spec.readOnly.flatMap((path) => ['--ro-bind', path, path]),
    ...spec.hidden.flatMap((path) => ['--tmpfs', path]),
    '--bind',
    spec.runFolder,
    spec.runFolder,
    ...spec.readOnlyInside.flatMap((path) => ['--ro-bind', path, path]),
    ...spec.writableInside.flatMap((path) => ['--bind', path, path]),
    '--chdir',
    spec.runFolder,
    '--',
    ...command,
  ];
  return args;
}

/**
 * Whether bubblewrap can start a sandbox here: it may be missing, or the kernel may refuse
 * unprivileged user namespaces. Answers the reason it cannot, or undefined.
 */
export async function bubblewrapProblem(program: string): Promise<string | undefined> {
  try {
    await run(program, [...bubblewrapProbeArgs(), '--', '/usr/bin/true'], { timeout: 10_000 });
    return undefined;
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') return `bubblewrap is not installed (no program '${program}')`;
    const said = (e.stderr ?? '').trim().split('\n').at(-1);
    return `bubblewrap could not start a sandbox${said ? ` (${said})` : ''}`;
  }
}

function bubblewrapProbeArgs(): string[] {
  return ['--unshare-all', '--die-with-parent', ...systemFolders(), '--proc', '/proc', '--dev', '/dev'];
}
