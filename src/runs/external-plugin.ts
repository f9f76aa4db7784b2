import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SluiceError } from '../errors.js';
import type { Catalog } from '../plugins/singer/catalog-rules.js';
import { messageType, parseMessage } from '../plugins/singer/messages.js';
import { readTargetLine } from '../plugins/singer/target-output.js';
import type { PluginEntry } from '../project/model.js';
import { asCatalog } from './tap-catalog.js';

/** How many of a plugin's last stderr lines a failure message quotes. */
const STDERR_LINES = 20;

/** An external Singer plugin ready to start: its executable and the variables it runs with. */
export interface ExternalPlugin {
  readonly name: string;
  readonly executable: string;
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  /** Receives each line the plugin writes on stderr (its log). */
  readonly log?: (line: string) => void;
  /** Aborting stops the plugin and every process it started. */
  readonly signal?: AbortSignal;
}

/** How long a plugin has to exit after SIGTERM before it is killed. */
const STOP_GRACE_MS = 5000;
/** How long the pipes of an exited plugin may stay open (its last output draining) before its group is stopped. */
const LEFTOVER_GRACE_MS = 1000;

/**
 * Where `sluice install` puts a plugin's virtualenv: `.sluice/venvs/<type>/<name>`, and nowhere
 * else. Project names cannot hold a path (`project/entity-names.ts`); this refuses one again, as
 * the install step removes this folder.
 */
export function venvDir(projectRoot: string, plugin: Pick<PluginEntry, 'type' | 'name'>): string {
  const folder = join(projectRoot, '.sluice', 'venvs', plugin.type);
  const venv = join(folder, plugin.name);
  if (dirname(venv) !== folder || basename(venv) !== plugin.name || plugin.name.includes('\0')) {
    throw new SluiceError(
      'project_invalid',
      `The plugin name '${plugin.name}' cannot name a folder under .sluice/venvs/${plugin.type}/: rename the plugin without '/', '..' or control characters.`,
      { plugin: plugin.name, type: plugin.type },
    );
  }
  return venv;
}

/**
 * The command that runs a plugin: its `executable` when that is a path (absolute or relative to
 * the project root), else the program in its virtualenv, else the name (or `executable`) on PATH.
 */
export function resolveExecutable(projectRoot: string, plugin: PluginEntry): string {
  const program = plugin.executable ?? plugin.name;
  if (program.includes('/')) return isAbsolute(program) ? program : resolve(projectRoot, program);
  return venvExecutable(projectRoot, plugin) ?? program;
}

/** The plugin's program in the virtualenv `sluice install` made for it, when there is one. */
export function venvExecutable(projectRoot: string, plugin: PluginEntry): string | undefined {
  const program = plugin.executable ?? plugin.name;
  if (program.includes('/')) return undefined;
  const inVenv = join(venvDir(projectRoot, plugin), 'bin', program);
  return existsSync(inVenv) ? inVenv : undefined;
}

/**
 * Runs `body` with a new folder only this user can read (mkdtemp makes it 0700), for the
 * configuration, catalog and state files a plugin reads, made in `parent` (the system's temporary
 * folder unless given: a server gives the run folder's own). The folder is removed afterwards, on
 * failure too, so secrets in the configuration do not outlive the run.
 */
export async function withPrivateDir<T>(body: (dir: string) => Promise<T>, parent = tmpdir()): Promise<T> {
  const dir = await mkdtemp(join(parent, 'sluice-run-'));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes `value` as JSON into `dir/name`, readable by this user only; answers the path. */
export async function writePrivateJson(dir: string, name: string, value: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(value), { mode: 0o600 });
  return path;
}

/** A started plugin process: its exit status, and its last stderr lines for messages. */
interface Started {
  readonly child: ChildProcess;
  readonly exited: Promise<number>;
  readonly stderrTail: () => string[];
}

