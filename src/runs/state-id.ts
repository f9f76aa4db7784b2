import { SluiceError } from '../errors.js';

const DELIMITER = ':';

export interface StateIdParts {
  /** The active environment's name; null when none is active (an error, as in Meltano). */
  readonly environment: string | null;
  readonly extractor: string;
  readonly loader: string;
  /** `--state-id-suffix`, else the environment's expanded `state_id_suffix`; empty means none. */
  readonly suffix?: string | null;
}

/**
 * Meltano's `generate_state_id` (meltano-semantics §8.3): `<environment>:<extractor>-to-<loader>`
 * plus `:<suffix>`. Empty components are skipped; a component holding `:` is refused, since the
 * ID could not be parsed back.
 */
export function generateStateId(parts: StateIdParts): string {
  if (parts.environment === null) {
    throw new SluiceError(
      'environment_required',
      'No active environment for invocation, but requested state ID. Choose one with --environment or set default_environment in meltano.yml.',
    );
  }
  const components = [parts.environment, `${parts.extractor}-to-${parts.loader}`, parts.suffix ?? ''];
  const bad = components.find((c) => c.includes(DELIMITER));
  if (bad !== undefined) {
    throw new SluiceError(
      'state_id_invalid',
      `Cannot generate a state ID from components containing the delimiter string '${DELIMITER}': '${bad}'. Remove the ':' from the environment name, plugin name or state ID suffix.`,
      { component: bad },
    );
  }
  return components.filter((c) => c !== '').join(DELIMITER);
}

export interface ParsedStateId {
  readonly environment: string;
  readonly extractor: string;
  readonly loader: string;
  readonly suffix: string | null;
}

// Meltano's pattern from `meltano state` (src/meltano/cli/state.py), unchanged.
const STATE_ID_PATTERN = /^(?<env>.+):(?<tap>.+)-to-(?<target>.+?)(?::(?<suffix>.+))?(?<=[^:])$/;

/** The parts of a state ID that `sluice run` generates, or undefined for any other ID (`el` IDs, schedules). */
export function parseStateId(stateId: string): ParsedStateId | undefined {
  const groups = STATE_ID_PATTERN.exec(stateId)?.groups;
  if (!groups) return undefined;
  return {
    environment: groups.env as string,
    extractor: groups.tap as string,
    loader: groups.target as string,
    suffix: groups.suffix ?? null,
  };
}
