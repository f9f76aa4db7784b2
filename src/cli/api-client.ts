import { SluiceError, type SluiceErrorCode } from '../errors.js';

/** Where the server is and how to authenticate, from --url/--token or SLUICE_URL/SLUICE_TOKEN. */
export interface ApiTarget {
  readonly url: string;
  readonly token?: string;
}

/**
 * Calls the Sluice API. A server error comes back as a SluiceError with the server's code and
 * message, so the CLI prints it as it prints its own.
 */
export async function callApi<T>(
  target: ApiTarget,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const url = `${target.url.replace(/\/+$/, '')}/api/v1${path}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: {
        ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new SluiceError(
      'server_unreachable',
      `Cannot reach the Sluice server at ${target.url} (${cause}). Start one with \`sluice serve\`, or point SLUICE_URL (or --url) at it.`,
      {
        url: target.url,
      },
    );
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error = (
      parsed as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined
    )?.error;
    const hint = response.status === 401 && !target.token ? ' Set SLUICE_TOKEN (or --token).' : '';
    throw new SluiceError(
      (error?.code as SluiceErrorCode) ?? 'usage',
      `${error?.message ?? `The server answered ${response.status}.`}${hint}`,
      {
        ...(error?.details ?? {}),
        status: response.status,
      },
    );
  }
  return parsed as T;
}