function start(plugin: ExternalPlugin, args: readonly string[]): Started {
  plugin.signal?.throwIfAborted();
  // Its own process group, so that stopping it stops whatever it started too.
  const child = spawn(plugin.executable, args, {
    cwd: plugin.cwd,
    env: plugin.env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const tail: string[] = [];
  let partial = '';
  const take = (line: string) => {
    tail.push(line);
    if (tail.length > STDERR_LINES) tail.shift();
    plugin.log?.(line);
  };
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) take(line);
  });
  const onAbort = () => stop(child);
  plugin.signal?.addEventListener('abort', onAbort, { once: true });
  // A process the plugin started can keep its stdout open after the plugin exited, and the step
  // would wait for it forever: once the plugin has exited, what is left of its group is stopped.
  child.once('exit', () => {
    const timer = setTimeout(() => stop(child), LEFTOVER_GRACE_MS);
    timer.unref();
    child.once('close', () => clearTimeout(timer));
  });
  const exited = new Promise<number>((resolveExit, rejectExit) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') {
        rejectExit(
          new SluiceError(
            'run_failed',
            `'${plugin.name}' could not be started: no executable '${plugin.executable}'. Install it with sluice install ${plugin.name} (it needs a pip_url), or set its executable to a program on PATH or a path.`,
            { plugin: plugin.name, executable: plugin.executable },
          ),
        );
      } else rejectExit(error);
    });
    child.once('close', (code, signal) => {
      plugin.signal?.removeEventListener('abort', onAbort);
      if (partial !== '') take(partial);
      partial = '';
      resolveExit(code ?? (signal ? 128 : 1));
    });
  });
  // Read when needed; until then a spawn failure must not crash the process.
  exited.catch(() => undefined);
  return {
    child,
    exited,
    stderrTail: () => [...tail],
  };
}

function exitFailure(plugin: ExternalPlugin, code: number, started: Started): SluiceError {
  const lines = started.stderrTail();
  return new SluiceError(
    'run_failed',
    `'${plugin.name}' exited with status ${code}.${lines.length ? ` Its last lines on stderr:\n${lines.map((l) => `  ${l}`).join('\n')}` : ' It wrote nothing on stderr.'}`,
    { plugin: plugin.name, exitCode: code, stderr: lines },
  );
}

/**
 * Stops a plugin with its process group: SIGTERM, then SIGKILL if it has not exited after a grace
 * period. Called when a step ends however it ended, so nothing a plugin started outlives the run.
 */
function stop(child: ChildProcess): void {
  if (child.pid === undefined) return;
  const pid = child.pid;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // The group is gone already.
    }
  };
  signalGroup('SIGTERM');
  // A plugin that has exited may have left processes behind in its group: they got the TERM.
  if (child.exitCode !== null || child.signalCode !== null) return;
  const timer = setTimeout(() => signalGroup('SIGKILL'), STOP_GRACE_MS);
  timer.unref();
  child.once('close', () => clearTimeout(timer));
}

/**
 * The text lines of a stream (blank ones too, so line numbers are true), read chunk by chunk so a
 * slow consumer slows the producer. Only each new chunk is searched for the end of a line, so a
 * long line costs its length once; one longer than `maxLength` characters (the other side may be
 * hostile) throws before it is held whole.
 */
export async function* linesOf(
  stream: Readable,
  maxLength = Number.POSITIVE_INFINITY,
): AsyncGenerator<string> {
  let pieces: string[] = [];
  let length = 0;
  stream.setEncoding('utf8');
  for await (const chunk of stream as AsyncIterable<string>) {
    let start = 0;
    for (let end = chunk.indexOf('\n'); end !== -1; end = chunk.indexOf('\n', start)) {
      const tail = chunk.slice(start, end);
      if (pieces.length === 0) yield tail;
      else {
        pieces.push(tail);
        yield pieces.join('');
        pieces = [];
        length = 0;
      }
      start = end + 1;
    }
    if (start < chunk.length) {
      pieces.push(chunk.slice(start));
      length += chunk.length - start;
      if (length > maxLength) throw new RangeError(`a line is longer than ${maxLength} characters`);
    }
  }
  if (length > 0) yield pieces.join('');
}

/** `<tap> --config F --discover`: the catalog the tap describes itself with. */
export async function discoverExternal(plugin: ExternalPlugin, configPath: string): Promise<Catalog> {
  const started = start(plugin, ['--config', configPath, '--discover']);
  started.child.stdin?.end();
  const chunks: string[] = [];
  started.child.stdout?.setEncoding('utf8');
  started.child.stdout?.on('data', (text: string) => chunks.push(text));
  const code = await started.exited;
  if (code !== 0) throw exitFailure(plugin, code, started);
  let catalog: unknown;
  try {
    catalog = JSON.parse(chunks.join(''));
  } catch (error) {
    throw new SluiceError(
      'singer_protocol',
      `'${plugin.name}' --discover did not print a JSON catalog (${(error as Error).message}). Check the plugin's version and its logs.`,
      { plugin: plugin.name },
    );
  }
  return asCatalog(catalog, plugin.name, `'${plugin.name}' --discover printed`);
}

/**
 * Runs a tap in sync mode with `args` (`tapArguments`) and yields its stdout lines, each checked:
 * RECORD lines are recognised without parsing, others are parsed, and a malformed line fails the
 * run naming its line number. When the tap exits non-zero the run fails with its last stderr
 * lines; if the consumer stops early (a failure downstream) the tap is killed.
 */
