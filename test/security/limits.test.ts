import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeKinds } from '../helpers/test-server.js';
import {
  aliasBomb,
  backtrackingGlob,
  deepNesting,
  dottedDepth,
  heavyIncludes,
  hugeFile,
  hugeMatrix,
  includeFanOut,
  longInheritance,
  manyAliases,
  manyIncludePatterns,
  manyKeys,
  mergeBomb,
  stringAliasBomb,
} from './hostile-projects.js';
import {
  GOOD_PROJECT,
  type LimitsServer,
  startLimitsServer,
  type TenantWorkspace,
  timed,
  type WorkspaceBody,
} from './limits-fixture.js';

const kinds = await storeKinds();

interface Attack {
  readonly what: string;
  readonly files: () => Record<string, string>;
  /**
   * Also attacked on PostgreSQL. Where the attack is refused does not depend on the store; what
   * the workspace shows (its status, kept in the store) is checked on both with these.
   */
  readonly bothStores?: boolean;
  /** The limit the error names (`PROJECT_LIMITS` key). */
  readonly limit: string;
  /** The file the error names. */
  readonly file: string;
  /** The error has a line and column (where the parse stopped). */
  readonly located?: boolean;
}

const ATTACKS: readonly Attack[] = [
  {
    what: 'an alias bomb (billion laughs)',
    files: () => ({ 'meltano.yml': aliasBomb() }),
    bothStores: true,
    limit: 'keys',
    file: 'meltano.yml',
  },
  {
    what: 'a long string aliased many times',
    files: () => ({ 'meltano.yml': stringAliasBomb() }),
    limit: 'expandedChars',
    file: 'meltano.yml',
  },
  {
    what: 'more aliases than any configuration needs',
    files: () => ({ 'meltano.yml': manyAliases() }),
    limit: 'aliases',
    file: 'meltano.yml',
    located: true,
  },
  {
    what: 'a merge-key bomb',
    files: () => ({ 'meltano.yml': mergeBomb() }),
    limit: 'mergedKeys',
    file: 'meltano.yml',
    located: true,
  },
  {
    what: 'mappings nested 90 deep',
    files: () => ({ 'meltano.yml': deepNesting() }),
    limit: 'depth',
    file: 'meltano.yml',
    located: true,
  },
  {
    what: 'a key of 100 dotted parts',
    files: () => ({ 'meltano.yml': dottedDepth() }),
    limit: 'depth',
    file: 'meltano.yml',
  },
  {
    what: '55,000 keys in one plugin',
    files: () => ({ 'meltano.yml': manyKeys() }),
    limit: 'keys',
    file: 'meltano.yml',
  },
  {
    what: 'a 2 MB meltano.yml',
    files: () => ({ 'meltano.yml': hugeFile() }),
    bothStores: true,
    limit: 'fileBytes',
    file: 'meltano.yml',
  },
  {
    what: 'include_paths that reach 260 files',
    files: () => includeFanOut(),
    bothStores: true,
    limit: 'includedFiles',
    file: 'meltano.yml',
    located: true,
  },
  {
    what: '150 include_paths patterns',
    files: () => manyIncludePatterns(),
    limit: 'includePatterns',
    file: 'meltano.yml',
    located: true,
  },
  {
    what: 'included files of 4.5 MB together',
    files: () => heavyIncludes(),
    limit: 'projectBytes',
    file: 'heavy/h4.yml',
  },
  {
    what: 'an inherit_from chain of 13 plugins',
    files: () => ({ 'meltano.yml': longInheritance() }),
    limit: 'inheritance',
    file: 'meltano.yml',
    located: true,
  },
];

