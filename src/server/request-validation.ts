import { Ajv } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';

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
  return ({ schema, httpPart }) => (httpPart === 'body' ? body : url).compile(schema as object);
}
