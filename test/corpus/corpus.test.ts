import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProject } from '../../src/project/load.js';
import { folderSource } from '../../src/project/project-source.js';
import { runInProcess } from '../helpers/in-process-cli.js';
import { sharedPath } from '../helpers/shared-paths.js';

const CORPUS = sharedPath('meltano-corpus');
const projects = readdirSync(CORPUS).filter((d) => statSync(join(CORPUS, d)).isDirectory());

describe('the Meltano corpus', () => {
  it('has the 20 projects INDEX.md lists', () => {
    expect(projects).toHaveLength(20);
  });

  describe.each(projects)('%s', (name) => {
    const root = join(CORPUS, name);

    it('loads', () => {
      const project = loadProject(folderSource(root));
      expect(project.plugins.length).toBeGreaterThan(0);
    });

    it('prints every plugin in every environment and in none, through `sluice config print`', async () => {
      const project = loadProject(folderSource(root));
      const choices = [['--no-environment'], ...project.environments.map((e) => ['--environment', e.name])];
      let printed = 0;
      for (const plugin of project.plugins) {
        for (const choice of choices) {
          const result = await runInProcess(
            ['config', 'print', plugin.name, '--plugin-type', plugin.type, ...choice, '--project-root', root],
            root,
            {},
          );
          expect(result.stderr).not.toMatch(/^error|internal error/m);
          expect(result.status, `${plugin.type}/${plugin.name} ${choice.join(' ')}: ${result.stderr}`).toBe(
            0,
          );
          expect(JSON.parse(result.stdout)).toBeTypeOf('object');
          printed++;
        }
      }
      expect(printed).toBe(project.plugins.length * choices.length);
    });
  });

  it('reads multi-file projects whole: meltano/squared has its 11 files and not the orphan files.meltano.yml', () => {
    const project = loadProject(folderSource(join(CORPUS, 'meltano__squared')));
    expect(project.files).toHaveLength(11);
    expect(project.files).not.toContain('files.meltano.yml');
    expect(project.environments.map((e) => e.name)).toEqual(['cicd', 'prod', 'staging', 'userdev']);
  });

  it('de-duplicates a file matched by two include patterns (multifile_project)', () => {
    const project = loadProject(folderSource(join(CORPUS, 'meltano__meltano__multifile_project')));
    expect(project.files).toEqual(['meltano.yml', 'subconfig_2.yml', 'subfolder/subconfig_1.yml']);
  });

  it('keeps unknown top-level keys (hooks) and YAML timestamps as ISO strings', () => {
    const hooks = loadProject(folderSource(join(CORPUS, 'rubyferdianto__supabase-meltano-bq-dagster')));
    expect(hooks.extras.hooks).toBeDefined();
    const mimodast = loadProject(folderSource(join(CORPUS, 'EJOOSTEROP__mimodast')));
    const starts = mimodast.schedules.map((s) => s.raw.start_date).filter((d) => d !== undefined);
    expect(starts).toContain('2023-01-01T15:40:21.295936');
  });
});
