import { SluiceError } from '../../errors.js';
import type { SecretEntry } from '../../secrets/secret-service.js';
import { type ApiTarget, callApi } from '../api-client.js';
import type { CliIo } from '../io.js';
import { renderTable } from '../render/table.js';

interface Output {
  readonly format?: string;
}

function path(workspace: string, name?: string): string {
  const base = `/workspaces/${encodeURIComponent(workspace)}/secrets`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

function scope(environment: string | null): string {
  return environment === null ? 'all environments' : `environment ${environment}`;
}

/**
 * `sluice secret set WORKSPACE NAME [--environment ENV]`. The value is read from standard input,
 * or typed at a prompt that does not echo: never from an argument, which shell history and the
 * process list would keep.
 */
export async function secretSet(
  target: ApiTarget,
  io: CliIo,
  workspace: string,
  name: string,
  environment: string | null,
  options: Output,
): Promise<void> {
  const value = io.stdinIsTTY
    ? await promptHidden(io, `Value of ${name} (${scope(environment)}; not shown): `)
    : await readStandardInput();
  if (value === '') {
    throw new SluiceError(
      'usage',
      `No value for ${name}: pipe it in (\`printf %s "$VALUE" | sluice secret set ${workspace} ${name}\`, or \`< file\`), or run in a terminal to type it.`,
    );
  }
  const entry = await callApi<SecretEntry>(target, 'PUT', path(workspace, name), {
    value,
    ...(environment !== null ? { environment } : {}),
  });
  io.stdout(
    options.format === 'json'
      ? `${JSON.stringify(entry, null, 2)}\n`
      : `Set secret ${entry.name} for ${scope(entry.environment)} of workspace ${workspace}.\n`,
  );
}

/** `sluice secret list WORKSPACE`: names and environments, never values. */
export async function secretList(
  target: ApiTarget,
  io: CliIo,
  workspace: string,
  options: Output,
): Promise<void> {
  const { items } = await callApi<{ items: SecretEntry[] }>(target, 'GET', path(workspace));
  if (options.format === 'json') {
    io.stdout(`${JSON.stringify(items, null, 2)}\n`);
    return;
  }
  if (items.length === 0) {
    io.stdout(
      `Workspace ${workspace} has no secrets. Set one with \`sluice secret set ${workspace} NAME\`.\n`,
    );
    return;
  }
  io.stdout(
    `${renderTable(
      ['NAME', 'ENVIRONMENT', 'UPDATED', 'UPDATED BY'],
      items.map((s) => [s.name, s.environment ?? '(all)', s.updatedAt, s.updatedBy]),
    )}\n`,
  );
}

/** `sluice secret unset WORKSPACE NAME [--environment ENV]`. */
export async function secretUnset(
  target: ApiTarget,
  io: CliIo,
  workspace: string,
  name: string,
  environment: string | null,
): Promise<void> {
  const query = environment === null ? '' : `?environment=${encodeURIComponent(environment)}`;
  await callApi(target, 'DELETE', `${path(workspace, name)}${query}`);
  io.stdout(`Unset secret ${name} for ${scope(environment)} of workspace ${workspace}.\n`);
}

/** All of standard input, less one final newline (`echo VALUE |` adds one; no secret wants it). */
async function readStandardInput(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Reads a line from the terminal without echoing it. Ctrl-C abandons, Backspace erases. */
function promptHidden(io: CliIo, question: string): Promise<string> {
  const stdin = process.stdin;
  io.stderr(question);
  return new Promise((resolve, reject) => {
    let value: string[] = [];
    const finish = (error?: SluiceError) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      io.stderr('\n');
      if (error) reject(error);
      else resolve(value.join(''));
    };
    const onData = (chunk: string) => {
      for (const c of chunk) {
        if (c === '\r' || c === '\n' || c === '\u0004') return finish();
        if (c === '\u0003') return finish(new SluiceError('usage', 'Interrupted: no secret was set.'));
        if (c === '\u007f' || c === '\b') value = value.slice(0, -1);
        else if (c >= ' ' || c === '\t') value.push(c);
      }
    };
    stdin.setEncoding('utf8');
    stdin.setRawMode(true);
    stdin.on('data', onData);
    stdin.resume();
  });
}
