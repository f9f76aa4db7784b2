/** The REST API, as the UI calls it: every call carries the session's token. */

export interface ApiErrorBody {
  readonly code: string;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

/** A failed call, with the server's own words. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
  ) {
    super(body.message);
  }
}

const TOKEN_KEY = 'sluice.token';

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  token = storedToken(),
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, {
      code: 'server_unreachable',
      message: 'The Sluice server cannot be reached. Check that it is running, then try again.',
    });
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    const error = (json as { error?: ApiErrorBody } | undefined)?.error;
    throw new ApiError(
      response.status,
      error ?? { code: 'http_error', message: `The server answered ${response.status}.` },
    );
  }
  return json as T;
}

export interface WorkspaceStatus {
  readonly commit: string | null;
  readonly lastGoodCommit: string | null;
  readonly error: {
    code: string;
    message: string;
    commit: string | null;
    file?: string;
    line?: number;
    column?: number;
  } | null;
}

export interface Workspace {
  readonly id: string;
  readonly name: string;
  readonly repositoryName: string;
  readonly repositoryUrl: string;
  readonly activeEnvironment: string | null;
  readonly protected: boolean;
  readonly schedulesEnabled: boolean;
  /** The workspace this one is promoted from, or null. */
  readonly upstream: string | null;
  readonly status: WorkspaceStatus;
}

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

export async function allWorkspaces(): Promise<Workspace[]> {
  const items: Workspace[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `?limit=200&cursor=${encodeURIComponent(cursor)}` : '?limit=200';
    const page: Page<Workspace> = await api<Page<Workspace>>('GET', `/workspaces${query}`);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

export type RunStatus = 'queued' | 'running' | 'success' | 'failed' | 'cancelled';

export interface Run {
  readonly id: string;
  readonly environment: string;
  readonly commit: string;
  readonly blocks: string[];
  readonly job: string | null;
  readonly status: RunStatus;
  readonly trigger: string;
  readonly scheduleName: string | null;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
  readonly durationMs: number | null;
  readonly recordsByStream: Record<string, number>;
  readonly error: { code: string; message: string } | null;
}

export interface LogLine {
  readonly seq: number;
  readonly at: string;
  readonly text: string;
}

/**
 * Follows a run's log as server-sent events (fetch, not EventSource, which cannot send the
 * token), calling `onLine` for each line and resolving with the end status. `signal` stops it.
 */
export async function followLog(
  workspaceId: string,
  runId: string,
  onLine: (line: LogLine) => void,
  signal: AbortSignal,
): Promise<RunStatus | null> {
  const token = storedToken();
  const response = await fetch(`/api/v1/workspaces/${encodeURIComponent(workspaceId)}/runs/${runId}/log`, {
    headers: { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    signal,
  });
  if (!response.ok || !response.body)
    throw new ApiError(response.status, { code: 'log', message: 'The log cannot be read.' });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return null;
    buffer += value;
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      if (event === 'line' && data) onLine(JSON.parse(data) as LogLine);
      if (event === 'end' && data) return (JSON.parse(data) as { status: RunStatus }).status;
      end = buffer.indexOf('\n\n');
    }
  }
}
