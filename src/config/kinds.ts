import { SluiceError } from '../errors.js';
import type { SettingDefinition, SettingKind, YamlValue } from '../project/model.js';
import { isPlainObject } from './flatten.js';
import { parsePythonLiteral } from './python-literal.js';

/** The kind Meltano gives a custom setting from its YAML value (meltano-semantics §4.1). */
export function inferKind(value: YamlValue | undefined): SettingKind | undefined {
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'decimal';
  if (Array.isArray(value)) return 'array';
  if (isPlainObject(value)) return 'object';
  return undefined;
}

/** Names that hold secrets in practice (`password`, `client_secret`, `api_key`, `auth_token`, ...). */
const SECRET_NAME =
  /(^|[_.-])(password|passwd|secret|client_secret|token|api_?key|private_?key|access_?key|secret_?key|credentials?)$/i;

/**
 * Sensitive settings are redacted on display: `sensitive: true`, or the old `password`/`oauth`
 * kinds. Sluice also treats a custom setting (one with no definition, so nobody said either way)
 * as sensitive when its name is that of a secret: without the Hub's definitions, `client_secret`
 * would otherwise be printed and written to `meltano.yml`.
 */
export function isSensitive(def: SettingDefinition): boolean {
  if (def.sensitive === true || def.kind === 'password' || def.kind === 'oauth') return true;
  return def.custom === true && SECRET_NAME.test(def.name);
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);

/**
 * Casts a resolved value to its setting's kind (meltano-semantics §7). Only strings are converted
 * (from env vars, `.env` or YAML strings); an impossible conversion is a user error naming where
 * the value came from.
 */
export function castValue(
  def: SettingDefinition,
  value: YamlValue,
  origin: string | (() => string),
): YamlValue {
  if (value === null) return null;
  const invalid = (expected: string): never => {
    throw new SluiceError(
      'setting_invalid',
      `${typeof origin === 'function' ? origin() : origin}: setting '${def.name}' is of kind ${def.kind}, but its value ${JSON.stringify(value)} is not ${expected}. Fix the value.`,
      { setting: def.name, kind: def.kind, value },
    );
  };
  switch (def.kind) {
    case 'integer':
      if (typeof value !== 'string') return value;
      if (!/^\s*[-+]?\d[\d_]*\s*$/.test(value)) return invalid('an integer');
      return Number.parseInt(value.replace(/_/g, ''), 10);
    case 'decimal':
      if (typeof value !== 'string') return value;
      if (value.trim() === '' || Number.isNaN(Number(value))) return invalid('a number');
      return Number(value);
    case 'boolean':
      return typeof value === 'string' ? TRUE_WORDS.has(value.toLowerCase()) : value;
    case 'array': {
      if (typeof value !== 'string') return value;
      const parsed = parseStructured(value);
      return Array.isArray(parsed) ? parsed : invalid('a JSON array (for example ["a", "b"])');
    }
    case 'object': {
      if (typeof value !== 'string') return value;
      const parsed = parseStructured(value);
      return isPlainObject(parsed) ? parsed : invalid('a JSON object (for example {"key": "value"})');
    }
    case 'options': {
      const allowed = (def.options ?? []).map((o) => o.value);
      if (allowed.length > 0 && !allowed.some((a) => a === value || String(a) === String(value))) {
        return invalid(`one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
      }
      return value;
    }
    default:
      return value;
  }
}

/** JSON, falling back to a Python literal as Meltano's `ast.literal_eval` fallback does. */
function parseStructured(text: string): YamlValue | undefined {
  try {
    return JSON.parse(text) as YamlValue;
  } catch {
    return parsePythonLiteral(text);
  }
}
