import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Parses a `.env` file as python-dotenv (which Meltano uses) does: `KEY=value`, optional `export `,
 * `#` comments, single quotes (literal), double quotes (escapes), and `${VAR}` / `${VAR:-default}`
 * expansion in unquoted and double-quoted values against earlier lines, then the shell. A key
 * without `=` has no value and is dropped (meltano-semantics §4.6).
 */
export function parseDotenv(text: string, shell: Env = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of dotenvEntries(text)) {
    if (entry.value === undefined) continue;
    out[entry.key] = entry.expand ? expandDotenv(entry.value, { ...shell, ...out }) : entry.value;
  }
  return out;
}

interface DotenvEntry {
  readonly key: string;
  readonly value: string | undefined;
  readonly expand: boolean;
  /** Index of the first and last line of this entry in the file. */
  readonly lines: readonly [number, number];
}

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*(=\s*)?/;

function dotenvEntries(text: string): DotenvEntry[] {
  const lines = text.split(/\r?\n/);
  const entries: DotenvEntry[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (/^\s*(#|$)/.test(line)) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const key = m[1] as string;
    if (!m[2]) {
      entries.push({ key, value: undefined, expand: false, lines: [i, i] });
      continue;
    }
    let rest = line.slice(m[0].length);
    const quote = rest[0];
    if (quote === "'" || quote === '"') {
      // Quoted values may span lines: read until the closing quote.
      let body = rest.slice(1);
      const start = i;
      let close = findClose(body, quote);
      while (close < 0 && i + 1 < lines.length) {
        i++;
        body += `\n${lines[i]}`;
        close = findClose(body, quote);
      }
      const raw = close < 0 ? body : body.slice(0, close);
      // python-dotenv unescapes \\ and \' in single quotes (and formatDotenvLine writes them).
      const value = quote === "'" ? raw.replace(/\\([\\'])/g, '$1') : unescapeDouble(raw);
      entries.push({ key, value, expand: quote === '"', lines: [start, i] });
      continue;
    }
    rest = rest.replace(/\s+#.*$/, '').trim();
    entries.push({ key, value: rest, expand: true, lines: [i, i] });
  }
  return entries;
}

function findClose(body: string, quote: string): number {
  for (let j = 0; j < body.length; j++) {
    if (body[j] === '\\') j++;
    else if (body[j] === quote) return j;
  }
  return -1;
}

function unescapeDouble(raw: string): string {
  return raw.replace(
    /\\([\\'"abfnrtv])/g,
    (_, c: string) => ({ n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v' })[c] ?? c,
  );
}

function expandDotenv(value: string, env: Env): string {
  return value.replace(
    /\$\{([^}:]+)(?::-([^}]*))?\}/g,
    (_, name: string, fallback: string | undefined) => env[name] ?? fallback ?? '',
  );
}

/** Reads `.env` from a project root, or nothing when there is none. */
export function readDotenvFile(path: string, shell: Env): Record<string, string> {
  return existsSync(path) ? parseDotenv(readFileSync(path, 'utf8'), shell) : {};
}

/** Quotes a value the way Meltano writes `.env` (`KEY='value'`). */
export function formatDotenvLine(key: string, value: string): string {
  return `${key}='${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * Sets and removes variables in `.env`, leaving every other line as it was. A new file is created
 * readable by its owner only (0600), since it holds secrets.
 */
export function updateDotenvFile(
  path: string,
  set: Readonly<Record<string, string>>,
  remove: readonly string[] = [],
): void {
  const exists = existsSync(path);
  const text = exists ? readFileSync(path, 'utf8') : '';
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const drop = new Set([...remove, ...Object.keys(set)]);
  const pending = new Map(Object.entries(set));
  const out: string[] = [];
  const entries = dotenvEntries(text);
  const byLine = new Map(entries.map((e) => [e.lines[0], e]));
  for (let i = 0; i < lines.length; i++) {
    const entry = byLine.get(i);
    if (entry && drop.has(entry.key)) {
      const replacement = pending.get(entry.key);
      if (replacement !== undefined) {
        out.push(formatDotenvLine(entry.key, replacement));
        pending.delete(entry.key);
      }
      i = entry.lines[1];
      continue;
    }
    out.push(lines[i] as string);
  }
  for (const [key, value] of pending) out.push(formatDotenvLine(key, value));
  writeFileSync(path, out.length ? `${out.join('\n')}\n` : '', { mode: 0o600 });
  if (!exists) chmodSync(path, 0o600);
}
