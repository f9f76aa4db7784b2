import type { CliIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';

/** Runs the CLI's `main` in this process (the same code as the executable, without a process start). */
export async function runInProcess(
  args: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string>> = {},
) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    cwd,
    env,
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    stdinIsTTY: false,
    confirm: async () => false,
  };
  const status = await main(args, io);
  return { status, stdout, stderr };
}
