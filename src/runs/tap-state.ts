import { extraValue, type ResolvedPlugin } from '../config/resolve.js';
import { SluiceError } from '../errors.js';
import type { SingerState } from '../plugins/builtin/singer-catalog.js';
import type { PluginCapabilities } from './capabilities.js';
import { readExtraFile } from './extra-file.js';
import type { StateStore } from './local-state-store.js';

export interface TapStateOptions {
  readonly extractor: ResolvedPlugin;
  readonly capabilities: PluginCapabilities;
  readonly projectRoot: string;
  readonly stateStore: StateStore;
  readonly stateId: string;
  readonly fullRefresh: boolean;
  readonly log: (line: string) => void;
}

function isObject(value: unknown): value is SingerState {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The state a tap starts from, chosen as Meltano's `look_up_state` chooses it: none for a tap
 * without the `state` capability or on a full refresh; else the file of the `state:` extra (the
 * bare Singer state, not the stored `{"singer_state": ...}` form); else the state stored under the
 * run's state ID; an empty state or file counts as none. Undefined when the tap starts without state.
 */
export async function tapState(options: TapStateOptions): Promise<SingerState | undefined> {
  const { extractor, capabilities, log } = options;
  const name = extractor.plugin.name;
  if (!capabilities.names.has('state')) {
    log(`${name} does not declare the state capability: it starts without state`);
    return undefined;
  }
  if (options.fullRefresh) {
    log('Full refresh: starting without state');
    return undefined;
  }
  const file = extraValue(extractor, '_state');
  if (typeof file === 'string' && file !== '') {
    const value = await readExtraFile(options.projectRoot, name, 'state', file);
    if (value === undefined) {
      log(`The state file ${file} (the state: extra) is empty: starting without state`);
      return undefined;
    }
    if (!isObject(value)) {
      throw new SluiceError(
        'run_invalid',
        `${name}: the state file '${file}' (the state: extra) must hold a JSON object such as {"bookmarks": {...}}.`,
        { plugin: name, extra: 'state' },
      );
    }
    log(`Using the state in ${file} (the state: extra) instead of the stored one`);
    return value;
  }
  const stored = await options.stateStore.get(options.stateId);
  const state = stored?.value.singer_state;
  if (stored === undefined) {
    log('No state saved yet: starting from the beginning');
    return undefined;
  }
  if (!isObject(state)) {
    log(`The state saved under ${options.stateId} is not a JSON object: starting from the beginning`);
    return undefined;
  }
  // Meltano passes no state file for an empty state (`if state := ...`).
  if (Object.keys(state).length === 0) {
    log(`The state saved under ${options.stateId} is empty: starting from the beginning`);
    return undefined;
  }
  log(`Resuming from the state saved at ${stored.updatedAt}`);
  return state;
}
