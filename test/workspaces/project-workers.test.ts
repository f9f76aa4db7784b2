import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commitFiles, initBareRepository } from '../../src/git/bare-repository.js';
import {
  cachedProjectLoader,
  type ProjectAt,
  type ProjectTask,
  runProjectTask,
} from '../../src/workspaces/project-tasks.js';
import { startProjectWorkers } from '../../src/workspaces/project-workers.js';
import { ALICE, tempDir } from '../git/fixture.js';
import { sharedPath } from '../helpers/shared-paths.js';

const CORPUS = sharedPath('meltano-corpus');
/** Corpus projects with include_paths, inheritance, env blocks, mappers, several environments. */
const PROJECTS = [
  'meltano__squared',
  'meltano__meltano__multifile_project',
  'meltano__meltano__env-precedence',
  'MatatikaBytes__VIEVE-yvoxmrf',
  'MTES-MCT__trackdechets-meltano-workspace',
  'meltano__hub',
];

function filesUnder(root: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files[relative(root, path)] = readFileSync(path, 'utf8');
    }
  };
  walk(root);
  return files;
}

async function committed(files: Readonly<Record<string, string>>, name = 'project'): Promise<ProjectAt> {
  const repo = join(tempDir(), `${name}.git`);
  await initBareRepository(repo);
  const commit = await commitFiles(repo, { branch: 'main', files, message: name, author: ALICE });
  return { repo, commit, display: `${name}@${commit.slice(0, 7)}` };
}

/** What a task answers, or the error it throws, as plain data. */
async function outcome(run: () => Promise<unknown>) {
  try {
    return { answer: await run() };
  } catch (error) {
    const { name, code, message, details } = error as Record<string, unknown>;
    return { error: { name, code, message, details } };
  }
}

const workers = startProjectWorkers({ size: 2 });
afterAll(() => workers.close());
const workspace = { id: 'ws_test', name: 'Test', activeEnvironment: 'dev' };

describe('project workers', () => {
  it('answer every view of corpus projects exactly as the same code does in-thread', async () => {
    const inThread = cachedProjectLoader(PROJECTS.length);
    await Promise.all(
      PROJECTS.map(async (name) => {
        const at = await committed(filesUnder(join(CORPUS, name)), name);
        const tasks: ProjectTask[] = [
          { kind: 'check', at },
          { kind: 'environments', at, workspace },
          { kind: 'configuration', at, workspace },
        ];
        const first = (await runProjectTask({ kind: 'configuration', at, workspace }, inThread)).plugins[0];
        if (first) {
          tasks.push({
            kind: 'pluginConfig',
            at,
            workspace,
            request: { plugin: first.name, type: first.type },
          });
        }
        for (const task of tasks) {
          const here = await outcome(() => runProjectTask(task, inThread));
          const there = await outcome(() => workers.run(task));
          expect(there, `${name}: ${task.kind}`).toEqual(here);
        }
      }),
    );
  }, 120_000);

  it('bring back a project error with the same code, message and details as in-thread', async () => {
    const broken = await committed({
      'meltano.yml': 'plugins:\n  extractors:\n  - name: tap-x\n     variant: x\n',
    });
    const tooDeep = await committed({ 'meltano.yml': `x: ${'['.repeat(90)}${']'.repeat(90)}\n` });
    const missing = await committed({ 'meltano.yml': 'include_paths: [nowhere.yml]\n' });
    for (const at of [broken, tooDeep, missing]) {
      const task: ProjectTask = { kind: 'configuration', at, workspace };
      const here = await outcome(() => runProjectTask(task, cachedProjectLoader(1)));
      expect(here.error?.name).toBe('SluiceError');
      expect(await outcome(() => workers.run(task))).toEqual(here);
    }
  });

  it('stop a load that runs over the time limit, and answer it as project_too_large', async () => {
    const slow = startProjectWorkers({ size: 1, taskMilliseconds: 20 });
    try {
      const lines = Array.from({ length: 45_000 }, (_, i) => `      k${i}: ${i}`);
      const at = await committed({
        'meltano.yml': ['plugins:', '  extractors:', '  - name: tap-x', '    config:', ...lines, ''].join(
          '\n',
        ),
      });
      const answer = await outcome(() => slow.run({ kind: 'configuration', at, workspace }));
      expect(answer.error).toMatchObject({
        code: 'project_too_large',
        details: { limit: 'taskMilliseconds', max: expect.any(Number) },
      });
    } finally {
      await slow.close();
    }
  });
});
