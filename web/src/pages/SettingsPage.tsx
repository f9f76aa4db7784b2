import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { api, type Workspace } from '../api.js';
import { DataTable } from '../components/DataTable.js';
import { ErrorMessage } from '../components/ErrorMessage.js';
import { navigate } from '../route.js';

interface Environments {
  readonly items: { name: string; active: boolean; default: boolean }[];
}

interface Secret {
  readonly name: string;
  readonly environment: string | null;
  readonly updatedAt: string;
  readonly updatedBy: string;
}

/** A workspace's settings: name, active environment, repository, switches, secrets, delete. */
export function SettingsPage({
  workspace,
  onChanged,
}: {
  readonly workspace: Workspace;
  readonly onChanged: () => Promise<void>;
}) {
  const [name, setName] = useState(workspace.name);
  const [environment, setEnvironment] = useState(workspace.activeEnvironment ?? '');
  const [protectedFlag, setProtected] = useState(workspace.protected);
  const [schedules, setSchedules] = useState(workspace.schedulesEnabled);
  const [environments, setEnvironments] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api<Environments>('GET', `/workspaces/${workspace.id}/environments`)
      .then((answer) => setEnvironments(answer.items.map((e) => e.name)))
      .catch(setError);
  }, [workspace.id]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setSaved(false);
    const changes: Record<string, unknown> = {};
    if (name !== workspace.name) changes.name = name;
    if (environment !== (workspace.activeEnvironment ?? '')) changes.activeEnvironment = environment;
    if (protectedFlag !== workspace.protected) changes.protected = protectedFlag;
    if (schedules !== workspace.schedulesEnabled) changes.schedulesEnabled = schedules;
    try {
      if (Object.keys(changes).length > 0) await api('PATCH', `/workspaces/${workspace.id}`, changes);
      await onChanged();
      setSaved(true);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const clone = `git clone ${workspace.repositoryUrl}`;
  return (
    <section>
      <h1>Settings</h1>
      {workspace.status.error ? (
        <div className="warning" role="status">
          The meltano.yml on main does not load: {workspace.status.error.message} The workspace keeps using
          commit <code>{workspace.status.lastGoodCommit?.slice(0, 12)}</code>.
        </div>
      ) : null}
      <form onSubmit={submit} className="card form" aria-label="Workspace settings">
        <label htmlFor="ws-name">Name</label>
        <input id="ws-name" required value={name} onChange={(e) => setName(e.target.value)} maxLength={100} />

        <label htmlFor="ws-environment">Active environment</label>
        <input
          id="ws-environment"
          list="ws-environments"
          value={environment}
          onChange={(e) => setEnvironment(e.target.value)}
          aria-describedby="ws-environment-help"
        />
        <datalist id="ws-environments">
          {environments.map((e) => (
            <option key={e} value={e} />
          ))}
        </datalist>
        <p id="ws-environment-help" className="muted">
          Pipelines of this workspace run with this environment's configuration. Defined in meltano.yml:{' '}
          {environments.join(', ') || '…'}.
        </p>

        <label htmlFor="ws-repository">Repository URL</label>
        <div className="with-button">
          <input id="ws-repository" readOnly value={workspace.repositoryUrl} />
          <CopyButton text={workspace.repositoryUrl} label="Copy URL" />
        </div>
        <p className="muted">
          Clone it with <code>{clone}</code> (user: any name, password: your token).
        </p>

        <div className="switches">
          <label>
            <input type="checkbox" checked={protectedFlag} onChange={(e) => setProtected(e.target.checked)} />{' '}
            Protected: refuse pushes, change only by promotion (admin)
          </label>
          <label>
            <input type="checkbox" checked={schedules} onChange={(e) => setSchedules(e.target.checked)} /> Run
            the schedules of meltano.yml on the server
          </label>
        </div>

        <ErrorMessage error={error} />
        {saved ? (
          <p role="status" className="success">
            Saved.
          </p>
        ) : null}
        <div className="actions">
          <button type="submit" disabled={busy} aria-busy={busy}>
            Save
          </button>
        </div>
      </form>
      <SecretsSection workspace={workspace} environments={environments} />
      <DeleteSection workspace={workspace} onDeleted={onChanged} />
    </section>
  );
}

function CopyButton({ text, label }: { readonly text: string; readonly label: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      aria-label={label}
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
          setCopied(true);
          setTimeout(() => setCopied(false), 1500);
        } catch {
          // Clipboard refused (no permission): the field can still be selected by hand.
        }
      }}
    >
      {copied ? 'Copied' : 'Copy'}
    </button>
  );
}

