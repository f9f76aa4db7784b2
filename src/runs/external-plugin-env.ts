import { dirname } from 'node:path';
import type { RuntimeEnv } from '../config/env-layers.js';
import type { ResolvedPlugin } from '../config/resolve.js';
import { settingsEnv } from '../config/settings-env.js';

/**
 * The variables an external plugin's process starts with, composed as Meltano's `PluginInvoker.env`
 * composes them (later wins): `.env`; the shell, Meltano's variables, what earlier plugins of the
 * run export and `MELTANO_<TYPE>_NAME|NAMESPACE|VARIANT`; every setting as its variables
 * (`TAP_X_SETTING`, `MELTANO_EXTRACT_SETTING`, extras as `TAP_X__SELECT`); then the `env:` blocks
 * of the environment and the plugin (the top-level block ranks with the shell, below the settings).
 * A plugin installed in a virtualenv gets `VIRTUAL_ENV` and that environment's `bin` first on PATH;
 * one inherited from the caller is dropped, as is `PYTHONPATH`.
 */
export function externalPluginEnv(
  resolved: ResolvedPlugin,
  runtime: RuntimeEnv,
  venvExecutable: string | undefined,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(runtime.dotenv)) if (value !== undefined) env[key] = value;
  Object.assign(env, resolved.env.store, settingsEnv(resolved), resolved.env.scopedBlocks);
  delete env.VIRTUAL_ENV;
  delete env.PYTHONPATH;
  if (venvExecutable !== undefined) {
    const bin = dirname(venvExecutable);
    env.VIRTUAL_ENV = dirname(bin);
    env.PATH = env.PATH ? `${bin}:${env.PATH}` : bin;
  }
  return env;
}
