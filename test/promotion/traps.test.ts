import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { commitProjectSource } from '../../src/git/commit-project-source.js';
import { loadProject } from '../../src/project/load.js';
import { mergeTheirs } from '../../src/promotion/git-merge.js';
import { type PlanOptions, planPromotion } from '../../src/promotion/plan-promotion.js';
import { openScratchRepository } from '../../src/promotion/scratch-repository.js';
import { openStore, type Store } from '../../src/store/open-store.js';
import type { WorkspaceRow } from '../../src/store/workspaces.js';
import type { WorkspaceContext } from '../../src/workspaces/context.js';
import {
  buildPair,
  commitEdit,
  fileAt,
  mustGit,
  type RepoPair,
  stockGit,
  stockMergeTheirs,
  tempDir,
  treeListing,
} from './repo-pair.js';

let store: Store;
beforeAll(async () => {
  store = await openStore({ dataDir: tempDir('sluice-store-') });
});
afterAll(async () => {
  await store?.close();
});

function row(name: string, activeEnvironment: string | null): WorkspaceRow {
  const now = new Date().toISOString();
  return {
    id: `ws_${name}`,
    name,
    repository_name: name,
    active_environment: activeEnvironment,
    created_at: now,
    updated_at: now,
    checked_commit: null,
    last_good_commit: null,
    config_error: null,
    version: 1,
    protected: 0,
    owned_keys: null,
    schedules_enabled: null,
    upstream_workspace_id: null,
    required_approvals: null,
  };
}

/**
 * Plans the promotion of the pair's source into its target as workspaces: both `main`s pushed
 * into bare repositories where the server keeps them, the plan made in a scratch repository (kept
 * until the end of the file so the result can be read).
 */
async function planFor(pair: RepoPair, options: PlanOptions & { readonly activeEnvironment?: string } = {}) {
  const root = dirname(pair.target);
  const reposDir = join(root, 'repos');
  for (const [name, dir, commit] of [
    ['target', pair.target, pair.targetCommit],
    ['source', pair.source, pair.sourceCommit],
  ] as const) {
    const bare = join(reposDir, `${name}.git`);
    await mustGit(root, 'init', '--quiet', '--bare', '--template=', bare);
    // The commits the pair was built with (a stock merge may since have moved the target's main).
    await mustGit(dir, 'push', '--quiet', bare, `${commit}:refs/heads/main`);
  }
  const context: WorkspaceContext = { store, reposDir, publicUrl: 'http://127.0.0.1:1' };
  const scratch = await openScratchRepository(join(root, 'tmp'), [
    join(reposDir, 'target.git'),
    join(reposDir, 'source.git'),
  ]);
  const plan = await planPromotion(
    context,
    scratch,
    row('source', 'dev'),
    row('target', options.activeEnvironment ?? 'dev'),
    options,
  );
  return {
    plan,
    /** A file of the result, or null. */
    read: (path: string) => fileAt(scratch.path, plan.resultTree, path),
    listing: () => treeListing(scratch.path, plan.resultTree),
    /** The result loaded as Sluice loads a workspace's project. */
    load: async () => loadProject(await commitProjectSource(scratch.path, plan.resultTree, 'result')),
    codes: () => plan.warnings.map((w) => w.code),
  };
}

const PROJECT = (extra = '') => `version: 1
default_environment: dev
project_id: 11111111-1111-1111-1111-111111111111
environments:
- name: dev
- name: staging
- name: prod
plugins:
  extractors:
  - name: tap-a
    pip_url: tap-a
  - name: tap-b
    pip_url: tap-b
${extra}`;

