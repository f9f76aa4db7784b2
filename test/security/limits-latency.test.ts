import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedPath } from '../helpers/shared-paths.js';
import { storeKinds } from '../helpers/test-server.js';
import { aliasBomb, manyKeys } from './hostile-projects.js';
import { type LimitsServer, startLimitsServer, type TenantWorkspace, timed } from './limits-fixture.js';

const kinds = await storeKinds();

/** The slowest any request may answer while other workspaces load hostile projects. */
const SLOWEST_MS = 500;

/** 300,000 keys: five included files of 60,000, each under the file limit. */
function threeHundredThousandKeys(): Record<string, string> {
  const files: Record<string, string> = { 'meltano.yml': "version: 1\ninclude_paths: ['./keys/*.yml']\n" };
  const file = manyKeys(60_000);
  for (let i = 0; i < 5; i++) files[`keys/k${i}.yml`] = file.replace('tap-github', `tap-${i}`);
  return files;
}

describe.each(kinds)('while two workspaces load hostile projects (%s)', (kind) => {
  let server: LimitsServer;
  let bomb: TenantWorkspace;
  let keys: TenantWorkspace;
  let third: TenantWorkspace;

  beforeAll(async () => {
    server = await startLimitsServer(kind);
    bomb = await server.workspace('Bomb');
    keys = await server.workspace('Keys');
    third = await server.workspace('Third');
    // A real project: Meltano's own Hub, from the compatibility corpus.
    await third.push(
      { 'meltano.yml': readFileSync(sharedPath('meltano-corpus/meltano__hub/meltano.yml'), 'utf8') },
      'Hub',
    );
    expect((await third.configuration()).status).toBe(200);
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  it(`answers 100 health checks and 100 reads of a third workspace, each in under ${SLOWEST_MS} ms`, async () => {
    // The attack: both hostile projects pushed at once, then their configuration views asked for.
    let attacking = true;
    const attack = (async () => {
      try {
        await Promise.all([
          bomb.push({ 'meltano.yml': aliasBomb() }, 'Bomb'),
          keys.push(threeHundredThousandKeys(), '300,000 keys'),
        ]);
        await Promise.all([bomb.configuration(), keys.configuration()]);
      } finally {
        attacking = false;
      }
    })();

    // Meanwhile, every 20 ms, one request of someone else: health, the third workspace, its matrix.
    const base = `${server.url}/api/v1`;
    const reads = [
      () => timed(`${base}/health`, undefined),
      () => timed(`${base}/workspaces/${third.id}`, third.token),
      () => timed(`${base}/health`, undefined),
      () => timed(`${base}/workspaces/${third.id}/configuration`, third.token),
    ];
    const answers: Promise<{ status: number; milliseconds: number }>[] = [];
    let overlapping = 0;
    for (let i = 0; i < 200; i++) {
      if (attacking) overlapping++;
      answers.push((reads[i % reads.length] as () => Promise<{ status: number; milliseconds: number }>)());
      await sleep(20);
    }
    const results = await Promise.all(answers);
    await attack;

    expect(results.map((r) => r.status)).toEqual(Array(200).fill(200));
    const slowest = Math.max(...results.map((r) => r.milliseconds));
    console.info(`${kind}: the slowest of 200 answers took ${slowest.toFixed(0)} ms`);
    expect(slowest, `slowest of 200 answers: ${slowest.toFixed(0)} ms`).toBeLessThan(SLOWEST_MS);
    // The requests did run during the attack, not after it.
    expect(overlapping).toBeGreaterThan(20);

    // And the attack was refused, by the limits it ran into.
    for (const [workspace, limit] of [
      [bomb, 'keys'],
      [keys, 'keys'],
    ] as const) {
      const { body } = await workspace.get();
      expect(body.status.error).toMatchObject({ code: 'project_too_large' });
      expect(body.status.error?.message).toContain(`(${limit})`);
    }
  }, 120_000);
});
