import { mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../src/errors.js';
import { commitFiles, initBareRepository } from '../../src/git/bare-repository.js';
import { commitProjectSource } from '../../src/git/commit-project-source.js';
import { gitIdentityEnv, runGit } from '../../src/git/run-git.js';
import { loadProject } from '../../src/project/load.js';
import type { Project } from '../../src/project/model.js';
import { folderSource } from '../../src/project/project-source.js';
import { sharedPath } from '../helpers/shared-paths.js';
import { ALICE, tempDir } from './fixture.js';

type Files = Readonly<Record<string, string>>;

/** The same files as a folder and as a commit of a new bare repository. */
async function both(files: Files): Promise<{ folder: string; repo: string; commit: string }> {
  const folder = realpathSync(tempDir());
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(folder, path)), { recursive: true });
    writeFileSync(join(folder, path), text);
  }
  const repo = join(tempDir(), 'project.git');
  await initBareRepository(repo);
  const commit = await commitFiles(repo, { branch: 'main', files, message: 'project', author: ALICE });
  return { folder, repo, commit };
}

/**
 * Runs `load` with the folder as working directory, so that a folder source names files as a
 * commit source does (`meltano.yml`, not `/tmp/.../meltano.yml`).
 */
function inside<T>(folder: string, load: () => T): T {
  const before = process.cwd();
  process.chdir(folder);
  try {
    return load();
  } finally {
    process.chdir(before);
  }
}

/** Everything a load produced, positions included, except the root (a folder or `repo@commit`). */
function snapshot(project: Project): string {
  return JSON.stringify(project, (key, value: unknown) => {
    if (key === 'root') return undefined;
    return value instanceof Map ? Object.fromEntries(value) : value;
  });
}

function loadError(load: () => unknown): SluiceError {
  try {
    load();
  } catch (error) {
    if (error instanceof SluiceError) return error;
    throw error;
  }
  throw new Error('expected the project to fail to load');
}

const LOCK = JSON.stringify({
  name: 'tap-github',
  variant: 'meltanolabs',
  settings: [
    { name: 'auth_token', kind: 'password', sensitive: true },
    { name: 'start_date', kind: 'date_iso8601' },
  ],
});

const PROJECT: Files = {
  'meltano.yml': [
    'version: 1',
    'default_environment: dev',
    'project_id: 3f1c',
    'include_paths:',
    '- ./extract/*.meltano.yml',
    '- environments/**/*.yml',
    '- jobs/job-[0-9].yaml',
    'env:',
    '  ROOT_VAR: root',
    'plugins:',
    '  loaders:',
    '  - name: target-duckdb',
    '    config:',
    '      path: out.duckdb',
    '',
  ].join('\n'),
  'extract/github.meltano.yml': [
    'plugins:',
    '  extractors:',
    '  - name: tap-github',
    '    variant: meltanolabs',
    '    config:',
    '      repositories: [sluice/sluice]',
    '  - name: tap-github-orgs',
    '    inherit_from: tap-github',
    '',
  ].join('\n'),
  'extract/notes.md': 'not a project file\n',
  'environments/dev.yml': 'environments:\n- name: dev\n  env:\n    X: "1"\n',
  'environments/deep/er/prod.yml':
    'environments:\n- name: prod\n  config:\n    plugins:\n      extractors:\n      - name: tap-github\n        config:\n          start_date: "2024-01-01"\n',
  'jobs/job-1.yaml': 'jobs:\n- name: daily\n  tasks: [tap-github target-duckdb]\n',
  'jobs/job-x.yaml': 'jobs:\n- name: skipped\n  tasks: []\n',
  'plugins/extractors/tap-github--meltanolabs.lock': LOCK,
  'README.md': '# A project\n',
};

