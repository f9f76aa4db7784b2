/**
 * Throughput and latency of the API's hot reads against a Fastify hello-world route, both served
 * by this process and loaded by the same client (a child process, `http-load.ts`: keep-alive
 * connections, N loops one request after the other) in this run:
 * - `GET /api/v1/workspaces/{id}` with 100 clients (over every workspace in turn),
 * - the workspace list (`limit=200`) with 10 clients,
 * - a plugin's configuration view (`/plugins/tap-github/config?environment=...`) with 10 clients,
 * each against hello-world with as many clients. The server (SQLite, or PostgreSQL with
 * `--postgres`) holds WORKSPACES workspaces; PUSHED of them received a meltano.yml with five
 * plugins and environments dev, staging and prod through `git push`.
 * Targets (issue 11): the workspace read at least a third of hello-world's throughput; the list
 * and the configuration view three times what they were before.
 * Run: `node_modules/.bin/tsx bench/api.ts [--postgres]` (BENCH_ROUNDS turns of a second per
 * side and row, default 5).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import pg from 'pg';
import { gitIdentityEnv, runGit } from '../src/git/run-git.js';
import { DEFAULT_SANDBOX_SETTINGS } from '../src/sandbox/sandbox-settings.js';
import { startServer } from '../src/server/serve.js';
import { type LoadOptions, type LoadResult, loadGenerator, summarize } from './http-load.js';

const WORKSPACES = Number(process.env.BENCH_WORKSPACES ?? 200);
const PUSHED = 10;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const TURN_MS = 1000;
const WARMUP_MS = 200;
const ADMIN_TOKEN = 'bench-admin-token-for-the-api-benchmark';
const POSTGRES_ADMIN_URL = process.env.SLUICE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;

/** A project as teams keep them: two extractors, two loaders, a mapper, a job, a schedule, three environments. */
function meltanoYml(): string {
  const environment = (name: string, i: number) => [
    `- name: ${name}`,
    '  config:',
    '    plugins:',
    '      extractors:',
    '      - name: tap-github',
    '        config:',
    `          start_date: '2024-0${i + 1}-01'`,
    `          repositories: [sluice/${name}-a, sluice/${name}-b]`,
    '      - name: tap-postgres',
    '        config:',
    `          host: ${name}-db.internal`,
    `          database: app_${name}`,
    '      loaders:',
    '      - name: target-postgres',
    '        config:',
    `          database: warehouse_${name}`,
    `          default_target_schema: raw_${name}`,
    '  env:',
    `    DBT_TARGET: ${name}`,
  ];
  return [
    'version: 1',
    'default_environment: dev',
    'project_id: 0c8f8a52-bench-api',
    'send_anonymous_usage_stats: false',
    'plugins:',
    '  extractors:',
    '  - name: tap-github',
    '    variant: meltanolabs',
    '    pip_url: meltanolabs-tap-github',
    '    capabilities: [catalog, discover, state]',
    '    settings:',
    '    - name: auth_token',
    '      kind: password',
    '    - name: repositories',
    '      kind: array',
    '    - name: start_date',
    '      kind: date_iso8601',
    '    - name: user_agent',
    '    - name: stream_maps',
    '      kind: object',
    '    config:',
    '      repositories: [sluice/sluice]',
    "      start_date: '2023-01-01'",
    '      user_agent: sluice-bench',
    '    select:',
    '    - issues.*',
    '    - pull_requests.*',
    '  - name: tap-postgres',
    '    variant: meltanolabs',
    '    pip_url: meltanolabs-tap-postgres',
    '    settings:',
    '    - name: host',
    '    - name: port',
    '      kind: integer',
    '    - name: user',
    '    - name: password',
    '      kind: password',
    '    - name: database',
    '    - name: filter_schemas',
    '      kind: array',
    '    config:',
    '      host: localhost',
    '      port: 5432',
    '      user: reader',
    '      filter_schemas: [public]',
    '  loaders:',
    '  - name: target-postgres',
    '    variant: meltanolabs',
    '    pip_url: meltanolabs-target-postgres',
    '    settings:',
    '    - name: host',
    '    - name: port',
    '      kind: integer',
    '    - name: user',
    '    - name: password',
    '      kind: password',
    '    - name: database',
    '    - name: default_target_schema',
    '    - name: add_record_metadata',
    '      kind: boolean',
    '    config:',
    '      host: warehouse.internal',
    '      port: 5432',
    '      user: loader',
    '      add_record_metadata: true',
    '  - name: target-jsonl',
    '    variant: andyh1203',
    '    pip_url: target-jsonl',
    '    config:',
    '      destination_path: output',
    '  mappers:',
    '  - name: meltano-map-transformer',
    '    variant: meltano',
    '    pip_url: meltano-map-transform',
    '    mappings:',
    '    - name: hash-emails',
    '      config:',
    '        stream_maps:',
    '          users:',
    '            email: md5(email)',
    'jobs:',
    '- name: github-to-postgres',
    '  tasks:',
    '  - tap-github hash-emails target-postgres',
    'schedules:',
    '- name: daily-github',
    '  job: github-to-postgres',
    "  interval: '@daily'",
    'environments:',
    ...ENVIRONMENTS.flatMap(environment),
    '',
  ].join('\n');
}

