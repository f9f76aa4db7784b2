import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeKinds } from '../helpers/test-server.js';
import { type Arena, openArena, type ProjectFile, type RunOutcome, showsServerPaths } from './paths-arena.js';

/**
 * Finding 3 of issue 10, and the paths built from names: a plugin name with `..` and `/` (or a
 * committed link under `.sluice/venvs`) must not make the install step remove and rebuild a
 * folder outside the workspace, and `include_paths` must not read through links. The attacker
 * holds a write token for its own workspace only; each test checks the other workspace's
 * repository afterwards, byte for byte, and that it still clones.
 */

const kinds = await storeKinds();

/** A pip_url that fails fast once the virtualenv exists: what matters is what happens before. */
const PIP_URL = './no-such-package';
const CSV = 'id,name\n1,one\n';

/** A project whose plugin of `type` is named `name` (with a pip_url), beside built-in tap-csv and target-jsonl. */
function projectWith(type: 'extractors' | 'mappers' | 'loaders', name: string): string {
  const hostile = [`  ${type}:`, `  - name: '${name}'`, `    pip_url: ${PIP_URL}`];
  return [
    'version: 1',
    'default_environment: dev',
    'environments:',
    '- name: dev',
    'plugins:',
    '  extractors:',
    '  - name: tap-csv',
    '    config: {files: [{entity: people, path: data/people.csv, keys: [id]}]}',
    ...(type === 'extractors' ? hostile.slice(1) : []),
    '  loaders:',
    '  - name: target-jsonl',
    ...(type === 'loaders' ? hostile.slice(1) : []),
    ...(type === 'mappers' ? hostile : []),
    '',
  ].join('\n');
}

describe.each(kinds)('names and links cannot reach outside the workspace (%s)', (kind) => {
  let arena: Arena;
  /** Files of the server's data folder a message must never name. */
  let dataFiles: string[] = [];
  let keyPrefix = '';

  const seen = (outcome: RunOutcome) =>
    `${JSON.stringify(outcome.error)}\n${outcome.started ? outcome.log : ''}`;

  beforeAll(async () => {
    arena = await openArena(kind);
    dataFiles = readdirSync(arena.t.dataDir).filter((name) => /[.-]/.test(name));
    keyPrefix = readFileSync(join(arena.t.dataDir, 'secret.key'), 'utf8').slice(0, 10);
  });
  afterAll(async () => {
    await arena?.close();
  });

  it.each([
    ['an extractor', 'extractors', (name: string) => [name, 'target-jsonl']],
    ['a mapper', 'mappers', (name: string) => ['tap-csv', name, 'target-jsonl']],
    ['a loader', 'loaders', (name: string) => ['tap-csv', name]],
  ] as const)(
    "refuses %s named '../../../../../repos/<other>.git' with a pip_url: the other repository stays whole and clones",
    async (_what, type, blocks) => {
      const victim = await arena.victim(`Victim ${type}`);
      const before = arena.snapshot(victim);
      const main = await arena.mainOf(victim);
      const name = `../../../../../repos/${victim.repositoryName}.git`;
      await arena.push({ 'meltano.yml': projectWith(type, name), 'data/people.csv': CSV });

      const outcome = await arena.run(blocks(name));
      expect(outcome.started ? outcome.status : 'refused', seen(outcome)).not.toBe('success');
      expect(arena.snapshot(victim)).toEqual(before);
      expect(await arena.cloneMain(victim)).toBe(main);

      // The project does not load: the workspace says where, and keeps its last good commit.
      const { status } = await arena.workspace();
      expect(status?.error?.message, JSON.stringify(status)).toMatch(
        /^meltano\.yml:\d+:\d+: the plugin name '\.\.\/.*' cannot contain '\/'/,
      );
      expect(status?.lastGoodCommit).not.toBe(status?.commit);
    },
  );

  it('refuses to install through a committed link at .sluice/venvs/<type>, whatever the plugin is named', async () => {
    const victim = await arena.victim('Victim link');
    const before = arena.snapshot(victim);
    const main = await arena.mainOf(victim);
    // A plain name, valid everywhere: the link alone would lead the install into the repositories.
    const name = `${victim.repositoryName}.git`;
    const files: Record<string, ProjectFile> = {
      'meltano.yml': projectWith('extractors', name),
      'data/people.csv': CSV,
      '.sluice/venvs/extractors': { link: '../../../../repos' },
    };
    await arena.push(files);
    expect((await arena.workspace()).status?.error ?? null).toBeNull();

    const outcome = await arena.run([name, 'target-jsonl']);
    expect(arena.snapshot(victim)).toEqual(before);
    expect(await arena.cloneMain(victim)).toBe(main);
    expect(outcome.started ? outcome.status : 'refused', seen(outcome)).toBe('failed');
    // The checkout refuses a commit that tracks anything under .sluice, Sluice's own folder.
    expect(outcome.error?.message).toContain('tracks .sluice');
    expect(showsServerPaths(seen(outcome), arena.t)).toBe(false);
  });

  it('does not read an include_paths file through a link: the project stays on its last good commit', async () => {
    await arena.push({ 'meltano.yml': projectWith('loaders', 'target-own'), 'data/people.csv': CSV });
    const good = (await arena.workspace()).status;
    expect(good?.error ?? null).toBeNull();
    await arena.push({
      'meltano.yml': `include_paths: [extra.yml]\n${projectWith('loaders', 'target-own')}`,
      'data/people.csv': CSV,
      'extra.yml': { link: '../../secret.key' },
    });
    const { status } = await arena.workspace();
    // Git stores a link's target, not the file it names: the loader sees a link, never the key.
    expect(status?.error?.message).toMatch(/extra\.yml.*(link|not a regular file)/);
    expect(JSON.stringify(status)).not.toContain(keyPrefix);
    expect(showsServerPaths(JSON.stringify(status), arena.t)).toBe(false);
    expect(status?.lastGoodCommit).toBe(good?.commit);
  });

  it('does not list or read folders outside the workspace through a linked folder an include pattern walks', async () => {
    await arena.push({
      'meltano.yml': `include_paths: ['linked/*']\n${projectWith('loaders', 'target-own')}`,
      'data/people.csv': CSV,
      linked: { link: '../..' },
    });
    // In Git the link is not a folder: the pattern matches nothing, and the project loads.
    expect((await arena.workspace()).status?.error ?? null).toBeNull();
    // The run loads the project again from the workspace folder, where the link is followed.
    const outcome = await arena.run(['tap-csv', 'target-jsonl']);
    const text = seen(outcome);
    expect(outcome.started ? outcome.status : 'refused', text).toBe('success');
    for (const name of dataFiles) expect(text).not.toContain(name);
    expect(text).not.toContain(keyPrefix);
  });
});
