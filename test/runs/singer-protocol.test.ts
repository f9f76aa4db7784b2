import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runInProcess } from '../helpers/in-process-cli.js';

/**
 * How Sluice runs external Singer plugins, against fakes that behave like real ones: a target
 * that prints bare state lines (as singer-python and SDK targets do) and a tap that reports the
 * flags, files and variables it was started with.
 */

const FAKES = resolve(import.meta.dirname, '../fixtures/singer-fakes');

interface Invocation {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly catalog?: { streams: { tap_stream_id: string; metadata: unknown[] }[] } | null;
  readonly state?: unknown;
  readonly config?: Record<string, unknown>;
}

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-singer-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** A project with `tap` (YAML lines of the extractor entry, after its name) and the fake target. */
function project(tapLines: string, targetConfig = ''): void {
  writeFileSync(
    join(root, 'meltano.yml'),
    `default_environment: dev
plugins:
  extractors:
  - name: tap-fake
    executable: ${FAKES}/tap-fake
${tapLines}
  loaders:
  - name: target-fake
    namespace: target_fake
    executable: ${FAKES}/target-fake
    config:
      path: out.jsonl
      record_to: target-calls.jsonl
      schema: $MELTANO_EXTRACT__LOAD_SCHEMA
${targetConfig}
environments:
- name: dev
`,
  );
}

const sluice = (...args: string[]) => runInProcess(args, root, { PATH: process.env.PATH ?? '' });

function jsonLines<T>(name: string): T[] {
  const file = join(root, name);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);
}

/** The fake tap with every capability, syncing `numbers` 1..count, into the fake target. */
const numbersUpTo = (count: number, targetConfig = '') =>
  project(
    `    capabilities: [catalog, discover, state]
    select: [numbers.*]
    config:
      count: ${count}
      record_to: tap-calls.jsonl`,
    targetConfig,
  );

const tapCalls = () => jsonLines<Invocation>('tap-calls.jsonl');
const syncCalls = () => tapCalls().filter((c) => !c.argv.includes('--discover'));
const flags = (call: Invocation | undefined) => (call?.argv ?? []).filter((a) => a.startsWith('--'));

/** Stores a state for the pipeline, as `sluice state set` does: numbers done up to `n`. */
async function storeStateAt(n: number): Promise<void> {
  const value = JSON.stringify({ singer_state: { bookmarks: { numbers: { n } } } });
  expect((await sluice('state', 'set', 'dev:tap-fake-to-target-fake', value)).status).toBe(0);
}

async function savedState(id = 'dev:tap-fake-to-target-fake'): Promise<unknown> {
  const result = await sluice('state', 'get', id);
  return result.status === 0 ? JSON.parse(result.stdout) : undefined;
}

describe('a target that prints bare state lines', () => {
  it('succeeds, saves each state it confirms, and the next run resumes from it', async () => {
    numbersUpTo(3);
    const first = await sluice('run', 'tap-fake', 'target-fake');
    expect(first.stderr).not.toMatch(/^error/m);
    expect(first.status).toBe(0);
    expect(first.stdout).toContain('numbers: 3 records');
    expect(first.stdout).toContain('state saved');
    expect(await savedState()).toEqual({ singer_state: { bookmarks: { numbers: { n: 3 } } } });
    // Its line of plain text is logged, not fatal.
    expect(first.stderr).toContain(
      'target-fake | stdout (not a JSON object; no state saved): target-fake: starting',
    );

    numbersUpTo(5);
    const second = await sluice('run', 'tap-fake', 'target-fake');
    expect(second.status).toBe(0);
    expect(second.stdout).toContain('numbers: 2 records');
    expect(syncCalls().at(-1)?.state).toEqual({ bookmarks: { numbers: { n: 3 } } });
    expect(jsonLines<{ n: number }>('out.jsonl').map((r) => r.n)).toEqual([1, 2, 3, 4, 5]);
    expect(await savedState()).toEqual({ singer_state: { bookmarks: { numbers: { n: 5 } } } });
  });
});

