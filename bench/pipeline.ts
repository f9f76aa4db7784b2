/**
 * Times `sluice run tap-csv target-duckdb` (the built CLI, as a user runs it) loading a generated
 * CSV of 1,000,000 rows and 10 columns (ints, strings, dates, timestamps, decimals, quoted text)
 * against DuckDB's own `read_csv` loading the same file into a table, both measured here, in this
 * run, interleaved so that machine load affects both alike. DuckDB loads it twice: as it reads a
 * CSV by default (types detected: the reference for the ratio) and with `all_varchar`, the table
 * Sluice builds (tap-csv types every column as a string). Each load starts from a fresh database
 * file; every table must hold every row, or the bench fails.
 * The same pipeline also runs as a server runs it: in a runner process (`sluice internal-runner`,
 * driven as the server drives it), once unconfined (SLUICE_PLUGIN_SANDBOX=off) and once in the
 * bubblewrap sandbox, to measure what the sandbox costs on a large run and to start a step.
 * Targets: Sluice within 4x of DuckDB's native load; the sandbox under 5% of a 1M-row run.
 * Run: `npm run bench:pipeline` (builds first; `-- --rows N` for a smaller file), or
 * `node_modules/.bin/tsx bench/pipeline.ts [--rows N]` after `npm run build`; BENCH_RUNS rounds
 * (default 3), medians.
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { runSandboxed } from '../src/runs/sandboxed-runner.js';
import { preparePluginSandbox } from '../src/sandbox/plugin-sandbox.js';
import { DEFAULT_SANDBOX_SETTINGS } from '../src/sandbox/sandbox-settings.js';
import { syntheticText } from './synthetic-files.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/sluice.js');
const BUNDLE = join(ROOT, 'dist/cli/main.cjs');
const { values: flags } = parseArgs({ options: { rows: { type: 'string', default: '1000000' } } });
const ROWS = Number(flags.rows);
if (!Number.isInteger(ROWS) || ROWS < 1)
  throw new Error(`--rows must be a positive integer, found ${flags.rows}`);
const ROUNDS = Number(process.env.BENCH_RUNS ?? 3);
const WARMUP_ROWS = 1000;
const ENTITY = 'orders';

const work = mkdtempSync(join(tmpdir(), 'sluice-bench-pipeline-'));

/** Writes `rows` deterministic data rows (and a header) to `file`, in chunks; answers its size. */
function writeCsv(file: string, rows: number): number {
  const { next } = syntheticText(7);
  const CUSTOMERS = ['Ann Smith', 'Bo Li', 'Cy Ortiz', 'Di Novak', 'Ed Kim', 'Flo Adeyemi', 'Gus Berg'];
  const COUNTRIES = ['FR', 'DE', 'US', 'JP', 'BR', 'IN', 'NG', 'CA'];
  const STATUSES = ['new', 'paid', 'shipped', 'returned'];
  const pick = (list: readonly string[]) => list[next() % list.length] as string;
  const pad = (n: number) => String(n).padStart(2, '0');
  const fd = openSync(file, 'w');
  let bytes = 0;
  const write = (text: string) => {
    bytes += writeSync(fd, text);
  };
  write('id,customer,email,country,order_date,shipped_at,quantity,amount,status,note\n');
  let chunk = '';
  for (let i = 1; i <= rows; i++) {
    const customer = pick(CUSTOMERS);
    const date = `2024-${pad((i % 12) + 1)}-${pad((next() % 28) + 1)}`;
    const note = next() % 4 === 0 ? `"gift, wrapped ""${pick(STATUSES)}"""` : `plain note ${next() % 1000}`;
    chunk +=
      `${i},${customer},${customer.split(' ')[0]?.toLowerCase()}${i}@example.com,${pick(COUNTRIES)},` +
      `${date},${date}T${pad(next() % 24)}:${pad(next() % 60)}:00Z,` +
      `${next() % 50},${(next() % 100_000) / 100},${pick(STATUSES)},${note}\n`;
    if (chunk.length > 1 << 20) {
      write(chunk);
      chunk = '';
    }
  }
  write(chunk);
  closeSync(fd);
  return bytes;
}

function meltanoYml(csv: string, database: string): string {
  return `default_environment: bench
plugins:
  extractors:
  - name: tap-csv
    variant: meltanolabs
    config:
      files:
      - entity: ${ENTITY}
        path: ${JSON.stringify(csv)}
        keys: [id]
  loaders:
  - name: target-duckdb
    variant: jwills
    config:
      filepath: ${JSON.stringify(database)}
environments:
- name: bench
`;
}

