import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { SluiceError, type SluiceErrorCode } from '../errors.js';
import { databaseErrorAsSluiceError } from '../store/database-errors.js';

/** The HTTP status of each user-caused error: one table, so every route answers alike. */
const STATUS: Record<SluiceErrorCode, number> = {
  yaml_syntax: 422,
  project_invalid: 422,
  include_path_invalid: 422,
  duplicate_name: 422,
  inheritance_invalid: 422,
  setting_invalid: 422,
  setting_conflict: 422,
  env_var_not_set: 422,
  project_not_found: 409,
  project_too_large: 422,
  // The server could not finish the work now (a worker died, or the server is stopping): retry.
  worker_unavailable: 503,
  environment_not_found: 400,
  environment_exists: 409,
  environment_invalid: 400,
  plugin_not_found: 404,
  plugin_ambiguous: 400,
  usage: 400,
  file_exists: 409,
  git_failed: 500,
  workspace_not_found: 404,
  token_not_found: 404,
  name_invalid: 400,
  validation_failed: 400,
  singer_protocol: 422,
  environment_required: 400,
  state_id_invalid: 400,
  state_invalid: 400,
  plugin_unsupported: 422,
  run_invalid: 400,
  run_failed: 422,
  run_cancelled: 409,
  worker_lost: 409,
  setting_required: 422,
  install_failed: 422,
  unauthorized: 401,
  forbidden: 403,
  conflict: 409,
  not_found: 404,
  server_unreachable: 502,
  secret_not_found: 404,
  // The operator's configuration, not the caller's request: the server cannot serve the secret.
  secret_key_invalid: 500,
  admin_token_invalid: 500,
  secret_key_mismatch: 500,
  secret_unreadable: 500,
  // The server cannot run plugins (bubblewrap missing): not the caller's fault, and it may come back.
  sandbox_unavailable: 503,
  // A dropped database connection: the request may be tried again (with Retry-After).
  database_unavailable: 503,
};

export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly details: Record<string, unknown>;
  };
}

export function errorBody(code: string, message: string, details: Record<string, unknown> = {}): ErrorBody {
  return { error: { code, message, details } };
}

/** The HTTP status of a user-caused error, from the one table. */
export function httpStatusOf(error: SluiceError): number {
  return STATUS[error.code] ?? 400;
}

function sendSluiceError(error: SluiceError, reply: FastifyReply): void {
  const status = httpStatusOf(error);
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="Sluice", Basic realm="Sluice"');
  const retryAfter = error.details.retryAfterSeconds;
  if (status === 503 && typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
  reply.status(status).send(errorBody(error.code, error.message, { ...error.details }));
}

/** Maps any error to `{error: {code, message, details}}`: 4xx for the caller's mistakes, 500 only for ours. */
export function handleError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  const databaseError = databaseErrorAsSluiceError(error);
  if (databaseError) {
    request.log.warn(error);
    sendSluiceError(databaseError, reply);
    return;
  }
  if (error instanceof SluiceError) {
    sendSluiceError(error, reply);
    return;
  }
  if (error instanceof URIError) {
    // A percent sign that starts no escape (`/%25` decoded once more): the caller's URL, not our bug.
    reply
      .status(400)
      .send(
        errorBody(
          'validation_failed',
          `The request's URL is not validly percent-encoded (${error.message}).`,
        ),
      );
    return;
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    const where = fastifyError.validationContext ?? 'request';
    // Name the offending field: "body has an unknown field 'nmae'" says more than Ajv's wording.
    const unknown = fastifyError.validation
      .map((issue) => (issue.params as { additionalProperty?: string }).additionalProperty)
      .filter((field): field is string => typeof field === 'string');
    const message = unknown.length
      ? `Invalid ${where}: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((f) => `'${f}'`).join(', ')}.`
      : `Invalid ${where}: ${fastifyError.message}.`;
    reply.status(400).send(errorBody('validation_failed', message, { issues: fastifyError.validation }));
    return;
  }
  if (
    fastifyError.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
    fastifyError.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
    error instanceof SyntaxError
  ) {
    reply
      .status(400)
      .send(
        errorBody(
          'validation_failed',
          `The request body is not valid JSON (${error.message}). Send a JSON object.`,
        ),
      );
    return;
  }
  const status = fastifyError.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    reply.status(status).send(errorBody(fastifyError.code?.toLowerCase() ?? 'bad_request', error.message));
    return;
  }
  request.log.error(error);
  reply
    .status(500)
    .send(errorBody('internal', 'Internal server error. It has been logged; please report it.'));
}