describe('commitProjectSource', () => {
  it('loads a multi-file project from a commit exactly as from a folder', async () => {
    const { folder, repo, commit } = await both(PROJECT);
    const fromFolder = inside(folder, () => loadProject(folderSource(folder)));
    const fromGit = loadProject(await commitProjectSource(repo, commit));
    expect(fromGit.root).toBe(`${repo}@${commit}`);
    expect(fromGit.files).toEqual([
      'meltano.yml',
      'extract/github.meltano.yml',
      'environments/deep/er/prod.yml',
      'environments/dev.yml',
      'jobs/job-1.yaml',
    ]);
    expect(fromGit.lockedDefinitions.get('extractors/tap-github')?.settings.map((s) => s.name)).toEqual([
      'auth_token',
      'start_date',
    ]);
    expect(snapshot(fromGit)).toBe(snapshot(fromFolder));
  });

  it('loads every project of the Meltano corpus from Git exactly as from its folder', async () => {
    const corpus = sharedPath('meltano-corpus');
    const names = readdirSync(corpus).filter((d) => statSync(join(corpus, d)).isDirectory());
    const repo = join(tempDir(), 'corpus.git');
    await initBareRepository(repo);
    for (const name of names) {
      const root = join(corpus, name);
      const files = Object.fromEntries(
        readdirSync(root, { recursive: true, encoding: 'utf8' })
          .filter((path) => statSync(join(root, path)).isFile())
          .map((path) => [path, readFileSync(join(root, path), 'utf8')]),
      );
      const commit = await commitFiles(repo, { branch: name, files, message: name, author: ALICE });
      const fromFolder = inside(root, () => loadProject(folderSource(root)));
      const fromGit = loadProject(await commitProjectSource(repo, commit, `${name}@${commit.slice(0, 7)}`));
      expect(snapshot(fromGit), name).toBe(snapshot(fromFolder));
    }
  });

  it.each<[string, Files]>([
    ['a YAML syntax error', { 'meltano.yml': 'plugins:\n  extractors:\n  - name: [unclosed\n' }],
    [
      'a duplicate plugin in an included file',
      {
        'meltano.yml': 'include_paths: [conf/*.yml]\nplugins:\n  extractors:\n  - name: tap-a\n',
        'conf/more.yml': 'plugins:\n  extractors:\n  - name: tap-b\n  - name: tap-a\n',
      },
    ],
    ['a missing include', { 'meltano.yml': 'include_paths:\n- conf/none.yml\n' }],
    ['a folder as an include', { 'meltano.yml': 'include_paths:\n- conf\n', 'conf/a.yml': 'env: {}\n' }],
  ])('reports %s at the same file:line:column as a folder does', async (_, files) => {
    const { folder, repo, commit } = await both(files);
    const fromFolder = inside(folder, () => loadError(() => loadProject(folderSource(folder))));
    const source = await commitProjectSource(repo, commit);
    const fromGit = loadError(() => loadProject(source));
    expect(fromGit.message).toMatch(/^(meltano|conf\/more)\.yml:\d+:\d+: /);
    expect(fromGit.message).toBe(fromFolder.message);
    expect(fromGit.code).toBe(fromFolder.code);
    expect(fromGit.details).toEqual(fromFolder.details);
  });

  it('refuses symbolic links and submodules as includes, since Git stores no content for them', async () => {
    const repo = join(tempDir(), 'links.git');
    await initBareRepository(repo);
    const git = async (args: string[], input?: string) =>
      (await runGit(args, { gitDir: repo, input, env: gitIdentityEnv(ALICE.name, ALICE.email) }))
        .toString('utf8')
        .trim();
    const yaml = await git(['hash-object', '-w', '--stdin'], 'include_paths: [conf/*.yml]\n');
    const target = await git(['hash-object', '-w', '--stdin'], 'real.yml');
    const real = await git(['hash-object', '-w', '--stdin'], 'env: {}\n');
    const mktree = (entries: string[]) => git(['mktree', '-z'], entries.map((e) => `${e}\u0000`).join(''));
    const conf = await mktree([
      `120000 blob ${target}\tlink.yml`,
      `160000 commit ${'a'.repeat(40)}\tsub.yml`,
      `100644 blob ${real}\treal.yml`,
    ]);
    const tree = await mktree([`100644 blob ${yaml}\tmeltano.yml`, `040000 tree ${conf}\tconf`]);
    const commit = await git(['commit-tree', tree], 'links\n');

    const source = await commitProjectSource(repo, commit);
    expect(source.glob('conf/*.yml')).toEqual(['conf/link.yml', 'conf/real.yml', 'conf/sub.yml']);
    expect(source.checkInclude('conf/real.yml')).toBeUndefined();
    expect(source.checkInclude('conf/link.yml')).toBe('not_a_file');
    expect(source.checkInclude('conf/sub.yml')).toBe('not_a_file');
    expect(source.checkInclude('conf')).toBe('not_a_file');
    expect(source.checkInclude('conf/nope.yml')).toBe('missing');
    const error = loadError(() => loadProject(source));
    expect(error.code).toBe('include_path_invalid');
    expect(error.message).toBe(
      "meltano.yml:1:17: include path 'conf/*.yml' matches conf/link.yml, which is not a regular file.",
    );
  });

  it('lists folders, matches globs over files and folders, and reads only what it preloaded', async () => {
    const { folder, repo, commit } = await both(PROJECT);
    const source = await commitProjectSource(repo, commit);
    const disk = folderSource(folder);
    for (const dir of ['', 'extract', 'plugins/extractors', 'environments/deep', 'missing']) {
      expect(source.list(dir), dir).toEqual(disk.list(dir).sort());
    }
    for (const pattern of ['**', 'environments/**', '*/*.yml', 'jobs/job-?.yaml', 'plugins/**/*.lock']) {
      expect(source.glob(pattern), pattern).toEqual(disk.glob(pattern));
    }
    expect(source.read('./environments/dev.yml')).toBe(PROJECT['environments/dev.yml']);
    expect(source.read('nope.yml')).toBeUndefined();
    expect(() => source.read('README.md')).toThrow(/only \.yml and \.yaml files/);
    expect(source.display('conf/a.yml')).toBe('conf/a.yml');
  });

  it('names the commit when it holds no meltano.yml', async () => {
    const { repo, commit } = await both({ 'other.yml': 'x: 1\n' });
    const source = await commitProjectSource(repo, commit, 'sales@abc1234');
    const error = loadError(() => loadProject(source));
    expect(error.code).toBe('project_not_found');
    expect(error.message).toBe('No meltano.yml in sales@abc1234.');
  });
});
