import type { AuditEntry } from '../../audit/audit-log.js';
import type { Page, Workspace } from '../../workspaces/workspace-service.js';
import { type ApiTarget, callApi } from '../api-client.js';
import type { CliIo } from '../io.js';
import { renderTable } from '../render/table.js';

export interface AuditFlags {
  readonly workspace?: string;
  readonly actor?: string;
  readonly since?: string;
  readonly until?: string;
  readonly format?: string;
}

/**
 * `sluice audit`: the audit log, oldest first, every page of it. `--format jsonl` writes one entry
 * per line, for export to another system.
 */
export async function audit(target: ApiTarget, io: CliIo, flags: AuditFlags): Promise<void> {
  const query = new URLSearchParams({ limit: '200' });
  if (flags.workspace !== undefined) {
    // A repository name as well as an id.
    const workspace = await callApi<Workspace>(
      target,
      'GET',
      `/workspaces/${encodeURIComponent(flags.workspace)}`,
    );
    query.set('workspace', workspace.id);
  }
  for (const key of ['actor', 'since', 'until'] as const) {
    const value = flags[key];
    if (value !== undefined) query.set(key, value);
  }
  const entries: AuditEntry[] = [];
  for (let cursor: string | null = ''; cursor !== null; ) {
    if (cursor !== '') query.set('cursor', cursor);
    const page: Page<AuditEntry> = await callApi<Page<AuditEntry>>(target, 'GET', `/audit?${query}`);
    if (flags.format === 'jsonl') for (const entry of page.items) io.stdout(`${JSON.stringify(entry)}\n`);
    else entries.push(...page.items);
    cursor = page.nextCursor;
  }
  if (flags.format === 'jsonl') return;
  if (flags.format === 'json') {
    io.stdout(`${JSON.stringify(entries, null, 2)}\n`);
    return;
  }
  if (entries.length === 0) {
    io.stdout('No audit entries match.\n');
    return;
  }
  io.stdout(
    `${renderTable(
      ['AT', 'ACTOR', 'WORKSPACE', 'ACTION', 'SUBJECT', 'CHANGE'],
      entries.map((e) => [
        e.at,
        e.actor.name,
        e.workspaceId ?? '-',
        e.action,
        e.subject ?? '-',
        `${e.before === null ? '' : JSON.stringify(e.before)} -> ${e.after === null ? '' : JSON.stringify(e.after)}`,
      ]),
    )}\n`,
  );
}