/** A fresh PostgreSQL database for `--postgres`, and how to drop it. */
async function createDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `sluice_bench_api_${process.pid}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

const postgres = process.argv.includes('--postgres');
const work = mkdtempSync(join(tmpdir(), 'sluice-bench-api-'));
const database = postgres ? await createDatabase() : undefined;
const server = await startServer({
  host: '127.0.0.1',
  port: 0,
  dataDir: join(work, 'data'),
  databaseUrl: database?.url,
  adminToken: ADMIN_TOKEN,
  schedulerTickMs: 24 * 3600 * 1000,
  // No run is started: plugins never run, so they need no sandbox.
  sandbox: { ...DEFAULT_SANDBOX_SETTINGS, mode: 'off' },
});
const hello = Fastify({ logger: false });
hello.get('/', async () => ({ hello: 'world' }));
const helloUrl = await hello.listen({ host: '127.0.0.1', port: 0 });

async function call(method: string, path: string, body?: unknown) {
  const response = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(answer)}`);
  // biome-ignore lint/suspicious/noExplicitAny: the bench reads answers field by field
  return answer as any;
}

/** Clones a workspace, commits the bench's meltano.yml and pushes it to `main` with stock git. */
async function pushProject(repositoryUrl: string, dir: string): Promise<void> {
  const url = new URL(repositoryUrl);
  url.username = 'bench';
  url.password = ADMIN_TOKEN;
  await runGit(['clone', '--quiet', url.toString(), dir]);
  writeFileSync(join(dir, 'meltano.yml'), meltanoYml());
  await runGit(['add', 'meltano.yml'], { cwd: dir });
  await runGit(['commit', '--quiet', '-m', 'Bench project'], {
    cwd: dir,
    env: gitIdentityEnv('Bench', 'bench@example.com'),
  });
  await runGit(['push', '--quiet', 'origin', 'main'], { cwd: dir });
}

const fmt = (n: number, digits = 0) => n.toFixed(digits);

try {
  const setup = performance.now();
  const workspaces: { id: string; repositoryUrl: string }[] = [];
  for (let i = 0; i < WORKSPACES; i++)
    workspaces.push(await call('POST', '/workspaces', { name: `Bench ${String(i).padStart(3, '0')}` }));
  const pushed = workspaces.slice(0, PUSHED);
  for (const [i, ws] of pushed.entries()) await pushProject(ws.repositoryUrl, join(work, `clone-${i}`));
  // Every pushed workspace shows the pushed project, and its configuration loads.
  for (const ws of pushed) {
    const view = await call('GET', `/workspaces/${ws.id}/plugins/tap-github/config?environment=prod`);
    if (view.config.start_date !== '2024-03-01') throw new Error(`Unexpected view: ${JSON.stringify(view)}`);
  }
  const setupS = (performance.now() - setup) / 1000;

  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const generator = loadGenerator();
  type Summary = ReturnType<typeof summarize>;
  const rows: { name: string; clients: number; sluice: Summary; baseline: Summary }[] = [];
  /**
   * Hello-world and Sluice in turns of one second, ROUNDS each, which goes first alternating: the
   * machine's other work then weighs on both alike. Each turn opens its connections and warms up
   * for a fifth of a second before it counts.
   */
  const measure = async (name: string, paths: readonly string[], clients: number) => {
    const sides = {
      baseline: { base: helloUrl, paths: ['/'], headers: {}, results: [] as LoadResult[] },
      sluice: { base: server.url, paths, headers: auth, results: [] as LoadResult[] },
    };
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of round % 2 ? [sides.sluice, sides.baseline] : [sides.baseline, sides.sluice]) {
        const options: LoadOptions = { ...side, clients, warmupMs: WARMUP_MS, measureMs: TURN_MS };
        const result = await generator.run(options);
        if (result.failures > 0)
          throw new Error(
            `${name}: ${result.failures} requests failed, the first with ${result.firstFailure}`,
          );
        side.results.push(result);
      }
    }
    rows.push({
      name,
      clients,
      sluice: summarize(sides.sluice.results),
      baseline: summarize(sides.baseline.results),
    });
  };

  await measure(
    'GET /workspaces/{id}',
    workspaces.map((ws) => `/api/v1/workspaces/${ws.id}`),
    100,
  );
  await measure('GET /workspaces?limit=200', [`/api/v1/workspaces?limit=${WORKSPACES}`], 10);
  await measure(
    'GET /workspaces/{id}/plugins/tap-github/config',
    pushed.flatMap((ws) =>
      ENVIRONMENTS.map((env) => `/api/v1/workspaces/${ws.id}/plugins/tap-github/config?environment=${env}`),
    ),
    10,
  );

  console.log(
    `${postgres ? 'PostgreSQL' : 'SQLite'}; ${WORKSPACES} workspaces, ${PUSHED} with a pushed meltano.yml (set up in ${fmt(setupS, 1)} s); each row: ${ROUNDS} turns of ${TURN_MS / 1000} s each side, interleaved; keep-alive client in a child process`,
  );
  console.log(
    '| request | clients | hello-world req/s | p50 ms | p99 ms | Sluice req/s | p50 ms | p99 ms | ratio |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const { name, clients, sluice, baseline } of rows) {
    console.log(
      `| ${name} | ${clients} | ${fmt(baseline.perSecond)} | ${fmt(baseline.p50Ms, 2)} | ${fmt(baseline.p99Ms, 2)} | ${fmt(sluice.perSecond)} | ${fmt(sluice.p50Ms, 2)} | ${fmt(sluice.p99Ms, 2)} | ${fmt(sluice.perSecond / baseline.perSecond, 2)} |`,
    );
  }
  generator.close();
} finally {
  await hello.close();
  await server.close();
  await database?.drop();
  rmSync(work, { recursive: true, force: true });
}
