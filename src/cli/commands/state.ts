import { readFileSync } from 'node:fs';
import { SluiceError } from '../../errors.js';
import { findProjectRoot } from '../../project/find-root.js';
import { openLocalStateStore, parseStoredState, type StateStore } from '../../runs/local-state-store.js';
import type { GlobalOptions } from '../global-options.js';
import type { CliIo } from '../io.js';

async function withStore<T>(
  globals: GlobalOptions,
  io: CliIo,
  use: (store: StateStore) => Promise<T>,
): Promise<T> {
  const store = await openLocalStateStore(findProjectRoot(io.cwd, globals.projectRoot));
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

/** Shell-style glob (`*`, `?`) to a whole-string regular expression, as Meltano's `--pattern`. */
function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** `sluice state list [--pattern GLOB]`: every state ID of local runs, one per line. */
export async function stateList(globals: GlobalOptions, io: CliIo, options: { pattern?: string }) {
  const matches = options.pattern === undefined ? undefined : globToRegExp(options.pattern);
  const entries = await withStore(globals, io, (store) => store.list());
  for (const entry of entries) {
    if (!matches || matches.test(entry.stateId)) io.stdout(`${entry.stateId}\n`);
  }
}

function notFound(stateId: string): SluiceError {
  return new SluiceError(
    'not_found',
    `No state is stored under '${stateId}'. See the stored IDs with 'sluice state list'.`,
    { stateId },
  );
}

/** `sluice state get ID`: the stored state as JSON (`{"singer_state": ...}`). */
export async function stateGet(globals: GlobalOptions, io: CliIo, stateId: string) {
  const entry = await withStore(globals, io, (store) => store.get(stateId));
  if (!entry) throw notFound(stateId);
  io.stdout(`${JSON.stringify(entry.value)}\n`);
}

/** `sluice state set ID JSON` (or `--input-file FILE`): replaces the stored state. */
export async function stateSet(
  globals: GlobalOptions,
  io: CliIo,
  stateId: string,
  json: string | undefined,
  options: { inputFile?: string },
) {
  if ((json === undefined) === (options.inputFile === undefined)) {
    throw new SluiceError(
      'usage',
      'Give the state either as a JSON argument or with --input-file, not both.',
    );
  }
  const text = json ?? readFileSync(options.inputFile as string, 'utf8');
  const value = parseStoredState(text);
  await withStore(globals, io, (store) => store.set(stateId, value));
  io.stderr(`State for '${stateId}' was set.\n`);
}

/** `sluice state clear ID`: forgets the stored state, so the next run starts from scratch. */
export async function stateClear(globals: GlobalOptions, io: CliIo, stateId: string) {
  const deleted = await withStore(globals, io, (store) => store.clear(stateId));
  if (!deleted) throw notFound(stateId);
  io.stderr(`State for '${stateId}' was cleared.\n`);
}

/** `sluice state copy SRC DST`: DST gets SRC's state (replacing its own), as `meltano state copy`. */
export async function stateCopy(globals: GlobalOptions, io: CliIo, source: string, destination: string) {
  await withStore(globals, io, async (store) => {
    const entry = await store.get(source);
    if (!entry) throw notFound(source);
    await store.set(destination, entry.value);
  });
  io.stderr(`State of '${source}' was copied to '${destination}'.\n`);
}
