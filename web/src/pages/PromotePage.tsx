import { useCallback, useEffect, useState } from 'react';
import { api, type Workspace } from '../api.js';
import { DataTable } from '../components/DataTable.js';
import { ErrorMessage } from '../components/ErrorMessage.js';

interface SettingChange {
  readonly name: string;
  readonly before?: unknown;
  readonly after?: unknown;
}

interface Preview {
  readonly sourceCommit: string;
  readonly targetCommit: string;
  readonly unchanged: boolean;
  readonly files: { path: string; status: string; diff: string }[];
  readonly configDiff: {
    environment: string | null;
    plugins: { plugin: string; type: string; status: string; settings: SettingChange[] }[];
    schedules: { name: string; status: string }[];
    jobs: { name: string; status: string }[];
  };
  readonly warnings: { code: string; message: string }[];
  readonly conflicts: {
    path: string;
    kind: string;
    message: string;
    targetText: string | null;
    sourceText: string | null;
  }[];
}

interface Promotion {
  readonly id: string;
  readonly kind: 'promotion' | 'revert';
  readonly sourceWorkspaceId: string | null;
  readonly sourceCommit: string | null;
  readonly targetCommit: string;
  readonly resultCommit: string | null;
  readonly status: string;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly revertsPromotionId: string | null;
  readonly via: 'sluice' | 'git push';
}

