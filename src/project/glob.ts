/** Tests whether a path (relative, `/` separators) matches a glob pattern. */
export interface PathMatcher {
  test(path: string): boolean;
}

/**
 * Glob patterns as Python's `Path.glob` reads them (Meltano expands `include_paths` with it):
 * `*` and `?` within one path segment, `[0-9]` classes, and `**` for any number of folders
 * (zero included). Dot files match too. Used on a folder walk and on a Git tree listing alike.
 * Patterns come from a workspace's `meltano.yml`, so matching never backtracks (a regular
 * expression for a pattern of ten `**` segments takes seconds on a deep path): both levels,
 * segments of a path and characters of a segment, use the greedy wildcard walk, which costs at
 * most the product of the two lengths.
 */
export function globMatcher(pattern: string): PathMatcher {
  const segments = pattern
    .replace(/^(\.\/)+/, '')
    .split('/')
    .filter((s) => s !== '' && s !== '.');
  const steps: Step<string>[] = segments.map((segment, i) => {
    if (segment !== '**') return { kind: 'one', test: segmentMatcher(segment) };
    // A last `**` is "anything below": at least one more segment, of any content.
    return i === segments.length - 1 ? { kind: 'one', test: () => true } : { kind: 'any' };
  });
  if (segments[segments.length - 1] === '**') steps.push({ kind: 'any' });
  return { test: (path) => wildcardMatch(steps, path.split('/')) };
}

/** One step of a wildcard pattern: a single item that passes `test`, or any run of items. */
type Step<T> = { readonly kind: 'one'; readonly test: (item: T) => boolean } | { readonly kind: 'any' };

/**
 * Matches items against steps, `any` standing for zero or more items: the greedy walk that
 * returns to the last `any` on a mismatch, which is enough since an `any` absorbs whatever a
 * later one would. At most `steps.length * items.length` tests.
 */
function wildcardMatch<T>(steps: readonly Step<T>[], items: readonly T[]): boolean {
  let step = 0;
  let item = 0;
  let lastAny = -1;
  let resumeAt = 0;
  while (item < items.length) {
    const current = steps[step];
    if (current?.kind === 'one' && current.test(items[item] as T)) {
      step++;
      item++;
    } else if (current?.kind === 'any') {
      lastAny = step++;
      resumeAt = item;
    } else if (lastAny >= 0) {
      step = lastAny + 1;
      item = ++resumeAt;
    } else {
      return false;
    }
  }
  while (steps[step]?.kind === 'any') step++;
  return step === steps.length;
}

/** `*` any run of characters, `?` one character, `[a-z]` / `[!a-z]` a class, anything else itself. */
function segmentMatcher(segment: string): (name: string) => boolean {
  const steps: Step<string>[] = [];
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i] as string;
    if (c === '*') steps.push({ kind: 'any' });
    else if (c === '?') steps.push({ kind: 'one', test: () => true });
    else if (c === '[' && segment.indexOf(']', i + 2) >= 0) {
      const close = segment.indexOf(']', i + 2);
      let body = segment.slice(i + 1, close);
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      // One character against one class: a regular expression that cannot backtrack.
      const one = new RegExp(`^[${body.replace(/\\/g, '\\\\')}]$`);
      steps.push({ kind: 'one', test: (ch) => one.test(ch) });
      i = close;
    } else steps.push({ kind: 'one', test: (ch) => ch === c });
  }
  return (name) => wildcardMatch(steps, name.split(''));
}

/** The folder part of a pattern before its first wildcard: where a walk needs to start. */
export function globBase(pattern: string): string {
  const segments = pattern.replace(/^(\.\/)+/, '').split('/');
  const fixed: string[] = [];
  for (const segment of segments.slice(0, -1)) {
    if (/[*?[]/.test(segment)) break;
    fixed.push(segment);
  }
  return fixed.join('/');
}