describe('what else a target prints on stdout', () => {
  it('logs its first lines, counts the rest, and never repeats the records it echoes', async () => {
    numbersUpTo(2, '      chatter: 25\n      echo: true');
    const result = await sluice('run', 'tap-fake', 'target-fake');
    expect(result.status).toBe(0);
    expect(await savedState()).toEqual({ singer_state: { bookmarks: { numbers: { n: 2 } } } });
    const logged = result.stderr.split('\n').filter((l) => l.startsWith('target-fake | stdout'));
    // The start line, 19 of the chatter, then the count of what was left out (6 chatter, 2 echoes).
    expect(logged).toHaveLength(21);
    expect(logged[19]).toBe(
      'target-fake | stdout (not a JSON object; no state saved): target-fake: chatter 18',
    );
    expect(logged[20]).toBe('target-fake | stdout: 8 more lines that are not states were not logged');
  });

  it('logs an echoed record by its type only', async () => {
    numbersUpTo(1, '      echo: true');
    const result = await sluice('run', 'tap-fake', 'target-fake');
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('target-fake | stdout (a RECORD message, not a state; no state saved)\n');
    expect(result.stderr).not.toContain('{"type": "RECORD"');
  });
});

describe('capabilities', () => {
  it('gives a tap with only the properties capability its catalog with --properties', async () => {
    project(`    capabilities: [properties, discover, state]
    select: [letters.*]
    config:
      record_to: tap-calls.jsonl`);
    const result = await sluice('run', 'tap-fake', 'target-fake');
    expect(result.status).toBe(0);
    expect(tapCalls().map(flags)).toEqual([
      ['--config', '--discover'],
      ['--config', '--properties'],
    ]);
    // The select rules were applied to the catalog it got: only letters were synced.
    expect(result.stdout).toContain('letters: 2 records');
    expect(result.stdout).not.toContain('numbers:');
  });

  it('neither discovers nor passes state to a tap that does not declare discover and state', async () => {
    // A custom definition (namespace, no inherit_from) without capabilities has none, as in Meltano.
    project(`    namespace: tap_fake
    config:
      record_to: tap-calls.jsonl`);
    await storeStateAt(2);
    const result = await sluice('run', 'tap-fake', 'target-fake');
    expect(result.status).toBe(0);
    expect(tapCalls().map(flags)).toEqual([['--config']]);
    expect(result.stderr).toContain('tap-fake declares no capabilities: it runs with --config only');
    // Without a catalog it syncs every stream, from the start.
    expect(result.stdout).toContain('numbers: 3 records');
    expect(result.stdout).toContain('letters: 2 records');
  });

  it('passes a catalog but no state to a tap with catalog and discover only', async () => {
    project(`    capabilities: [catalog, discover]
    config:
      record_to: tap-calls.jsonl`);
    await storeStateAt(2);
    const result = await sluice('run', 'tap-fake', 'target-fake');
    expect(result.status).toBe(0);
    expect(flags(syncCalls()[0])).toEqual(['--config', '--catalog']);
    expect(result.stderr).toContain(
      'tap-fake does not declare the state capability: it starts without state',
    );
  });

  it('refuses a tap that takes a catalog but can neither discover nor was given one', async () => {
    project(`    capabilities: [catalog, state]
    config:
      record_to: tap-calls.jsonl`);
    const result = await sluice('run', 'tap-fake', 'target-fake');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /^error: tap-fake declares the catalog capability but not discover, and has no catalog: extra/m,
    );
    expect(tapCalls()).toEqual([]);
  });

  it('reads capabilities from a Meltano lock file when meltano.yml lists none', async () => {
    project(`    variant: fake
    config:
      record_to: tap-calls.jsonl`);
    const lock = join(root, 'plugins', 'extractors');
    await import('node:fs/promises').then((fs) => fs.mkdir(lock, { recursive: true }));
    writeFileSync(
      join(lock, 'tap-fake--fake.lock'),
      JSON.stringify({ name: 'tap-fake', variant: 'fake', capabilities: ['properties', 'discover'] }),
    );
    const result = await sluice('run', 'tap-fake', 'target-fake');
    expect(result.status).toBe(0);
    expect(flags(syncCalls()[0])).toEqual(['--config', '--properties']);
  });
});

