import { useCallback, useEffect, useState } from 'react';
import { api, type Page, type Workspace } from '../api.js';
import { DataTable } from '../components/DataTable.js';
import { ErrorMessage } from '../components/ErrorMessage.js';

interface AuditEntry {
  readonly id: string;
  readonly at: string;
  readonly actor: { readonly tokenId: string | null; readonly name: string };
  readonly action: string;
  readonly subject: string | null;
  readonly before: unknown;
  readonly after: unknown;
}

/** What a change did, in a few words: the fields before and after. */
function change(entry: AuditEntry): string {
  const show = (value: unknown) => (value === null ? '' : JSON.stringify(value));
  if (entry.before === null) return show(entry.after);
  if (entry.after === null) return `was ${show(entry.before)}`;
  return `${show(entry.before)} → ${show(entry.after)}`;
}

/** Who changed what in this workspace, newest first, a page of 200 at a time (the API's order reversed). */
export function AuditPage({ workspace }: { readonly workspace: Workspace }) {
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(async () => {
    try {
      const items: AuditEntry[] = [];
      const query = new URLSearchParams({ workspace: workspace.id, limit: '200' });
      for (let cursor: string | null = ''; cursor !== null; ) {
        if (cursor) query.set('cursor', cursor);
        const page: Page<AuditEntry> = await api<Page<AuditEntry>>('GET', `/audit?${query}`);
        items.push(...page.items);
        cursor = page.nextCursor;
      }
      setEntries(items.reverse());
    } catch (e) {
      setError(e);
    }
  }, [workspace.id]);
  useEffect(() => {
    void load();
  }, [load]);

  return (
    <section>
      <h1>Audit log of {workspace.name}</h1>
      <p className="muted">Every change, who made it and when. Entries cannot be changed or deleted.</p>
      <ErrorMessage error={error} />
      {entries === null && !error ? <p aria-busy="true">Loading…</p> : null}
      {entries !== null && entries.length === 0 ? <p>No change recorded yet.</p> : null}
      {entries !== null && entries.length > 0 ? (
        <DataTable label="Audit log" columns={['When', 'Who', 'What', 'About', 'Change']}>
          {entries.map((entry) => (
            <tr key={entry.id}>
              <td>{new Date(entry.at).toLocaleString()}</td>
              <td>{entry.actor.name}</td>
              <td>{entry.action}</td>
              <td>{entry.subject ?? '—'}</td>
              <td>
                <code>{change(entry)}</code>
              </td>
            </tr>
          ))}
        </DataTable>
      ) : null}
    </section>
  );
}
