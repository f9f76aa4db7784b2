/**
 * The flag that carries the catalog to a tap, as Meltano's `SingerTap.exec_args` picks it:
 * `--catalog` for the `catalog` capability, else `--properties` (older taps), else none: the tap
 * is run without its catalog.
 */
function catalogFlag(capabilities: ReadonlySet<string>): '--catalog' | '--properties' | undefined {
  if (capabilities.has('catalog')) return '--catalog';
  if (capabilities.has('properties')) return '--properties';
  return undefined;
}

export interface TapFiles {
  readonly config: string;
  readonly catalog?: string;
  /** Given only to a tap with the `state` capability (see `tapState`). */
  readonly state?: string;
}

/** A tap's command-line arguments in sync mode: `--config F [--catalog|--properties C] [--state S]`. */
export function tapArguments(capabilities: ReadonlySet<string>, files: TapFiles): string[] {
  const args = ['--config', files.config];
  const flag = catalogFlag(capabilities);
  if (files.catalog !== undefined && flag !== undefined) args.push(flag, files.catalog);
  if (files.state !== undefined && capabilities.has('state')) args.push('--state', files.state);
  return args;
}
