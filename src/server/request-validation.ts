import { Ajv, type ValidateFunction } from 'ajv';
import type { FastifyInstance, FastifySchemaCompiler } from 'fastify';
import { SluiceError } from '../errors.js';

/**
 * Validators for the request's parts. JSON bodies are checked as sent: Fastify's default Ajv
 * coerces types and drops unknown properties, so `{"name": 42}` would become the name "42", `"*"`
 * would match both branches of `"*" | string[]`, and a misspelt field in a PATCH would be ignored
 * with a 200. The URL's parts arrive as text, so there `?limit=2` is still coerced to a number.
 * Unknown properties are refused wherever a schema says `additionalProperties: false`.
 */
export function requestValidatorCompiler(): FastifySchemaCompiler<unknown> {
  // allErrors stays off: with it, a crafted body can make validation slow.
  const body = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false });
  const url = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false });
  return ({ schema, httpPart }) =>
    finiteNumbersOnly((httpPart === 'body' ? body : url).compile(schema as object));
}

/** Where the first number that is not finite is (`/limit`), or undefined. */
function findNonFinite(value: unknown, at = ''): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : at || '/';
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, element] of Object.entries(value)) {
    const found = findNonFinite(element, `${at}/${key}`);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Ajv turns `?limit=Infinity` (or 400 nines, or `1e400` in JSON) into Infinity and then skips
 * `maximum` for it, so a page size of Infinity would reach the database. Such a value fails here.
 */
function finiteNumbersOnly(validate: ValidateFunction): ValidateFunction {
  const checked = ((data: unknown) => {
    if (!validate(data)) {
      checked.errors = validate.errors;
      return false;
    }
    const at = findNonFinite(data);
    checked.errors =
      at === undefined
        ? null
        : [
            {
              instancePath: at,
              schemaPath: '#',
              keyword: 'type',
              params: {},
              message: 'must be a finite number',
            },
          ];
    return at === undefined;
  }) as ValidateFunction;
  return checked;
}

/**
 * The deepest nesting a JSON body may have. No body of the API needs more than a few levels (a
 * Singer state is an object of objects); parsing and validating deeper text only costs stack.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * How deeply `text` nests arrays and objects, counted without parsing, up to `limit + 1`: a body
 * 20,000 levels deep is refused before JSON.parse, Ajv or JSON.stringify can recurse through it.
 */
export function jsonNestingExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** Where the first NUL character of a parsed value is (`/workspaces/0`, `/name`), or undefined. */
function findNul(value: unknown): string | undefined {
  const pending: [unknown, string][] = [[value, '']];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, at] = next;
    if (typeof item === 'string') {
      if (item.includes('\u0000')) return at || '/';
    } else if (Array.isArray(item)) {
      item.forEach((element, index) => {
        pending.push([element, `${at}/${index}`]);
      });
    } else if (item !== null && typeof item === 'object') {
      for (const [key, element] of Object.entries(item)) {
        if (key.includes('\u0000')) return `${at}/${key.replaceAll('\u0000', '\\u0000')}`;
        pending.push([element, `${at}/${key}`]);
      }
    }
  }
  return undefined;
}

/**
 * Checks every request before its route sees it:
 * - JSON bodies nested deeper than MAX_JSON_DEPTH are refused (400) before they are parsed;
 * - a NUL character (U+0000) anywhere in the path's parameters, the query or a JSON body is
 *   refused (400). PostgreSQL cannot store it in text, so it would otherwise fail deep inside a
 *   query; SQLite would store it, and names and ids that differ by an invisible NUL help no one.
 */
export function installRequestGuards(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser(
    app.initialConfig.onProtoPoisoning ?? 'error',
    app.initialConfig.onConstructorPoisoning ?? 'error',
  );
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (jsonNestingExceeds(body as string, MAX_JSON_DEPTH)) {
      done(
        new SluiceError(
          'validation_failed',
          `The request body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep; no request needs that many. Send a flatter JSON document.`,
          { limit: MAX_JSON_DEPTH },
        ),
        undefined,
      );
      return;
    }
    parseJson(request, body as string, done);
  });
  app.addHook('preValidation', async (request) => {
    for (const [part, value] of [
      ['path', request.params],
      ['query', request.query],
      ['body', request.body],
    ] as const) {
      const at = findNul(value);
      if (at !== undefined) {
        throw new SluiceError(
          'validation_failed',
          `The request's ${part} contains a NUL character (U+0000) at ${at.slice(0, 200)}: text may not contain it. Remove it.`,
          { part, at: at.slice(0, 200) },
        );
      }
    }
  });
}
