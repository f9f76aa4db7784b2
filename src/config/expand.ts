import { SluiceError } from '../errors.js';
import type { YamlValue } from '../project/model.js';
import { isPlainObject } from './flatten.js';

export type EnvMap = Readonly<Record<string, string | undefined>>;
/** Variables given as a function, for a set too large to write out (see `settingVariables`). */
export type EnvLookup = (name: string) => string | undefined;

/**
 * Meltano's variable pattern (meltano-semantics §6.1): `$NAME` only when NAME starts with an upper-case
 * letter, `${name}` for any word, and a leading backslash escapes either. So `$.metrics` and
 * `default$default-User` stay literal.
 */
const VARIABLE = /(\\)?\$(?:\{(\w+)\}|([A-Z][A-Z0-9_]*))/g;

export interface ExpandOptions {
  /** Meltano's `ff.strict_env_var_mode`: a missing variable is an error instead of "". */
  readonly strict?: boolean;
  /** Names the value in the strict-mode error message. */
  readonly context?: string | (() => string);
}

/** Expands variables in one string, in a single pass: substituted text is not scanned again. */
export function expandString(text: string, env: EnvMap | EnvLookup, options: ExpandOptions = {}): string {
  return text.replace(
    VARIABLE,
    (match, escaped: string | undefined, curly: string | undefined, plain: string | undefined) => {
      if (escaped) return match.slice(1);
      const name = (curly ?? plain) as string;
      const value = typeof env === 'function' ? env(name) : env[name];
      if (value !== undefined) return value;
      if (options.strict) {
        throw new SluiceError(
          'env_var_not_set',
          `Environment variable '${name}' is referenced${options.context ? ` by ${typeof options.context === 'function' ? options.context() : options.context}` : ''} but not set. Set it (shell, .env or an env: block), or turn off ff.strict_env_var_mode.`,
          { variable: name },
        );
      }
      return '';
    },
  );
}

/** Expands strings inside any value (lists and mapping values, never mapping keys). */
export function expandValue(
  value: YamlValue,
  env: EnvMap | EnvLookup,
  options: ExpandOptions = {},
): YamlValue {
  if (typeof value === 'string') return expandString(value, env, options);
  if (Array.isArray(value)) return value.map((v) => expandValue(v, env, options));
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandValue(v, env, options)]));
  }
  return value;
}

/** Python truthiness, which Meltano's "whole value expanded to nothing means unset" rule uses. */
export function isTruthy(value: YamlValue | undefined): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (isPlainObject(value)) return Object.keys(value).length > 0;
  return true;
}

/**
 * Expands a configuration value; if a non-empty value expands to nothing (`$MISSING`), the result is
 * null, i.e. the setting is unset (meltano-semantics §4.3 step 3).
 */
export function expandSettingValue(
  value: YamlValue,
  env: EnvMap | EnvLookup,
  options: ExpandOptions = {},
): YamlValue {
  const expanded = expandValue(value, env, options);
  return isTruthy(value) && !isTruthy(expanded) ? null : expanded;
}
