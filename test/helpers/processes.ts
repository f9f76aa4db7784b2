import { readdirSync, readFileSync } from 'node:fs';

/**
 * The host's process ids whose environment holds `entry` (`NAME=value`). Plugins run in a PID
 * namespace on a server, so the ids they could report are not the host's: a test gives a run a
 * unique variable and finds its processes by it (the children of a plugin inherit it).
 */
export function processesWithEnv(entry: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const environ = readFileSync(`/proc/${name}/environ`, 'latin1');
      if (environ.split('\0').includes(entry)) found.push(Number(name));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}
