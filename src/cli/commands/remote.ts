import type { TokenView } from '../../tokens/token-service.js';
import type { Page, Workspace } from '../../workspaces/workspace-service.js';
import { type ApiTarget, callApi } from '../api-client.js';
import type { CliIo } from '../io.js';
import { renderTable } from '../render/table.js';

interface Output {
  readonly format?: string;
}

function path(ref: string): string {
  return `/workspaces/${encodeURIComponent(ref)}`;
}

function showWorkspace(io: CliIo, workspace: Workspace, options: Output): void {
  if (options.format === 'json') {
    io.stdout(`${JSON.stringify(workspace, null, 2)}\n`);
    return;
  }
  const lines = [
    `id:                 ${workspace.id}`,
    `name:               ${workspace.name}`,
    `active environment: ${workspace.activeEnvironment ?? '(none)'}`,
    `upstream:           ${workspace.upstream ?? '(none)'}`,
    `repository:         ${workspace.repositoryUrl}`,
    `clone:              git clone ${workspace.repositoryUrl}`,
  ];
  const error = workspace.status?.error;
  if (error)
    lines.push(
      `error on main:      ${error.message}`,
      `running commit:     ${workspace.status.lastGoodCommit ?? '(none)'}`,
    );
  io.stdout(`${lines.join('\n')}\n`);
}

export async function workspaceCreate(
  target: ApiTarget,
  io: CliIo,
  name: string,
  options: Output,
): Promise<void> {
  showWorkspace(io, await callApi<Workspace>(target, 'POST', '/workspaces', { name }), options);
}

export async function workspaceList(target: ApiTarget, io: CliIo, options: Output): Promise<void> {
  const items: Workspace[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `?limit=200&cursor=${encodeURIComponent(cursor)}` : '?limit=200';
    const page: Page<Workspace> = await callApi<Page<Workspace>>(target, 'GET', `/workspaces${query}`);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  if (options.format === 'json') {
    io.stdout(`${JSON.stringify(items, null, 2)}\n`);
    return;
  }
  io.stdout(
    `${renderTable(
      ['ID', 'NAME', 'ENVIRONMENT', 'REPOSITORY'],
      items.map((w) => [w.id, w.name, w.activeEnvironment ?? '-', w.repositoryUrl]),
    )}\n`,
  );
}

export async function workspaceShow(
  target: ApiTarget,
  io: CliIo,
  ref: string,
  options: Output,
): Promise<void> {
  showWorkspace(io, await callApi<Workspace>(target, 'GET', path(ref)), options);
}

export async function workspaceSet(
  target: ApiTarget,
  io: CliIo,
  ref: string,
  options: Output & { activeEnvironment?: string; name?: string; upstream?: string },
): Promise<void> {
  const body = {
    ...(options.activeEnvironment !== undefined ? { activeEnvironment: options.activeEnvironment } : {}),
    ...(options.name !== undefined ? { name: options.name } : {}),
    ...(options.upstream !== undefined
      ? { upstream: options.upstream === 'none' ? null : options.upstream }
      : {}),
  };
  showWorkspace(io, await callApi<Workspace>(target, 'PATCH', path(ref), body), options);
}

export async function workspaceDelete(target: ApiTarget, io: CliIo, ref: string): Promise<void> {
  await callApi(target, 'DELETE', path(ref));
  io.stdout(`Deleted workspace ${ref} and its repository.\n`);
}

export async function tokenCreate(
  target: ApiTarget,
  io: CliIo,
  name: string,
  options: Output & { workspaces: string; access: string },
): Promise<void> {
  const workspaces =
    options.workspaces === '*'
      ? '*'
      : options.workspaces
          .split(',')
          .map((w) => w.trim())
          .filter(Boolean);
  const token = await callApi<TokenView & { token: string }>(target, 'POST', '/tokens', {
    name,
    workspaces,
    access: options.access,
  });
  if (options.format === 'json') {
    io.stdout(`${JSON.stringify(token, null, 2)}\n`);
    return;
  }
  io.stdout(
    `Created token ${token.id} (${token.access}, workspaces: ${token.workspaces === '*' ? '*' : token.workspaces.join(', ')}).\n`,
  );
  io.stdout(`${token.token}\n`);
  io.stderr('This is the only time the token is shown: keep it now.\n');
}

export async function tokenList(target: ApiTarget, io: CliIo, options: Output): Promise<void> {
  const page = await callApi<Page<TokenView>>(target, 'GET', '/tokens?limit=200');
  if (options.format === 'json') {
    io.stdout(`${JSON.stringify(page.items, null, 2)}\n`);
    return;
  }
  io.stdout(
    `${renderTable(
      ['ID', 'NAME', 'ACCESS', 'WORKSPACES', 'CREATED'],
      page.items.map((t) => [
        t.id,
        t.name,
        t.admin ? 'admin' : t.access,
        t.workspaces === '*' ? '*' : t.workspaces.join(','),
        t.createdAt,
      ]),
    )}\n`,
  );
}

export async function tokenRevoke(target: ApiTarget, io: CliIo, id: string): Promise<void> {
  await callApi(target, 'DELETE', `/tokens/${encodeURIComponent(id)}`);
  io.stdout(`Revoked token ${id}.\n`);
}
