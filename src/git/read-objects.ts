import { checkRevision } from './check-input.js';
import { runGit } from './run-git.js';

export interface GitObject {
  readonly oid: string;
  readonly type: string;
  readonly content: Buffer;
}

/**
 * Reads many objects with one `git cat-file --batch` process instead of one process each. Names
 * are anything git resolves to an object (`<oid>`, `<commit>:<path>`); a name that resolves to
 * nothing is absent from the result.
 */
export async function readObjects(repo: string, names: readonly string[]): Promise<Map<string, GitObject>> {
  const unique = [...new Set(names)];
  const found = new Map<string, GitObject>();
  if (unique.length === 0) return found;
  for (const name of unique) checkRevision(name);
  const out = await runGit(['cat-file', '--batch', '--buffer'], {
    gitDir: repo,
    input: unique.map((name) => `${name}\n`).join(''),
  });
  // For each input line, in order: `<oid> SP <type> SP <size> LF <content> LF`, or `<name> SP missing LF`.
  let at = 0;
  for (const name of unique) {
    const eol = out.indexOf(0x0a, at);
    if (eol < 0) throw new Error(`cat-file --batch output ended early, before ${name}`);
    const header = out.toString('utf8', at, eol);
    at = eol + 1;
    if (header.endsWith(' missing') || header.endsWith(' ambiguous')) continue;
    const [oid, type, size] = header.split(' ');
    if (oid === undefined || type === undefined || size === undefined || !/^\d+$/.test(size)) {
      throw new Error(`unexpected cat-file --batch header: ${JSON.stringify(header)}`);
    }
    const end = at + Number(size);
    found.set(name, { oid, type, content: out.subarray(at, end) });
    at = end + 1;
  }
  return found;
}
