/**
 * Errors a user can cause. Every one carries a stable `code`, a message written for the user
 * (what was wrong, where, what to do) and structured `details`. Adapters (CLI, HTTP) map the
 * code to an exit status or an HTTP status in one place and never print a stack trace for them.
 */
export type SluiceErrorCode =
  | 'yaml_syntax'
  | 'project_invalid'
  | 'project_not_found'
  | 'project_too_large'
  | 'worker_unavailable'
  | 'include_path_invalid'
  | 'duplicate_name'
  | 'environment_not_found'
  | 'environment_exists'
  | 'environment_invalid'
  | 'plugin_not_found'
  | 'plugin_ambiguous'
  | 'inheritance_invalid'
  | 'setting_invalid'
  | 'setting_conflict'
  | 'env_var_not_set'
  | 'usage'
  | 'file_exists'
  | 'git_failed'
  | 'workspace_not_found'
  | 'token_not_found'
  | 'name_invalid'
  | 'validation_failed'
  | 'singer_protocol'
  | 'environment_required'
  | 'state_id_invalid'
  | 'state_invalid'
  | 'plugin_unsupported'
  | 'run_invalid'
  | 'run_failed'
  | 'run_cancelled'
  | 'worker_lost'
  | 'setting_required'
  | 'install_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'conflict'
  | 'not_found'
  | 'server_unreachable'
  | 'secret_not_found'
  | 'secret_key_invalid'
  | 'admin_token_invalid'
  | 'secret_key_mismatch'
  | 'secret_unreadable'
  | 'sandbox_unavailable'
  | 'database_unavailable';

/** Where in a file something went wrong: 1-based line and column. */
export interface SourcePosition {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export class SluiceError extends Error {
  readonly code: SluiceErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: SluiceErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'SluiceError';
    this.code = code;
    this.details = details;
  }
}

/** Formats `file:line:column` the way editors and compilers do, so terminals make it clickable. */
export function formatPosition(pos: SourcePosition): string {
  return `${pos.file}:${pos.line}:${pos.column}`;
}

/** An error located in a file: the message starts with `file:line:column:`. */
export function errorAt(
  code: SluiceErrorCode,
  pos: SourcePosition,
  message: string,
  details: Record<string, unknown> = {},
): SluiceError {
  return new SluiceError(code, `${formatPosition(pos)}: ${message}`, { ...details, ...pos });
}
