import { isAbsolute } from 'node:path';
import { SluiceError } from '../errors.js';

/**
 * How a server confines its plugins. Read once from the server's variables (`sluice serve`) and
 * passed down: `SLUICE_PLUGIN_SANDBOX` (`bubblewrap`, the default, or `off`: one trusted team
 * only), `SLUICE_PLUGIN_NETWORK` (`open`, the default: taps need it; `none`), and
 * `SLUICE_SANDBOX_READ_ONLY` (colon-separated folders plugins may read besides the system, e.g. a
 * folder of admin-provided tools) and `SLUICE_BUBBLEWRAP` (the bwrap program, when it is not on PATH).
 */
export interface SandboxSettings {
  readonly mode: 'bubblewrap' | 'off';
  readonly network: 'open' | 'none';
  readonly readOnlyPaths: readonly string[];
  readonly bubblewrap: string;
}

export const DEFAULT_SANDBOX_SETTINGS: SandboxSettings = {
  mode: 'bubblewrap',
  network: 'open',
  readOnlyPaths: [],
  bubblewrap: 'bwrap',
};

function oneOf<T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined || value === '') return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new SluiceError('usage', `${name} must be ${allowed.join(' or ')}, not '${value}'.`, {
    variable: name,
  });
}

/** The settings from the server's variables; a wrong value stops the start with a usage error. */
export function sandboxSettingsFromEnv(env: Readonly<Record<string, string | undefined>>): SandboxSettings {
  const readOnlyPaths = (env.SLUICE_SANDBOX_READ_ONLY ?? '').split(':').filter((p) => p !== '');
  const relative = readOnlyPaths.find((p) => !isAbsolute(p));
  if (relative !== undefined) {
    throw new SluiceError(
      'usage',
      `SLUICE_SANDBOX_READ_ONLY holds '${relative}', which is not an absolute path. List absolute folders, separated by ':'.`,
    );
  }
  return {
    mode: oneOf('SLUICE_PLUGIN_SANDBOX', env.SLUICE_PLUGIN_SANDBOX, ['bubblewrap', 'off'], 'bubblewrap'),
    network: oneOf('SLUICE_PLUGIN_NETWORK', env.SLUICE_PLUGIN_NETWORK, ['open', 'none'], 'open'),
    readOnlyPaths,
    bubblewrap: env.SLUICE_BUBBLEWRAP || 'bwrap',
  };
}