async function countRows(database: string, table: string): Promise<number> {
  const instance = await DuckDBInstance.create(database);
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM ${table}`);
    return Number(reader.getRowObjectsJS()[0]?.n);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

type Sandbox = Awaited<ReturnType<typeof preparePluginSandbox>>;

/**
 * One run of the project's pipeline as a server runs it: a runner process, confined by `sandbox`,
 * that the bench serves as the server would (no state is kept); answers milliseconds.
 */
async function runAsServer(
  sandbox: Sandbox,
  project: string,
  database: string,
  rows: number,
): Promise<number> {
  removeDatabase(database);
  const scratch = join(project, '.sluice', 'tmp');
  mkdirSync(scratch, { recursive: true });
  let records = 0;
  const start = process.hrtime.bigint();
  await runSandboxed({
    sandbox,
    codeRoot: ROOT.replace(/\/$/, ''),
    job: {
      kind: 'run',
      projectRoot: project,
      environment: 'bench',
      blocks: ['tap-csv', 'target-duckdb'],
      runtime: { shell: { PATH: sandbox.path, HOME: '/tmp' }, dotenv: {} },
      scratchDir: scratch,
    },
    scratch,
    signal: new AbortController().signal,
    handlers: {
      log: () => undefined,
      progress: () => undefined,
      step: (step) => {
        records += step.records[ENTITY] ?? 0;
      },
      getState: async () => undefined,
      setState: async () => undefined,
    },
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (records !== rows) throw new Error(`the server run reported ${records} records, expected ${rows}`);
  return ms;
}

const removeDatabase = (file: string) => {
  rmSync(file, { force: true });
  rmSync(`${file}.wal`, { force: true });
};

/** One `sluice run tap-csv target-duckdb` into a fresh database; answers milliseconds. */
function runSluice(project: string, database: string, rows: number): number {
  removeDatabase(database);
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [BIN, 'run', 'tap-csv', 'target-duckdb', '--full-refresh'], {
    cwd: project,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`sluice run failed (${result.status}): ${result.stderr}`);
  if (!result.stdout.includes(`${ENTITY}: ${rows} records`)) {
    throw new Error(`sluice run did not report ${rows} records: ${result.stdout}`);
  }
  return ms;
}

/** DuckDB's own load of the same file into a fresh database; answers milliseconds. */
async function runDuckdb(csv: string, database: string, options: string): Promise<number> {
  removeDatabase(database);
  const start = process.hrtime.bigint();
  const instance = await DuckDBInstance.create(database);
  const connection = await instance.connect();
  try {
    await connection.run(
      `CREATE TABLE t AS SELECT * FROM read_csv('${csv.replaceAll("'", "''")}'${options})`,
    );
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

const METHODS = {
  duckdb: { name: 'DuckDB read_csv, types detected (reference)', options: ', header = true' },
  varchar: {
    name: 'DuckDB read_csv, all_varchar (the table Sluice builds)',
    options: ', header = true, all_varchar = true',
  },
} as const;
const WAYS = ['sluice', 'duckdb', 'varchar', 'unconfined', 'sandboxed'] as const;
type Way = (typeof WAYS)[number];

try {
  if (!existsSync(BUNDLE)) {
    const built = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
    if (built.status !== 0) throw new Error('npm run build failed');
  }
  // The file and the database live in the project folder: a sandboxed run sees nothing else.
  const project = join(work, 'project');
  mkdirSync(project);
  const csv = join(project, `${ENTITY}.csv`);
  const generated = process.hrtime.bigint();
  const bytes = writeCsv(csv, ROWS);
  const generateMs = Number(process.hrtime.bigint() - generated) / 1e6;
  const databases: Record<Way, string> = {
    sluice: join(project, 'sluice.duckdb'),
    duckdb: join(work, 'duckdb.duckdb'),
    varchar: join(work, 'duckdb-varchar.duckdb'),
    unconfined: join(project, 'sluice.duckdb'),
    sandboxed: join(project, 'sluice.duckdb'),
  };
  writeFileSync(join(project, 'meltano.yml'), meltanoYml(`${ENTITY}.csv`, 'sluice.duckdb'));
  const sandboxes = {
    unconfined: await preparePluginSandbox({
      dataDir: join(work, 'data'),
      settings: { ...DEFAULT_SANDBOX_SETTINGS, mode: 'off' },
      codeRoot: ROOT.replace(/\/$/, ''),
    }),
    sandboxed: await preparePluginSandbox({
      dataDir: join(work, 'data'),
      settings: DEFAULT_SANDBOX_SETTINGS,
      codeRoot: ROOT.replace(/\/$/, ''),
    }),
  };
  if (sandboxes.sandboxed.problem) throw new Error(sandboxes.sandboxed.problem);

  // Warm-up: the CLI's code cache, DuckDB's extension loading, the file cache.
  const warmProject = join(work, 'warm');
  const warmCsv = join(work, 'warm.csv');
  mkdirSync(warmProject);
  writeCsv(warmCsv, WARMUP_ROWS);
  writeFileSync(join(warmProject, 'meltano.yml'), meltanoYml(warmCsv, join(work, 'warm.duckdb')));
  runSluice(warmProject, join(work, 'warm.duckdb'), WARMUP_ROWS);
  await runDuckdb(warmCsv, join(work, 'warm-native.duckdb'), METHODS.duckdb.options);

  // What starting a step costs: a one-row run, unconfined and sandboxed, several times.
  const tiny = join(work, 'tiny');
  mkdirSync(tiny);
  writeCsv(join(tiny, `${ENTITY}.csv`), 1);
  writeFileSync(join(tiny, 'meltano.yml'), meltanoYml(`${ENTITY}.csv`, 'tiny.duckdb'));
  const startup: Record<'unconfined' | 'sandboxed', number[]> = { unconfined: [], sandboxed: [] };
  for (let i = 0; i < 7; i++) {
    for (const way of ['unconfined', 'sandboxed'] as const) {
      startup[way].push(await runAsServer(sandboxes[way], tiny, join(tiny, 'tiny.duckdb'), 1));
    }
  }

  const samples: Record<Way, number[]> = {
    sluice: [],
    duckdb: [],
    varchar: [],
    unconfined: [],
    sandboxed: [],
  };
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate which goes first, so that none always runs on a warmer (or busier) machine.
    for (let k = 0; k < WAYS.length; k++) {
      const way = WAYS[(round + k) % WAYS.length] as Way;
      samples[way].push(
        way === 'sluice'
          ? runSluice(project, databases.sluice, ROWS)
          : way === 'unconfined' || way === 'sandboxed'
            ? await runAsServer(sandboxes[way], project, databases[way], ROWS)
            : await runDuckdb(csv, databases[way], METHODS[way].options),
      );
    }
  }
  for (const way of ['sluice', 'duckdb', 'varchar'] as const) {
    const count = await countRows(databases[way], way === 'sluice' ? `main.${ENTITY}` : 't');
    if (count !== ROWS) throw new Error(`${way} loaded ${count} rows, expected ${ROWS}`);
  }

  const reference = median(samples.duckdb);
  console.log(
    `CSV: ${ROWS} rows, 10 columns, ${(bytes / 1e6).toFixed(1)} MB (generated in ${(generateMs / 1000).toFixed(1)} s); each load into a fresh database file; ${ROUNDS} rounds after a warm-up, interleaved, medians`,
  );
  console.log('| method | seconds | rows/s | ratio |');
  console.log('|---|---:|---:|---:|');
  const row = (name: string, ms: number) =>
    `| ${name} | ${(ms / 1000).toFixed(2)} | ${Math.round(ROWS / (ms / 1000)).toLocaleString('en-US')} | ${(ms / reference).toFixed(2)}x |`;
  console.log(row(METHODS.duckdb.name, reference));
  console.log(row(METHODS.varchar.name, median(samples.varchar)));
  console.log(row('sluice run tap-csv target-duckdb (CLI process)', median(samples.sluice)));
  const unconfined = median(samples.unconfined);
  const sandboxed = median(samples.sandboxed);
  console.log(row('server run, runner unconfined (SLUICE_PLUGIN_SANDBOX=off)', unconfined));
  console.log(row('server run, runner in the bubblewrap sandbox', sandboxed));
  const signed = (n: number, digits: number) => `${n >= 0 ? '+' : ''}${n.toFixed(digits)}`;
  const [startUnconfined, startSandboxed] = [median(startup.unconfined), median(startup.sandboxed)];
  console.log(
    `Sandbox cost on this run: ${signed(((sandboxed - unconfined) / unconfined) * 100, 1)}% (target: under 5%). ` +
      `Start of a one-row step, medians of 7: unconfined ${startUnconfined.toFixed(0)} ms, sandboxed ${startSandboxed.toFixed(0)} ms (${signed(startSandboxed - startUnconfined, 0)} ms).`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
