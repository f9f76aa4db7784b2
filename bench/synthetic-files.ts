/**
 * Deterministic file contents for benchmarks: every run builds the same repositories, so runs
 * compare. A linear congruential generator is plenty for that.
 */
export function syntheticText(seed: number): {
  next: () => number;
  line: () => string;
  fileText: () => string;
} {
  let state = seed >>> 0;
  const next = () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state;
  };
  const WORDS = ['tap', 'target', 'select', 'config', 'stream', 'schema', 'state', 'batch', 'airbyte', 'dbt'];
  const line = () =>
    Array.from({ length: 8 }, () => `${WORDS[next() % WORDS.length]}_${(next() % 10_000).toString(36)}`).join(
      ' ',
    );
  return { next, line, fileText: () => `${Array.from({ length: 40 }, line).join('\n')}\n` };
}