/** Secrets by environment: names only; a value can be set, never read back. */
function SecretsSection({
  workspace,
  environments,
}: {
  readonly workspace: Workspace;
  readonly environments: readonly string[];
}) {
  const [secrets, setSecrets] = useState<Secret[]>([]);
  const [name, setName] = useState('');
  const [environment, setEnvironment] = useState('');
  const [value, setValue] = useState('');
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(async () => {
    try {
      setSecrets((await api<{ items: Secret[] }>('GET', `/workspaces/${workspace.id}/secrets`)).items);
    } catch (e) {
      setError(e);
    }
  }, [workspace.id]);
  useEffect(() => {
    void load();
  }, [load]);

  const add = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      await api('PUT', `/workspaces/${workspace.id}/secrets/${encodeURIComponent(name)}`, {
        value,
        ...(environment ? { environment } : {}),
      });
      setName('');
      setValue('');
      await load();
    } catch (e) {
      setError(e);
    }
  };

  const remove = async (secret: Secret) => {
    setError(null);
    try {
      const query = secret.environment ? `?environment=${encodeURIComponent(secret.environment)}` : '';
      await api('DELETE', `/workspaces/${workspace.id}/secrets/${encodeURIComponent(secret.name)}${query}`);
      await load();
    } catch (e) {
      setError(e);
    }
  };

  return (
    <section className="card" aria-labelledby="secrets-title">
      <h2 id="secrets-title">Secrets</h2>
      <p className="muted">
        Given to this workspace's plugins as environment variables (for example{' '}
        <code>TAP_AUTH0_CLIENT_SECRET</code>
        ), never shown again and hidden in run logs.
      </p>
      {secrets.length > 0 ? (
        <DataTable columns={['Name', 'Environment', 'Updated']} actions>
          {secrets.map((s) => (
            <tr key={`${s.environment}/${s.name}`}>
              <td>
                <code>{s.name}</code>
              </td>
              <td>{s.environment ?? 'all'}</td>
              <td>{new Date(s.updatedAt).toLocaleString()}</td>
              <td>
                <button type="button" className="link-button" onClick={() => remove(s)}>
                  Remove {s.name}
                </button>
              </td>
            </tr>
          ))}
        </DataTable>
      ) : (
        <p>No secrets.</p>
      )}
      <form onSubmit={add} className="inline-form" aria-label="Add a secret">
        <label>
          Secret name
          <input
            value={name}
            onChange={(e) => setName(e.target.value)}
            required
            pattern="[A-Za-z_][A-Za-z0-9_]*"
          />
        </label>
        <label>
          For environment
          <select value={environment} onChange={(e) => setEnvironment(e.target.value)}>
            <option value="">All environments</option>
            {environments.map((e) => (
              <option key={e} value={e}>
                {e}
              </option>
            ))}
          </select>
        </label>
        <label>
          Secret value
          <input
            type="password"
            autoComplete="off"
            value={value}
            onChange={(e) => setValue(e.target.value)}
            required
          />
        </label>
        <button type="submit">Set secret</button>
      </form>
      <ErrorMessage error={error} />
    </section>
  );
}

/** Delete, after typing the workspace's name. */
function DeleteSection({
  workspace,
  onDeleted,
}: {
  readonly workspace: Workspace;
  readonly onDeleted: () => Promise<void>;
}) {
  const [confirming, setConfirming] = useState(false);
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<unknown>(null);

  const remove = async () => {
    try {
      await api('DELETE', `/workspaces/${workspace.id}`);
      await onDeleted();
      navigate({ page: 'home' });
    } catch (e) {
      setError(e);
    }
  };

  return (
    <section className="card danger" aria-labelledby="delete-title">
      <h2 id="delete-title">Delete workspace</h2>
      {!confirming ? (
        <button type="button" className="danger-button" onClick={() => setConfirming(true)}>
          Delete workspace…
        </button>
      ) : (
        <fieldset className="confirm">
          <legend>Confirm delete</legend>
          <p>
            This deletes the workspace, its repository, runs, state and secrets. Type{' '}
            <strong>{workspace.name}</strong> to confirm.
          </p>
          <label htmlFor="delete-confirm">Workspace name to delete</label>
          <input id="delete-confirm" value={typed} onChange={(e) => setTyped(e.target.value)} />
          <div className="actions">
            <button type="button" onClick={() => setConfirming(false)}>
              Cancel
            </button>
            <button
              type="button"
              className="danger-button"
              disabled={typed !== workspace.name}
              onClick={remove}
            >
              Delete
            </button>
          </div>
          <ErrorMessage error={error} />
        </fieldset>
      )}
    </section>
  );
}
