import { type FormEvent, useState } from 'react';
import { ApiError, api } from '../api.js';
import { ErrorMessage } from '../components/ErrorMessage.js';

/** Sign-in with an API token; the token is checked against the server before it is kept. */
export function SignInPage({ onSignedIn }: { readonly onSignedIn: (token: string) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api('GET', '/workspaces?limit=1', undefined, token.trim());
      onSignedIn(token.trim());
    } catch (e) {
      setError(
        e instanceof ApiError && e.status === 401
          ? new Error('This token was not accepted: it is unknown or revoked. Check it and try again.')
          : e,
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="sign-in">
      <form onSubmit={submit} aria-labelledby="sign-in-title" className="card">
        <h1 id="sign-in-title">Sign in to Sluice</h1>
        <p className="muted">
          Use an API token. The first admin token is printed by <code>sluice serve</code> and kept in its data
          folder (<code>admin-token</code>).
        </p>
        <label htmlFor="token">Token</label>
        <input
          id="token"
          type="password"
          autoComplete="current-password"
          required
          value={token}
          onChange={(e) => setToken(e.target.value)}
        />
        <ErrorMessage error={error} />
        <button type="submit" disabled={busy || token.trim() === ''} aria-busy={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