describe.each(kinds)('a workspace pushes a project built to stall the server (%s)', (kind) => {
  let server: LimitsServer;
  let attacker: TenantWorkspace;
  let bystander: TenantWorkspace;
  let bystanderBefore: { workspace: unknown; configuration: unknown };

  const snapshot = async (workspace: TenantWorkspace) => ({
    workspace: (await workspace.get()).body,
    configuration: (await workspace.configuration()).body,
  });
  const statusOf = async (workspace: TenantWorkspace): Promise<WorkspaceBody['status']> => {
    const answer = await workspace.get();
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body.status;
  };
  /** The server answers, and the other workspace is exactly as it was. */
  const expectNothingElseChanged = async () => {
    expect((await timed(`${server.url}/api/v1/health`, undefined)).status).toBe(200);
    expect(await snapshot(bystander)).toEqual(bystanderBefore);
  };

  beforeAll(async () => {
    server = await startLimitsServer(kind);
    attacker = await server.workspace('Attacker');
    bystander = await server.workspace('Bystander');
    await attacker.push({ 'meltano.yml': GOOD_PROJECT }, 'A good project');
    await bystander.push({ 'meltano.yml': GOOD_PROJECT }, 'A good project');
    bystanderBefore = await snapshot(bystander);
    expect((await bystander.configuration()).status).toBe(200);
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  it.each(ATTACKS.filter((attack) => kind === 'sqlite' || attack.bothStores))(
    'refuses $what as project_too_large ($limit), keeps running the last good commit, and stalls nothing',
    async (attack) => {
      const good = (await statusOf(attacker)).lastGoodCommit;
      const hostile = await attacker.push(attack.files(), attack.what);

      const status = await statusOf(attacker);
      expect(status).toEqual({
        commit: hostile,
        lastGoodCommit: good,
        error: expect.objectContaining({ code: 'project_too_large', commit: hostile, file: attack.file }),
      });
      expect(status.error?.message).toContain(`(${attack.limit})`);
      if (attack.located) {
        expect(status.error).toMatchObject({ line: expect.any(Number), column: expect.any(Number) });
        expect(status.error?.message).toMatch(new RegExp(`^${attack.file}:${status.error?.line}:`));
      }
      // The workspace keeps answering from its last good commit.
      const configuration = await attacker.configuration();
      expect(configuration.status).toBe(200);
      expect(configuration.body.commit).toBe(good);
      await expectNothingElseChanged();
    },
    60_000,
  );

  it('matches include_paths without backtracking: a pattern of 16 ** against a deep folder costs nothing', async () => {
    const hostile = await attacker.push(backtrackingGlob(), 'A glob that backtracks');
    // The pattern matches no file (a warning, not an error): the project loads, at once.
    expect(await statusOf(attacker)).toEqual({ commit: hostile, lastGoodCommit: hostile, error: null });
    await expectNothingElseChanged();
  }, 60_000);

  it('refuses a configuration view too large to compute, and still shows one plugin at a time', async () => {
    const wide = await attacker.push({ 'meltano.yml': hugeMatrix() }, 'Four hundred environments');
    expect(await statusOf(attacker)).toEqual({ commit: wide, lastGoodCommit: wide, error: null });
    const matrix = await attacker.configuration();
    expect(matrix.status).toBe(422);
    expect(matrix.body).toMatchObject({
      error: { code: 'project_too_large', details: { limit: 'viewValues', max: 150_000 } },
    });
    const one = await fetch(
      `${server.url}/api/v1/workspaces/${attacker.id}/plugins/tap-wide/config?environment=e7`,
      {
        headers: { authorization: `Bearer ${attacker.token}` },
      },
    );
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ environment: 'e7', config: { s0: 0, s399: 399 } });
    await expectNothingElseChanged();
  }, 60_000);

  it('keeps answering while a promotion preview diffs a wide project in every environment', async () => {
    // 370 settings in 400 environments on both sides, one value apart: within every limit, the
    // largest view, seconds of resolving, and a small answer.
    const target = await server.workspace('Wide target');
    await target.push({ 'meltano.yml': hugeMatrix(370) }, 'Four hundred environments');
    await attacker.push({ 'meltano.yml': hugeMatrix(370).replace('s7: 7', 's7: 8') }, 'One change');
    const preview = fetch(
      `${server.url}/api/v1/workspaces/${target.id}/promotions/preview?source=${attacker.id}&allEnvironments=true`,
      { headers: { authorization: `Bearer ${server.adminToken}` } },
    ).then(async (response) => ({
      status: response.status,
      body: (await response.json()) as { configDiffByEnvironment: { plugins: unknown[] }[]; error?: unknown },
    }));
    let done = false;
    void preview.finally(() => {
      done = true;
    });
    const slowest: number[] = [];
    while (!done) {
      slowest.push((await timed(`${server.url}/api/v1/health`, undefined)).milliseconds);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const answer = await preview;
    // Computed in a project worker: the diff (s7 in every environment), or the worker's limit.
    if (answer.status === 200) {
      expect(answer.body.configDiffByEnvironment).toHaveLength(400);
      for (const diff of answer.body.configDiffByEnvironment) expect(diff.plugins).toHaveLength(1);
    } else expect(answer.body).toMatchObject({ error: { code: 'project_too_large' } });
    expect(Math.max(...slowest), `${slowest.length} health checks`).toBeLessThan(500);
    await expectNothingElseChanged();
  }, 60_000);

  it('recovers as soon as a good project is pushed again', async () => {
    const fixed = await attacker.push(
      { 'meltano.yml': GOOD_PROJECT.replace('acme/dev', 'acme/fixed') },
      'Fix',
    );
    expect(await statusOf(attacker)).toEqual({ commit: fixed, lastGoodCommit: fixed, error: null });
    const configuration = await attacker.configuration();
    expect(configuration.status).toBe(200);
    expect(configuration.body.commit).toBe(fixed);
  }, 60_000);
});