describe('the traps of the page\'s "git pull -X theirs" recipe', () => {
  describe("the machine's git configuration", () => {
    const saved = { ...process.env };
    afterEach(() => {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    });

    it('does not matter: pull fails without a rebase setting and rebases the wrong way with pull.rebase=true; Sluice merges the same either way', async () => {
      const lines = (edit: Record<number, string> = {}) =>
        Array.from({ length: 12 }, (_, i) => `${edit[i + 1] ?? `line ${i + 1}`}\n`).join('');
      const pair = await buildPair({
        base: (t) => {
          t.write('model.sql', 'select 1\nfrom base\n');
          t.write('disjoint.sql', lines());
          t.write('old.sql', lines());
        },
        target: (t) => {
          t.write('model.sql', 'select 1\nfrom target\n');
          t.write('disjoint.sql', lines({ 2: 'target' }));
          t.write('old.sql', lines({ 3: 'target' }));
        },
        source: (t) => {
          t.write('model.sql', 'select 1\nfrom source\n');
          t.write('disjoint.sql', lines({ 11: 'source' }));
          t.move('old.sql', 'new.sql');
        },
      });
      const pull = (...config: string[]) =>
        stockGit(
          pair.target,
          ...config,
          'pull',
          '-X',
          'theirs',
          '--allow-unrelated-histories',
          pair.source,
          'main',
        );

      // git 2.39 refuses outright: divergent branches need --no-rebase or a pull.rebase setting.
      const refused = await pull();
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/divergent branches/);
      expect(await mustGit(pair.target, 'rev-parse', 'HEAD')).toBe(pair.targetCommit);

      // With pull.rebase=true, "theirs" is the target's commit being replayed: the target wins.
      const rebased = await pull('-c', 'pull.rebase=true');
      expect(rebased.code, rebased.stderr).toBe(0);
      expect(await fileAt(pair.target, 'HEAD', 'model.sql')).toBe('select 1\nfrom target\n');
      await mustGit(pair.target, 'reset', '--quiet', '--hard', pair.targetCommit);

      // Sluice never reads the user's or the machine's configuration, however hostile: a stock
      // `git merge -X theirs` under this one drops the target's disjoint edit (`* merge=binary`).
      const home = tempDir('sluice-home-');
      const config = join(home, '.gitconfig');
      writeFileSync(join(home, 'attributes'), '* merge=binary\n');
      writeFileSync(
        config,
        `[pull]\n\trebase = true\n[merge]\n\trenames = false\n\tconflictStyle = diff3\n[core]\n\tattributesFile = ${join(home, 'attributes')}\n`,
      );
      Object.assign(process.env, { HOME: home, GIT_CONFIG_GLOBAL: config, XDG_CONFIG_HOME: home });
      const merge = await mergeTheirs(`${pair.target}/.git`, pair.targetCommit, pair.sourceCommit);
      const stock = await stockMergeTheirs(pair);
      expect(stock.resolved).toBe(true);
      expect(merge.tree).toBe(stock.tree);
      expect(merge.conflicts).toEqual([]);
      expect(await fileAt(pair.target, merge.tree, 'model.sql')).toBe('select 1\nfrom source\n');
      expect(await fileAt(pair.target, merge.tree, 'disjoint.sql')).toBe(
        lines({ 2: 'target', 11: 'source' }),
      );
      expect(await fileAt(pair.target, merge.tree, 'new.sql')).toBe(lines({ 3: 'target' }));
    });
  });

  it("modify/delete, which -X theirs leaves unresolved: the source's side wins and is reported", async () => {
    const pair = await buildPair({
      base: (t) => {
        t.write('edited-by-target.sql', 'select 1\n');
        t.write('edited-by-source.sql', 'select 2\n');
      },
      target: (t) => {
        t.write('edited-by-target.sql', 'select 1 -- target\n');
        t.remove('edited-by-source.sql');
      },
      source: (t) => {
        t.remove('edited-by-target.sql');
        t.write('edited-by-source.sql', 'select 2 -- source\n');
      },
    });
    const merge = await mergeTheirs(`${pair.target}/.git`, pair.targetCommit, pair.sourceCommit);
    expect(merge.conflicts.map((c) => [c.path, c.kind, c.target !== null, c.source !== null]).sort()).toEqual(
      [
        ['edited-by-source.sql', 'modify/delete', false, true],
        ['edited-by-target.sql', 'modify/delete', true, false],
      ],
    );
    expect(Object.keys(await treeListing(pair.target, merge.tree))).toEqual(['edited-by-source.sql']);
    expect(await fileAt(pair.target, merge.tree, 'edited-by-source.sql')).toBe('select 2 -- source\n');
    expect((await stockMergeTheirs(pair)).resolved).toBe(false);

    const { plan } = await planFor(pair);
    expect(
      plan.conflicts.map((c) => [c.path, c.kind, c.resolution, c.targetText, c.sourceText]).sort(),
    ).toEqual([
      ['edited-by-source.sql', 'modify/delete', 'source', null, 'select 2 -- source\n'],
      ['edited-by-target.sql', 'modify/delete', 'source', 'select 1 -- target\n', null],
    ]);
    expect(plan.files.map((f) => [f.path, f.status])).toEqual([
      ['edited-by-source.sql', 'added'],
      ['edited-by-target.sql', 'deleted'],
    ]);
  });

  it("rename/delete, which -X theirs leaves unresolved: the source's side wins and is reported", async () => {
    const pair = await buildPair({
      base: (t) => {
        t.write('renamed-by-source.sql', 'select 1\nfrom a\nwhere x\n');
        t.write('renamed-by-target.sql', 'select 2\nfrom b\nwhere y\n');
      },
      target: (t) => {
        t.remove('renamed-by-source.sql');
        t.move('renamed-by-target.sql', 'target-name.sql');
      },
      source: (t) => {
        t.move('renamed-by-source.sql', 'source-name.sql');
        t.remove('renamed-by-target.sql');
      },
    });
    const merge = await mergeTheirs(`${pair.target}/.git`, pair.targetCommit, pair.sourceCommit);
    expect(merge.conflicts.map((c) => [c.path, c.kind]).sort()).toEqual([
      ['source-name.sql', 'rename/delete'],
      ['target-name.sql', 'rename/delete'],
    ]);
    // The source renamed one file (kept, under its new name) and deleted the other (gone).
    expect(Object.keys(await treeListing(pair.target, merge.tree))).toEqual(['source-name.sql']);
    expect((await stockMergeTheirs(pair)).resolved).toBe(false);
  });

  it("file/directory, which -X theirs leaves unresolved: the source's side wins, in both directions", async () => {
    const pair = await buildPair({
      base: (t) => {
        t.write('docs', 'a file\n');
        t.write('macros/m.sql', 'm\n');
      },
      target: (t) => {
        t.write('docs', 'a file, edited by the target\n');
        t.write('macros/m.sql', 'm by target\n');
      },
      source: (t) => {
        t.remove('docs');
        t.write('docs/index.md', '# Docs\n');
        t.remove('macros');
        t.write('macros', 'now a file\n');
      },
    });
    const merge = await mergeTheirs(`${pair.target}/.git`, pair.targetCommit, pair.sourceCommit);
    expect(await treeListing(pair.target, merge.tree)).toEqual(await treeListing(pair.source, 'HEAD^{tree}'));
    // Reported under each path's own name (Git moves the file side aside to `path~<commit>`).
    expect(merge.conflicts.map((c) => [c.path, c.kind, c.target !== null, c.source !== null])).toEqual([
      ['docs', 'file/directory', true, false],
      ['macros/m.sql', 'modify/delete', true, false],
      ['macros', 'file/directory', false, true],
    ]);
    expect((await stockMergeTheirs(pair)).resolved).toBe(false);
  });

  it("file/directory in unrelated histories: the source's side wins, in both directions", async () => {
    const pair = await buildPair({
      target: (t) => {
        t.write('docs', 'a file\n');
        t.write('macros/m.sql', 'm\n');
      },
      source: (t) => {
        t.write('docs/index.md', '# Docs\n');
        t.write('macros', 'a file\n');
      },
    });
    const merge = await mergeTheirs(`${pair.target}/.git`, pair.targetCommit, pair.sourceCommit);
    expect(await treeListing(pair.target, merge.tree)).toEqual(await treeListing(pair.source, 'HEAD^{tree}'));
    expect(merge.conflicts.map((c) => [c.path, c.kind])).toEqual([
      ['docs', 'file/directory'],
      ['macros', 'file/directory'],
    ]);
    expect((await stockMergeTheirs(pair)).resolved).toBe(false);

    // The target's macros/m.sql gives way to the source's file: it does not "stay".
    const { plan } = await planFor(pair);
    expect(plan.files.map((f) => [f.path, f.status])).toEqual([
      ['docs', 'deleted'],
      ['docs/index.md', 'added'],
      ['macros', 'added'],
      ['macros/m.sql', 'deleted'],
    ]);
    expect(plan.warnings.filter((w) => w.code === 'target_only_file').map((w) => w.path)).toEqual([]);
    expect(plan.conflicts.map((c) => [c.path, c.resolution])).toEqual([
      ['docs', 'source'],
      ['macros', 'source'],
    ]);
  });

  it('files only the target has stay and are reported; --delete-target-only removes them', async () => {
    const pair = await buildPair({
      base: (t) => {
        t.write('meltano.yml', PROJECT());
        t.write('shared.sql', 'shared\n');
        t.write('dropped-by-source.sql', 'x\n');
      },
      target: (t) => {
        t.write('target-only.sql', 'mine\n');
        t.write('notes/target-only.md', 'mine\n');
      },
      source: (t) => {
        t.remove('dropped-by-source.sql');
        t.write('source-only.sql', 'new\n');
      },
    });
    const kept = await planFor(pair);
    expect(kept.plan.warnings.filter((w) => w.code === 'target_only_file').map((w) => w.path)).toEqual([
      'notes/target-only.md',
      'target-only.sql',
    ]);
    expect(kept.plan.files.map((f) => [f.path, f.status])).toEqual([
      ['dropped-by-source.sql', 'deleted'],
      ['source-only.sql', 'added'],
    ]);

    const removed = await planFor(pair, { deleteTargetOnly: true });
    expect(removed.codes()).not.toContain('target_only_file');
    expect(removed.plan.files.map((f) => [f.path, f.status])).toEqual([
      ['dropped-by-source.sql', 'deleted'],
      ['notes/target-only.md', 'deleted'],
      ['source-only.sql', 'added'],
      ['target-only.sql', 'deleted'],
    ]);
    expect(Object.keys(await removed.listing()).sort()).toEqual([
      'meltano.yml',
      'shared.sql',
      'source-only.sql',
    ]);
  });

  it('counts as target-only what the source never had since the last promotion', async () => {
    const pair = await buildPair({
      target: (t) => {
        t.write('target-old.sql', 'old\n');
        t.write('shared.sql', 'target\n');
      },
      source: (t) => {
        t.write('shared.sql', 'source\n');
        t.write('retired.sql', 'retired\n');
      },
    });
    // The last promotion: a merge commit whose parents are the target and the source, as Sluice writes it.
    expect((await stockMergeTheirs(pair)).resolved).toBe(true);
    const targetCommit = await commitEdit(pair.target, (t) => t.write('target-new.sql', 'new\n'), 'after');
    const sourceCommit = await commitEdit(pair.source, (t) => t.remove('retired.sql'), 'retire');
    const next = { ...pair, targetCommit, sourceCommit };

    const kept = await planFor(next);
    expect(kept.plan.files.map((f) => [f.path, f.status])).toEqual([['retired.sql', 'deleted']]);
    expect(kept.plan.warnings.filter((w) => w.code === 'target_only_file').map((w) => w.path)).toEqual([
      'target-new.sql',
      'target-old.sql',
    ]);
    const removed = await planFor(next, { deleteTargetOnly: true });
    expect(Object.keys(await removed.listing())).toEqual(['shared.sql']);
  });

  it('reports a target edit dropped in favour of the source in the same hunk, in any file and in meltano.yml', async () => {
    const pair = await buildPair({
      base: (t) => {
        t.write('meltano.yml', PROJECT());
        t.write('transform/model.sql', 'select\n  a,\n  b\nfrom t\n');
        t.write('untouched.sql', 'select 1\n');
      },
      target: (t) => {
        t.write('meltano.yml', PROJECT().replace('pip_url: tap-a', 'pip_url: tap-a==1.0'));
        t.write('transform/model.sql', 'select\n  a,\n  b as target_b\nfrom t\n');
      },
      source: (t) => {
        t.write('meltano.yml', PROJECT().replace('pip_url: tap-a', 'pip_url: tap-a==2.0'));
        t.write('transform/model.sql', 'select\n  a,\n  b as source_b\nfrom t\n');
      },
    });
    const { plan, read } = await planFor(pair);
    expect(await read('transform/model.sql')).toBe('select\n  a,\n  b as source_b\nfrom t\n');
    expect(await read('meltano.yml')).toContain('pip_url: tap-a==2.0');
    const overridden = plan.warnings.filter((w) => w.code === 'target_edit_overridden');
    expect(overridden.map((w) => w.path).sort()).toEqual(['meltano.yml', 'transform/model.sql']);
    expect(overridden.find((w) => w.path === 'meltano.yml')?.message).toContain('tap-a==1.0');
    expect(plan.conflicts).toEqual([]);
  });

  it('merges meltano.yml by name where a line merge would duplicate a plugin, and the result loads', async () => {
    const pair = await buildPair({
      base: (t) => t.write('meltano.yml', PROJECT()),
      // The same plugin added at different places: lines merge cleanly into two entries.
      target: (t) =>
        t.write(
          'meltano.yml',
          `${PROJECT()}  - name: tap-new\n    pip_url: tap-new\n    config:\n      from: target\n      target_only: 1\n`,
        ),
      source: (t) =>
        t.write(
          'meltano.yml',
          PROJECT().replace(
            '  extractors:\n',
            '  extractors:\n  - name: tap-new\n    pip_url: tap-new\n    config:\n      from: source\n  - name: tap-source\n    pip_url: tap-source\n',
          ),
        ),
    });
    // Stock git merges by line, silently, into a project that no longer loads.
    const merge = await mergeTheirs(`${pair.target}/.git`, pair.targetCommit, pair.sourceCommit);
    const stock = await stockMergeTheirs(pair);
    expect(stock.resolved).toBe(true);
    expect((await fileAt(pair.target, stock.tree, 'meltano.yml'))?.match(/name: tap-new/g)).toHaveLength(2);
    expect(merge.tree).toBe(stock.tree);

    const { plan, read, load } = await planFor(pair);
    const text = (await read('meltano.yml')) ?? '';
    expect(text.match(/name: tap-new/g)).toHaveLength(1);
    const project = await load();
    expect(project.plugins.map((p) => p.name)).toEqual(['tap-new', 'tap-source', 'tap-a', 'tap-b']);
    expect(project.plugins.find((p) => p.name === 'tap-new')?.raw.config).toEqual({
      from: 'source',
      target_only: 1,
    });
    expect(plan.warnings.filter((w) => w.code === 'target_edit_overridden').map((w) => w.message)).toEqual([
      expect.stringContaining('plugins.extractors[tap-new].config.from'),
    ]);
  });

  it('checks that the result loads: a source meltano.yml that does not parse is reported, not accepted silently', async () => {
    const pair = await buildPair({
      base: (t) => t.write('meltano.yml', PROJECT()),
      target: (t) =>
        t.write('meltano.yml', PROJECT().replace('- name: prod', '- name: prod\n  env: {A: "1"}')),
      source: (t) =>
        t.write('meltano.yml', `${PROJECT()}  - name: tap-broken\n    config: {unclosed: [1, 2\n`),
    });
    const { plan, load } = await planFor(pair);
    await expect(load()).rejects.toThrow(/meltano\.yml/);
    const invalid = plan.warnings.filter((w) => w.code === 'result_invalid');
    expect(invalid).toHaveLength(1);
    expect(invalid[0]?.message).toMatch(/does not load/);
    expect(invalid[0]?.path).toBe('meltano.yml');
  });

  it("warns when the target's active environment is missing from the merged meltano.yml", async () => {
    const pair = await buildPair({
      base: (t) => t.write('meltano.yml', PROJECT()),
      target: (t) => t.write('shared.sql', 'x\n'),
      source: (t) => t.write('meltano.yml', PROJECT().replace('- name: staging\n', '')),
    });
    const staging = await planFor(pair, { activeEnvironment: 'staging' });
    expect(staging.plan.warnings.filter((w) => w.code === 'environment_missing')).toEqual([
      expect.objectContaining({ message: expect.stringContaining("'staging'") }),
    ]);
    expect(staging.plan.configDiff.environment).toBeNull();
    const prod = await planFor(pair, { activeEnvironment: 'prod' });
    expect(prod.codes()).not.toContain('environment_missing');
  });

  it("warns when a plugin's settings_group_validation has no complete group in the target's active environment", async () => {
    const tapAuth = `  - name: tap-auth
    pip_url: tap-auth
    settings:
    - name: domain
    - name: client_id
    settings_group_validation:
    - [domain, client_id]
`;
    const envConfig = (name: string, config: string) =>
      `- name: ${name}\n  config:\n    plugins:\n      extractors:\n      - name: tap-auth\n        config:\n${config}`;
    const pair = await buildPair({
      base: (t) => t.write('meltano.yml', PROJECT()),
      target: (t) => t.write('shared.sql', 'x\n'),
      source: (t) =>
        t.write(
          'meltano.yml',
          PROJECT(tapAuth)
            .replace(
              '- name: dev\n',
              envConfig('dev', '          domain: dev.example.com\n          client_id: abc\n'),
            )
            .replace('- name: staging\n', envConfig('staging', '          domain: staging.example.com\n')),
        ),
    });
    const staging = await planFor(pair, { activeEnvironment: 'staging' });
    expect(staging.plan.warnings.filter((w) => w.code === 'required_setting_missing')).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(/^tap-auth needs .*'staging'.*domain \+ client_id/),
      }),
    ]);
    const dev = await planFor(pair, { activeEnvironment: 'dev' });
    expect(dev.codes()).not.toContain('required_setting_missing');
  });

  it("keeps the target's project_id and default_environment", async () => {
    const pair = await buildPair({
      target: (t) =>
        t.write(
          'meltano.yml',
          PROJECT()
            .replace('default_environment: dev', 'default_environment: prod')
            .replace(/project_id: .*/, 'project_id: target-id'),
        ),
      source: (t) =>
        t.write(
          'meltano.yml',
          `${PROJECT().replace(/project_id: .*/, 'project_id: source-id')}  - name: tap-c\n`,
        ),
    });
    const { plan, load } = await planFor(pair);
    const project = await load();
    expect(project.projectId).toBe('target-id');
    expect(project.defaultEnvironment).toBe('prod');
    expect(project.plugins.map((p) => p.name)).toContain('tap-c');
    expect(plan.warnings.map((w) => w.message).join('\n')).not.toMatch(/project_id|default_environment/);
  });

  it("keeps the comments of the source's meltano.yml", async () => {
    const commented = (extra: string) =>
      PROJECT(extra)
        .replace('plugins:\n', '# Plugins are promoted dev -> staging -> prod.\nplugins:\n')
        .replace('  - name: tap-b\n', '  - name: tap-b # keep pinned\n');
    const pair = await buildPair({
      base: (t) => t.write('meltano.yml', PROJECT()),
      target: (t) =>
        t.write('meltano.yml', PROJECT().replace('- name: prod', '- name: prod\n  env:\n    A: "1"')),
      source: (t) => t.write('meltano.yml', commented('  - name: tap-c\n')),
    });
    const { read, load } = await planFor(pair);
    const text = (await read('meltano.yml')) ?? '';
    expect(text).toContain('# Plugins are promoted dev -> staging -> prod.\nplugins:\n');
    expect(text).toContain('- name: tap-b # keep pinned\n');
    const project = await load();
    expect(project.environments.find((e) => e.name === 'prod')?.env).toEqual({ A: '1' });
  });

  it('warns that a job new to the target starts without state (a full extraction)', async () => {
    const pair = await buildPair({
      base: (t) => t.write('meltano.yml', PROJECT()),
      target: (t) => t.write('shared.sql', 'x\n'),
      source: (t) =>
        t.write('meltano.yml', `${PROJECT()}jobs:\n- name: daily\n  tasks: [tap-a target-jsonl]\n`),
    });
    const { plan } = await planFor(pair, { activeEnvironment: 'prod' });
    expect(plan.warnings.filter((w) => w.code === 'new_pipeline_state')).toEqual([
      expect.objectContaining({ message: expect.stringMatching(/'daily' is new .* no state in 'prod'/) }),
    ]);
  });
});
