import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react';
import { api, followLog, type LogLine, type Page, type Run, type Workspace } from '../api.js';
import { DataTable } from '../components/DataTable.js';
import { ErrorMessage } from '../components/ErrorMessage.js';
import { RunChart } from '../components/RunChart.js';

const ACTIVE = new Set(['queued', 'running']);

function duration(run: Run): string {
  const ms = run.durationMs ?? (run.startedAt ? Date.now() - Date.parse(run.startedAt) : null);
  return ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`;
}

function records(run: Run): string {
  const entries = Object.entries(run.recordsByStream);
  return entries.length === 0 ? '—' : entries.map(([stream, n]) => `${stream}: ${n}`).join(', ');
}

/** Start a pipeline or job, follow its log live, cancel it; the history with a chart. */
export function RunsPage({ workspace }: { readonly workspace: Workspace }) {
  const [pipeline, setPipeline] = useState('');
  const [runs, setRuns] = useState<Run[]>([]);
  const [selected, setSelected] = useState<string | null>(null);
  const [lines, setLines] = useState<LogLine[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const logEnd = useRef<HTMLDivElement>(null);

  const load = useCallback(async () => {
    try {
      setRuns((await api<Page<Run>>('GET', `/workspaces/${workspace.id}/runs?limit=50`)).items);
    } catch (e) {
      setError(e);
    }
  }, [workspace.id]);
  useEffect(() => {
    void load();
  }, [load]);

  const run = runs.find((r) => r.id === selected) ?? null;
  const active = run !== null && ACTIVE.has(run.status);

  // Follow the selected run's log live; refresh the run (status, records) until it ends.
  useEffect(() => {
    if (!selected) return;
    setLines([]);
    const controller = new AbortController();
    followLog(workspace.id, selected, (line) => setLines((all) => [...all, line]), controller.signal)
      .then(() => load())
      .catch((e: unknown) => {
        if (!controller.signal.aborted) setError(e);
      });
    const timer = setInterval(() => void load(), 1000);
    return () => {
      controller.abort();
      clearInterval(timer);
    };
  }, [selected, workspace.id, load]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: scrolls each time a line arrives
  useEffect(() => {
    logEnd.current?.scrollIntoView?.({ block: 'nearest' });
  }, [lines]);

  const start = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const words = pipeline.trim().split(/\s+/).filter(Boolean);
    try {
      const body = words.length === 1 ? { job: words[0] } : { blocks: words };
      const started = await api<Run>('POST', `/workspaces/${workspace.id}/runs`, body);
      await load();
      setSelected(started.id);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const cancel = async () => {
    if (!run) return;
    setError(null);
    try {
      await api('POST', `/workspaces/${workspace.id}/runs/${run.id}/cancel`);
      await load();
    } catch (e) {
      setError(e);
    }
  };

  return (
    <section>
      <h1>Runs</h1>
      <form onSubmit={start} className="card form" aria-label="Start a run">
        <label htmlFor="run-pipeline">Pipeline</label>
        <input
          id="run-pipeline"
          placeholder="tap-csv target-duckdb, or a job name"
          value={pipeline}
          onChange={(e) => setPipeline(e.target.value)}
          required
          aria-describedby="run-pipeline-help"
        />
        <p id="run-pipeline-help" className="muted">
          Extractors, mappers and loaders from meltano.yml, or one job name. It runs on main's current commit
          in the active environment ({workspace.activeEnvironment ?? 'none'}).
        </p>
        <ErrorMessage error={error} />
        <div className="actions">
          <button type="submit" disabled={busy} aria-busy={busy}>
            Run
          </button>
        </div>
      </form>

      {run ? (
        <section className="card" aria-labelledby="run-title">
          <h2 id="run-title">
            Run {run.job ?? run.blocks.join(' ')} <span className={`status ${run.status}`}>{run.status}</span>
          </h2>
          <dl className="facts">
            <dt>Environment</dt>
            <dd>{run.environment}</dd>
            <dt>Commit</dt>
            <dd>
              <code>{run.commit.slice(0, 12)}</code>
            </dd>
            <dt>Duration</dt>
            <dd>{duration(run)}</dd>
            <dt>Records</dt>
            <dd>{records(run)}</dd>
          </dl>
          {run.error ? <p className="error">{run.error.message}</p> : null}
          {active ? (
            <button type="button" className="danger-button" onClick={cancel}>
              Cancel run
            </button>
          ) : null}
          <pre className="log" role="log" aria-label="Run log" aria-live="polite">
            {lines.map((l) => `${l.at.slice(11, 19)} ${l.text}\n`).join('')}
            <div ref={logEnd} />
          </pre>
        </section>
      ) : null}

      <section className="card" aria-labelledby="runs-history-title">
        <h2 id="runs-history-title">History</h2>
        {runs.length === 0 ? (
          <p>No runs yet.</p>
        ) : (
          <>
            <RunChart runs={runs} />
            <DataTable columns={['Started', 'Pipeline', 'Status', 'Duration', 'Records']} actions>
              {runs.map((r) => (
                <tr key={r.id} aria-selected={r.id === selected}>
                  <td>{new Date(r.createdAt).toLocaleString()}</td>
                  <td>
                    {r.job ?? r.blocks.join(' ')}
                    {r.scheduleName ? <span className="muted"> (schedule {r.scheduleName})</span> : null}
                  </td>
                  <td>
                    <span className={`status ${r.status}`}>{r.status}</span>
                  </td>
                  <td>{duration(r)}</td>
                  <td>{records(r)}</td>
                  <td>
                    <button type="button" className="link-button" onClick={() => setSelected(r.id)}>
                      Show log
                    </button>
                  </td>
                </tr>
              ))}
            </DataTable>
          </>
        )}
      </section>
    </section>
  );
}