function show(value: unknown): string {
  if (value === undefined) return '(not set)';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Promote another workspace's main into this one: preview, apply, history with revert. */
export function PromotePage({
  workspace,
  workspaces,
  onChanged,
}: {
  readonly workspace: Workspace;
  readonly workspaces: readonly Workspace[];
  readonly onChanged: () => Promise<void>;
}) {
  // The upstream first: the route's default source.
  const sources = workspaces
    .filter((w) => w.id !== workspace.id)
    .sort((a, b) => Number(b.id === workspace.upstream) - Number(a.id === workspace.upstream));
  const upstream = sources.find((w) => w.id === workspace.upstream);
  const [source, setSource] = useState(upstream?.id ?? '');
  const [preview, setPreview] = useState<Preview | null>(null);
  const [history, setHistory] = useState<Promotion[]>([]);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);

  const loadHistory = useCallback(async () => {
    try {
      setHistory((await api<{ items: Promotion[] }>('GET', `/workspaces/${workspace.id}/promotions`)).items);
    } catch (e) {
      setError(e);
    }
  }, [workspace.id]);
  useEffect(() => {
    void loadHistory();
  }, [loadHistory]);

  const run = async (what: string, action: () => Promise<void>) => {
    setBusy(what);
    setError(null);
    setDone(null);
    try {
      await action();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };

  const previewNow = (sourceId: string) =>
    run('Previewing…', async () => {
      setPreview(null);
      setPreview(
        await api<Preview>(
          'GET',
          `/workspaces/${workspace.id}/promotions/preview?${new URLSearchParams({ source: sourceId })}`,
        ),
      );
    });

  // Opened on a workspace that has an upstream: that promotion is previewed at once.
  const upstreamId = upstream?.id;
  // biome-ignore lint/correctness/useExhaustiveDependencies: once per workspace and upstream, not per render
  useEffect(() => {
    setSource(upstreamId ?? '');
    setPreview(null);
    if (upstreamId) void previewNow(upstreamId);
  }, [workspace.id, upstreamId]);

  const apply = () =>
    run('Promoting…', async () => {
      if (!preview) return;
      const result = await api<Promotion>('POST', `/workspaces/${workspace.id}/promotions`, {
        source,
        expectedSourceCommit: preview.sourceCommit,
        expectedTargetCommit: preview.targetCommit,
      });
      setPreview(null);
      setDone(`Promoted: ${workspace.name} is now at ${result.resultCommit?.slice(0, 12)}.`);
      await Promise.all([loadHistory(), onChanged()]);
    });

  const revert = (promotion: Promotion) =>
    run('Reverting…', async () => {
      const result = await api<Promotion>(
        'POST',
        `/workspaces/${workspace.id}/promotions/${promotion.id}/revert`,
      );
      setDone(`Reverted: ${workspace.name} is now at ${result.resultCommit?.slice(0, 12)}.`);
      await Promise.all([loadHistory(), onChanged()]);
    });

  const nameOf = (id: string | null) => workspaces.find((w) => w.id === id)?.name ?? id ?? '—';

  return (
    <section>
      <h1>Promote into {workspace.name}</h1>
      <div className="card form">
        <label htmlFor="promote-source">Source workspace</label>
        <select
          id="promote-source"
          value={source}
          onChange={(e) => {
            setSource(e.target.value);
            setPreview(null);
            if (e.target.value) void previewNow(e.target.value);
          }}
        >
          <option value="">Choose the workspace to promote from…</option>
          {sources.map((w) => (
            <option key={w.id} value={w.id}>
              {`${w.name} · ${w.activeEnvironment ?? 'no environment'}${w.id === workspace.upstream ? ' (upstream)' : ''}`}
            </option>
          ))}
        </select>
        <p className="muted">
          Its main is merged into this workspace's main; the source's changes win. Nothing changes until you
          click Promote.
        </p>
        {busy ? (
          <p role="status" aria-busy="true" className="progress">
            {busy}
          </p>
        ) : null}
        <ErrorMessage error={error} />
        {done ? (
          <p role="status" className="success">
            {done}
          </p>
        ) : null}
      </div>
      {preview ? <PreviewView preview={preview} sourceName={nameOf(source)} /> : null}
      {preview ? (
        <div className="actions">
          <button
            type="button"
            onClick={apply}
            disabled={busy !== null || preview.unchanged}
            aria-busy={busy !== null}
          >
            Promote
          </button>
          {preview.unchanged ? (
            <span className="muted"> Nothing to promote: no file would change.</span>
          ) : null}
        </div>
      ) : null}

      <section className="card" aria-labelledby="history-title">
        <h2 id="history-title">History</h2>
        {history.length === 0 ? (
          <p>No promotion into this workspace yet.</p>
        ) : (
          <DataTable columns={['When', 'What', 'By', 'Status', 'Result']} actions>
            {history.map((p) => (
              <tr key={p.id}>
                <td>{new Date(p.createdAt).toLocaleString()}</td>
                <td>
                  {p.kind === 'revert'
                    ? `Revert of ${p.revertsPromotionId}`
                    : `From ${nameOf(p.sourceWorkspaceId)} at ${p.sourceCommit?.slice(0, 7)}${p.via === 'git push' ? ', by git push' : ''}`}
                </td>
                <td>{p.createdBy}</td>
                <td>{p.status}</td>
                <td>
                  <code>{p.resultCommit?.slice(0, 12) ?? '—'}</code>
                </td>
                <td>
                  {p.status === 'applied' ? (
                    <button type="button" onClick={() => revert(p)} disabled={busy !== null}>
                      Revert
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </section>
    </section>
  );
}

function PreviewView({ preview, sourceName }: { readonly preview: Preview; readonly sourceName: string }) {
  const diff = preview.configDiff;
  return (
    <section className="card" aria-labelledby="preview-title">
      <h2 id="preview-title">Preview</h2>
      <p>
        {sourceName} at <code>{preview.sourceCommit.slice(0, 12)}</code> into this workspace at{' '}
        <code>{preview.targetCommit.slice(0, 12)}</code>.
      </p>
      {preview.warnings.length > 0 ? (
        <section aria-labelledby="warnings-title">
          <h3 id="warnings-title">Warnings</h3>
          <ul className="warnings">
            {preview.warnings.map((w) => (
              <li key={`${w.code}:${w.message}`}>{w.message}</li>
            ))}
          </ul>
        </section>
      ) : null}
      {preview.conflicts.length > 0 ? (
        <section aria-labelledby="conflicts-title">
          <h3 id="conflicts-title">Conflicts (the source's side is taken)</h3>
          {preview.conflicts.map((c) => (
            <details key={c.path}>
              <summary>
                {c.path}: {c.kind}. {c.message}
              </summary>
              <div className="sides">
                <figure>
                  <figcaption>In this workspace</figcaption>
                  <pre>{c.targetText ?? '(no file)'}</pre>
                </figure>
                <figure>
                  <figcaption>In the source (taken)</figcaption>
                  <pre>{c.sourceText ?? '(no file)'}</pre>
                </figure>
              </div>
            </details>
          ))}
        </section>
      ) : null}
      <section aria-labelledby="config-diff-title">
        <h3 id="config-diff-title">Configuration changes in {diff.environment ?? 'no environment'}</h3>
        {diff.plugins.length === 0 && diff.schedules.length === 0 && diff.jobs.length === 0 ? (
          <p>No resolved setting changes.</p>
        ) : (
          <DataTable columns={['Plugin', 'Setting', 'Before', 'After']} label="Configuration changes">
            {diff.plugins.flatMap((p) =>
              p.settings.length === 0
                ? [
                    <tr key={p.plugin}>
                      <td>{p.plugin}</td>
                      <td colSpan={3}>{p.status}</td>
                    </tr>,
                  ]
                : p.settings.map((s) => (
                    <tr key={`${p.plugin}/${s.name}`}>
                      <td>
                        {p.plugin}
                        {p.status !== 'changed' ? ` (${p.status})` : ''}
                      </td>
                      <td>{s.name}</td>
                      <td>{show(s.before)}</td>
                      <td>{show(s.after)}</td>
                    </tr>
                  )),
            )}
            {[
              ...diff.schedules.map((s) => ['schedule', s] as const),
              ...diff.jobs.map((j) => ['job', j] as const),
            ].map(([kind, change]) => (
              <tr key={`${kind}/${change.name}`}>
                <td>
                  {kind} {change.name}
                </td>
                <td colSpan={3}>{change.status}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </section>
      <section aria-labelledby="files-title">
        <h3 id="files-title">Files ({preview.files.length})</h3>
        {preview.files.map((f) => (
          <details key={f.path}>
            <summary>
              <span className={`status ${f.status}`}>{f.status}</span> {f.path}
            </summary>
            <pre className="diff">{f.diff || '(binary file)'}</pre>
          </details>
        ))}
      </section>
    </section>
  );
}
