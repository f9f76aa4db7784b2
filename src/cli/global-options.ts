import { SluiceError } from '../errors.js';

/** Options that apply to every command and may stand before or after it (`sluice --environment prod config print x`). */
export interface GlobalOptions {
  readonly environment?: string;
  readonly noEnvironment: boolean;
  readonly projectRoot?: string;
}

const WITH_VALUE = new Map([
  ['--environment', 'environment'],
  ['-e', 'environment'],
  ['--project-root', 'projectRoot'],
]);

/**
 * Takes the global options out of the arguments wherever they stand (up to a `--`), so that the
 * command parser sees only the command's own arguments.
 */
export function extractGlobalOptions(argv: readonly string[]): { globals: GlobalOptions; rest: string[] } {
  const values: { environment?: string; projectRoot?: string } = {};
  let noEnvironment = false;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (arg === '--no-environment') {
      noEnvironment = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const key = WITH_VALUE.get(flag) as 'environment' | 'projectRoot' | undefined;
    if (key === undefined) {
      rest.push(arg);
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '') {
      throw new SluiceError(
        'usage',
        `${flag} needs a value, as in ${flag} ${key === 'environment' ? 'prod' : 'path/to/project'}.`,
      );
    }
    values[key] = value;
  }
  return { globals: { ...values, noEnvironment }, rest };
}