describe('the catalog and state extras', () => {
  const catalog = {
    streams: ['numbers', 'letters'].map((name) => ({
      tap_stream_id: name,
      stream: name,
      schema: { type: 'object', properties: {} },
      metadata: [{ breadcrumb: [], metadata: { selected: true } }],
    })),
  };

  it('uses the catalog file instead of discovering; select is not applied to it, select_filter is', async () => {
    writeFileSync(join(root, 'my-catalog.json'), JSON.stringify(catalog));
    project(`    capabilities: [catalog, discover, state]
    catalog: my-catalog.json
    select: [numbers.*]
    select_filter: ['!numbers']
    config:
      record_to: tap-calls.jsonl`);
    const result = await sluice('run', 'tap-fake', 'target-fake');
    expect(result.status).toBe(0);
    expect(tapCalls().map(flags)).toEqual([['--config', '--catalog']]);
    expect(result.stderr).toContain('Using the catalog in my-catalog.json (the catalog: extra)');
    // `select: [numbers.*]` would have kept numbers only; the filter's `!numbers` leaves letters.
    const streams = syncCalls()[0]?.catalog?.streams ?? [];
    expect(streams.map((s) => [s.tap_stream_id, s.metadata])).toEqual([
      ['numbers', [{ breadcrumb: [], metadata: { selected: false } }]],
      ['letters', [{ breadcrumb: [], metadata: { selected: true } }]],
    ]);
    expect(result.stdout).toContain('letters: 2 records');
    expect(result.stdout).not.toContain('numbers:');
  });

  it('applies select_filter after select to a discovered catalog', async () => {
    project(`    capabilities: [catalog, discover, state]
    select_filter: [letters]
    config:
      record_to: tap-calls.jsonl`);
    const result = await sluice('run', 'tap-fake', 'target-fake');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('letters: 2 records');
    expect(result.stdout).not.toContain('numbers:');
  });

  /** The numbers tap with `state: <file>` holding `text`, and a stored state at n = 2. */
  async function withStateFile(text: string): Promise<void> {
    writeFileSync(join(root, 'start.json'), text);
    project(`    capabilities: [catalog, discover, state]
    state: start.json
    select: [numbers.*]
    config:
      record_to: tap-calls.jsonl`);
    await storeStateAt(2);
  }

  it('starts from the state file instead of the stored state', async () => {
    await withStateFile(JSON.stringify({ bookmarks: { numbers: { n: 1 } } }));
    const result = await sluice('run', 'tap-fake', 'target-fake');
    expect(result.status).toBe(0);
    expect(syncCalls()[0]?.state).toEqual({ bookmarks: { numbers: { n: 1 } } });
    expect(result.stdout).toContain('numbers: 2 records');
    expect(result.stderr).toContain('Using the state in start.json (the state: extra)');
    // A full refresh ignores it, as Meltano does.
    const full = await sluice('run', 'tap-fake', 'target-fake', '--full-refresh');
    expect(full.status).toBe(0);
    expect(flags(syncCalls()[1])).toEqual(['--config', '--catalog']);
  });

  it('treats an empty state file as no state, as Meltano does', async () => {
    await withStateFile('\n');
    const result = await sluice('run', 'tap-fake', 'target-fake');
    expect(result.status).toBe(0);
    expect(flags(syncCalls()[0])).toEqual(['--config', '--catalog']);
    expect(result.stdout).toContain('numbers: 3 records');
  });

  it('reads only regular files inside the project folder', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'sluice-outside-'));
    try {
      writeFileSync(join(outside, 'state.json'), '{"bookmarks": {"numbers": {"n": 1}}}');
      // A FIFO would block a reader that waits for a writer: it must be refused at once.
      execFileSync('mkfifo', [join(root, 'pipe.json')]);
      for (const [value, why] of [
        [join(outside, 'state.json'), 'is outside the project folder'],
        [`../${outside.split('/').pop()}/state.json`, 'is outside the project folder'],
        ['.', 'is not a regular file'],
        ['pipe.json', 'is not a regular file'],
        ['/dev/zero', 'is outside the project folder'],
      ] as const) {
        project(`    capabilities: [catalog, discover, state]
    state: ${value}`);
        const result = await sluice('run', 'tap-fake', 'target-fake');
        expect(result.status).toBe(1);
        expect(result.stderr).toContain(
          `error: tap-fake: the state file '${value}' (the state: extra) ${why}`,
        );
        expect(result.stderr).not.toContain(root);
      }
      symlinkSync(join(outside, 'state.json'), join(root, 'linked.json'));
      project(`    capabilities: [catalog, discover, state]
    state: linked.json`);
      const linked = await sluice('run', 'tap-fake', 'target-fake');
      expect(linked.stderr).toContain(
        "the state file 'linked.json' (the state: extra) is outside the project folder",
      );
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('says which file is missing or broken, without quoting it', async () => {
    project(`    capabilities: [catalog, discover, state]
    catalog: nowhere.json`);
    const missing = await sluice('run', 'tap-fake', 'target-fake');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^error: tap-fake: the catalog file 'nowhere\.json' .* does not exist/m);
    writeFileSync(join(root, 'broken.json'), 'secret-looking text');
    project(`    capabilities: [catalog, discover, state]
    state: broken.json`);
    const broken = await sluice('run', 'tap-fake', 'target-fake');
    expect(broken.status).toBe(1);
    expect(broken.stderr).toMatch(/^error: tap-fake: the state file 'broken\.json' .* is not valid JSON/m);
    expect(broken.stderr).not.toContain('secret-looking');
    writeFileSync(join(root, 'not-a-catalog.json'), '{"tables": []}');
    project(`    capabilities: [catalog, discover, state]
    catalog: not-a-catalog.json`);
    const wrong = await sluice('run', 'tap-fake', 'target-fake');
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(
      /^error: tap-fake: the catalog file 'not-a-catalog\.json' holds JSON without a "streams" list/m,
    );
  });
});

