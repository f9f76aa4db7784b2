import type { Run } from '../api.js';

const WIDTH = 600;
const HEIGHT = 120;

/** Duration (bars) and rows loaded (line) of the last finished runs, oldest on the left. */
export function RunChart({ runs }: { readonly runs: readonly Run[] }) {
  const done = runs
    .filter((r) => r.durationMs !== null)
    .slice(0, 20)
    .reverse();
  if (done.length === 0) return null;
  const rows = done.map((r) => Object.values(r.recordsByStream).reduce((a, b) => a + b, 0));
  const maxMs = Math.max(...done.map((r) => r.durationMs ?? 0), 1);
  const maxRows = Math.max(...rows, 1);
  const step = WIDTH / done.length;
  const points = rows
    .map((n, i) => `${(i + 0.5) * step},${HEIGHT - (n / maxRows) * (HEIGHT - 10)}`)
    .join(' ');
  return (
    <figure className="chart">
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`Duration and rows of the last ${done.length} runs`}
      >
        {done.map((r, i) => {
          const h = ((r.durationMs ?? 0) / maxMs) * (HEIGHT - 10);
          return (
            <rect
              key={r.id}
              x={i * step + step * 0.15}
              y={HEIGHT - h}
              width={step * 0.7}
              height={h}
              className={`bar ${r.status}`}
            >
              <title>
                {`${r.job ?? r.blocks.join(' ')}: ${((r.durationMs ?? 0) / 1000).toFixed(1)} s, ${rows[i]} rows, ${r.status}`}
              </title>
            </rect>
          );
        })}
        <polyline points={points} className="rows-line" />
      </svg>
      <figcaption className="muted">
        Bars: duration (longest {(maxMs / 1000).toFixed(1)} s). Line: rows loaded (most {maxRows}).
      </figcaption>
    </figure>
  );
}
