import { SluiceError } from '../errors.js';
import type { Environment, Project } from '../project/model.js';
import type { EnvMap } from './expand.js';

export type EnvironmentOrigin =
  | '--environment'
  | 'SLUICE_ENVIRONMENT'
  | 'MELTANO_ENVIRONMENT'
  | '.env'
  | 'default_environment'
  | 'none';

export interface EnvironmentChoice {
  readonly environment: Environment | null;
  /** How the environment was chosen; `default_environment` and `none` are not explicit choices. */
  readonly origin: EnvironmentOrigin;
  readonly explicit: boolean;
}

export interface EnvironmentRequest {
  readonly flag?: string;
  readonly noEnvironment?: boolean;
  readonly shell: EnvMap;
  readonly dotenv: EnvMap;
}

/**
 * Chooses the active environment (meltano-semantics §3.1, plus `SLUICE_ENVIRONMENT`):
 * `--environment`, else `SLUICE_ENVIRONMENT`, else `MELTANO_ENVIRONMENT` from the shell, then from
 * `.env`, else `default_environment`. `--no-environment` or the name `null` (any case) means none;
 * an empty value falls through to the default, as in Meltano.
 */
export function selectEnvironment(project: Project, request: EnvironmentRequest): EnvironmentChoice {
  if (request.noEnvironment) return { environment: null, origin: 'none', explicit: true };
  const candidates: [string | undefined, EnvironmentOrigin][] = [
    [request.flag, '--environment'],
    [request.shell.SLUICE_ENVIRONMENT, 'SLUICE_ENVIRONMENT'],
    // Python's os.environ.get(NAME, dotenv.get(NAME)): a variable set to "" in the shell hides .env.
    [
      'MELTANO_ENVIRONMENT' in request.shell
        ? request.shell.MELTANO_ENVIRONMENT
        : request.dotenv.MELTANO_ENVIRONMENT,
      'MELTANO_ENVIRONMENT',
    ],
  ];
  for (const [name, origin] of candidates) {
    if (!name) continue;
    const from =
      origin === 'MELTANO_ENVIRONMENT' && !('MELTANO_ENVIRONMENT' in request.shell) ? '.env' : origin;
    if (name.toLowerCase() === 'null') return { environment: null, origin: from, explicit: true };
    return { environment: findEnvironment(project, name, from), origin: from, explicit: true };
  }
  const fallback =
    request.shell.MELTANO_DEFAULT_ENVIRONMENT ||
    request.dotenv.MELTANO_DEFAULT_ENVIRONMENT ||
    project.env.MELTANO_DEFAULT_ENVIRONMENT ||
    project.defaultEnvironment;
  if (fallback && fallback.toLowerCase() !== 'null') {
    return {
      environment: findEnvironment(project, fallback, 'default_environment'),
      origin: 'default_environment',
      explicit: false,
    };
  }
  return { environment: null, origin: 'none', explicit: false };
}

/** The environment named `name`, or an error that lists the defined ones. */
export function findEnvironment(project: Project, name: string, from?: string): Environment {
  const found = project.environments.find((e) => e.name === name);
  if (found) return found;
  const defined = project.environments.map((e) => e.name);
  throw new SluiceError(
    'environment_not_found',
    `Environment '${name}'${from ? ` (from ${from})` : ''} was not found. ${defined.length ? `Defined environments: ${defined.join(', ')}.` : 'The project defines no environments; add one with `sluice environment add NAME`.'}`,
    { environment: name, defined },
  );
}