describe('variables a plugin is started with', () => {
  it("exports every setting as Meltano does, and passes the extractor's variables on to the loader", async () => {
    project(`    namespace: tap_fake
    capabilities: [catalog, discover, state]
    settings:
    - name: count
      kind: integer
    - name: flag
    - name: labels
    - name: tags
      kind: array
    - name: record_to
    select: [numbers.n, letters.*]
    config:
      count: 2
      flag: true
      labels: [a, b]
      tags: [a, b]
      record_to: tap-calls.jsonl`);
    const result = await sluice('run', 'tap-fake', 'target-fake');
    expect(result.status).toBe(0);
    const tapEnv = syncCalls()[0]?.env ?? {};
    expect(tapEnv).toMatchObject({
      TAP_FAKE_COUNT: '2',
      MELTANO_EXTRACT_COUNT: '2',
      // A setting without a kind is written as Python's str() writes it, others as json.dumps.
      TAP_FAKE_FLAG: 'True',
      TAP_FAKE_LABELS: "['a', 'b']",
      TAP_FAKE_TAGS: '["a", "b"]',
      MELTANO_EXTRACT_RECORD_TO: 'tap-calls.jsonl',
      MELTANO_EXTRACTOR_NAME: 'tap-fake',
      MELTANO_EXTRACTOR_NAMESPACE: 'tap_fake',
      // Extras too, as JSON the way Python's json.dumps writes it.
      TAP_FAKE__SELECT: '["numbers.n", "letters.*"]',
      MELTANO_EXTRACT__LOAD_SCHEMA: 'tap_fake',
      MELTANO_ENVIRONMENT: 'dev',
    });
    const [target] = jsonLines<Invocation>('target-calls.jsonl');
    expect(target?.env).toMatchObject({
      TARGET_FAKE_PATH: 'out.jsonl',
      MELTANO_LOAD_PATH: 'out.jsonl',
      MELTANO_LOADER_NAMESPACE: 'target_fake',
      // What the extractor exports reaches the loader, as in `meltano run`.
      MELTANO_EXTRACTOR_NAME: 'tap-fake',
      MELTANO_EXTRACT__LOAD_SCHEMA: 'tap_fake',
      TAP_FAKE_COUNT: '2',
    });
    // ...and its configuration: `schema: $MELTANO_EXTRACT__LOAD_SCHEMA`.
    expect(target?.config?.schema).toBe('tap_fake');
  });
});
