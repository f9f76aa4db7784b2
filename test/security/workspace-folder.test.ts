import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeKinds } from '../helpers/test-server.js';
import { type Arena, openArena } from './paths-arena.js';

/** Everything under a folder, recursively, as sorted relative paths. */
function listing(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).sort();
}

const PROJECT = `default_environment: dev
plugins:
  extractors:
  - name: tap-csv
    config:
      files:
      - {entity: a, path: data/a.csv, keys: [id]}
  loaders:
  - name: target-jsonl
environments:
- name: dev
`;

describe.each(await storeKinds())("a workspace's folder on the server (%s)", (kind) => {
  let arena: Arena;
  beforeAll(async () => {
    arena = await openArena(kind);
  });
  afterAll(async () => {
    await arena?.close();
  });

  it('refuses a commit that tracks .sluice, here a link into another workspace folder, and writes nothing there', async () => {
    const victim = await arena.victim(`Folder victim ${kind}`);
    // The victim has run before: its folder and its own .sluice exist.
    const victimDir = arena.workDir(victim);
    mkdirSync(join(victimDir, '.sluice', 'venvs'), { recursive: true });
    writeFileSync(join(victimDir, 'meltano.yml'), 'default_environment: dev\n');
    const before = listing(victimDir);
    await arena.push({
      'meltano.yml': PROJECT,
      'data/a.csv': 'id\n1\n',
      '.sluice': { link: victimDir },
    });
    const outcome = await arena.run(['tap-csv', 'target-jsonl']);
    expect(outcome.started && outcome.status).toBe('failed');
    expect(outcome.error?.message).toContain('tracks .sluice, the folder Sluice keeps for itself');
    expect(listing(victimDir)).toEqual(before);
    // Once the link is gone from the repository, the workspace runs again.
    await arena.push({ 'meltano.yml': PROJECT, 'data/a.csv': 'id\n1\n' });
    const again = await arena.run(['tap-csv', 'target-jsonl']);
    expect(again.started && again.status).toBe('success');
    expect(listing(victimDir)).toEqual(before);
  });
});
