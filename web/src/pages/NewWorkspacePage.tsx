import { type FormEvent, useState } from 'react';
import { api, type Workspace } from '../api.js';
import { ErrorMessage } from '../components/ErrorMessage.js';
import { navigate } from '../route.js';

/** New workspace: a name; the server creates its repository with a new Meltano project. */
export function NewWorkspacePage({ onCreated }: { readonly onCreated: () => Promise<void> }) {
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const created = await api<Workspace>('POST', '/workspaces', { name });
      await onCreated();
      navigate({ page: 'settings', workspaceId: created.id });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <h1>New workspace</h1>
      <form onSubmit={submit} className="card form">
        <label htmlFor="new-name">Name *</label>
        <input
          id="new-name"
          required
          value={name}
          onChange={(e) => setName(e.target.value)}
          maxLength={100}
        />
        <p className="muted">
          Sluice creates a Git repository for it holding a Meltano project with the environments dev, staging
          and prod.
        </p>
        <ErrorMessage error={error} />
        <div className="actions">
          <button type="submit" disabled={busy} aria-busy={busy}>
            Save
          </button>
        </div>
      </form>
    </section>
  );
}