export async function* runExternalTap(
  plugin: ExternalPlugin,
  args: readonly string[],
): AsyncGenerator<string> {
  const started = start(plugin, args);
  started.child.stdin?.end();
  const stdout = started.child.stdout;
  try {
    if (stdout) {
      let lineNumber = 0;
      for await (const line of linesOf(stdout)) {
        lineNumber++;
        if (line.trim() === '') continue;
        if (messageType(line) !== 'RECORD') parseMessage(line, lineNumber, plugin.name);
        yield `${line}\n`;
      }
    }
    const code = await started.exited;
    if (code !== 0) throw exitFailure(plugin, code, started);
  } finally {
    stop(started.child);
  }
}

/** How much of a line a target printed that is not a state goes to the log. */
const OTHER_LINE_CHARS = 300;
/** How many such lines a step logs; the rest are counted. */
const OTHER_LINES = 20;

/**
 * Runs `<target> --config F` with `input` (Singer lines) on its stdin, through `pipeline` so the
 * tap is read only as fast as the target takes it; each state the target prints on stdout goes to
 * `emitState` (`readTargetLine`: a bare JSON object, or a STATE message), any other line to the
 * log. Fails when the target exits non-zero (with its last stderr lines); the target is killed
 * when the input fails.
 */
export async function runExternalTarget(
  plugin: ExternalPlugin,
  configPath: string,
  input: AsyncIterable<string>,
  emitState: (state: unknown) => void,
): Promise<void> {
  const started = start(plugin, ['--config', configPath]);
  const { child } = started;
  const readStates = async () => {
    if (!child.stdout) return;
    let others = 0;
    for await (const line of linesOf(child.stdout)) {
      const read = readTargetLine(line);
      if (read.kind === 'state') emitState(read.value);
      else if (read.kind === 'other' && ++others <= OTHER_LINES) {
        const shown = line.length > OTHER_LINE_CHARS ? `${line.slice(0, OTHER_LINE_CHARS)}...` : line;
        plugin.log?.(`stdout (${read.reason}; no state saved)${read.echoed ? '' : `: ${shown}`}`);
      }
    }
    if (others > OTHER_LINES) {
      plugin.log?.(`stdout: ${others - OTHER_LINES} more lines that are not states were not logged`);
    }
  };
  try {
    if (!child.stdin) throw new Error(`'${plugin.name}' has no stdin`);
    await Promise.all([pipeline(Readable.from(withNewlines(input)), child.stdin), readStates()]);
  } catch (error) {
    stop(child);
    // A target that could not start rejects here with the better message.
    const code = await started.exited;
    // A target that died makes the write fail (EPIPE): its own exit status says more.
    if (!(error instanceof SluiceError) && code !== 0) throw exitFailure(plugin, code, started);
    throw error;
  }
  const code = await started.exited;
  stop(child);
  if (code !== 0) throw exitFailure(plugin, code, started);
}

async function* withNewlines(input: AsyncIterable<string>): AsyncGenerator<string> {
  for await (const item of input) yield item.endsWith('\n') ? item : `${item}\n`;
}

/**
 * Runs a Singer mapper (`<mapper> --config F`): `input` goes to its stdin while its stdout lines
 * are yielded, checked as a tap's are. An upstream failure wins over the mapper's own (it
 * caused it); a mapper that exits non-zero fails with its last stderr lines.
 */
export async function* runExternalMapper(
  plugin: ExternalPlugin,
  configPath: string,
  input: AsyncIterable<string>,
): AsyncGenerator<string> {
  const started = start(plugin, ['--config', configPath]);
  const { child } = started;
  const stdin = child.stdin;
  const feeding: Promise<unknown> = stdin
    ? pipeline(Readable.from(withNewlines(input)), stdin).then(
        () => undefined,
        (error: unknown) => error,
      )
    : Promise.resolve(undefined);
  try {
    if (child.stdout) {
      let lineNumber = 0;
      for await (const line of linesOf(child.stdout)) {
        lineNumber++;
        if (line.trim() === '') continue;
        if (messageType(line) !== 'RECORD') parseMessage(line, lineNumber, plugin.name);
        yield `${line}\n`;
      }
    }
    const fed = await feeding;
    if (fed instanceof SluiceError || (fed instanceof Error && fed.name === 'AbortError')) throw fed;
    const code = await started.exited;
    if (code !== 0) throw exitFailure(plugin, code, started);
    if (fed !== undefined) throw fed;
  } finally {
    stop(child);
  }
}
