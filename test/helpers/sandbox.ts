import { bubblewrapProblem } from '../../src/sandbox/bubblewrap.js';
import { DEFAULT_SANDBOX_SETTINGS, type SandboxSettings } from '../../src/sandbox/sandbox-settings.js';

let checked: Promise<string | undefined> | undefined;

/**
 * Whether bubblewrap can sandbox plugins on this machine. Outside CI, without it, test servers run
 * plugins unconfined (SLUICE_PLUGIN_SANDBOX=off) and the sandbox's own tests are skipped, with a
 * message that says how to install it; under CI (CI=true) it is an error: skipping proves nothing.
 */
export async function sandboxAvailable(): Promise<boolean> {
  checked ??= bubblewrapProblem(DEFAULT_SANDBOX_SETTINGS.bubblewrap);
  const problem = await checked;
  if (problem === undefined) return true;
  const message = `${problem}: test servers run plugins unconfined and the sandbox tests are skipped. Install it with \`apt-get install -y bubblewrap\`.`;
  if (process.env.CI === 'true') throw new Error(`${message} CI=true requires it.`);
  console.warn(message);
  return false;
}

/** The sandbox settings test servers use: bubblewrap where it works, else off. */
export async function testSandboxSettings(): Promise<SandboxSettings> {
  return (await sandboxAvailable()) ? DEFAULT_SANDBOX_SETTINGS : { ...DEFAULT_SANDBOX_SETTINGS, mode: 'off' };
}

/** The same, as the variables of a `sluice serve` process. */
export async function testSandboxEnv(): Promise<Record<string, string>> {
  return (await sandboxAvailable()) ? {} : { SLUICE_PLUGIN_SANDBOX: 'off' };
}
