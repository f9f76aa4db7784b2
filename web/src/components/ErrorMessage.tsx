import { ApiError } from '../api.js';

/** The server's message where the error happened, announced to screen readers. */
export function ErrorMessage({ error }: { readonly error: unknown }) {
  if (error === null || error === undefined) return null;
  const message = error instanceof ApiError || error instanceof Error ? error.message : String(error);
  const code = error instanceof ApiError ? error.body.code : undefined;
  return (
    <div className="error" role="alert">
      {message}
      {code ? <span className="error-code"> ({code})</span> : null}
    </div>
  );
}
