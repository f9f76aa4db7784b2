import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadProject } from '../../src/project/load.js';
import type { Project } from '../../src/project/model.js';
import { folderSource } from '../../src/project/project-source.js';
import { tempFolder } from './temp-folders.js';

/** Writes files (path -> text) into a new temporary folder, removed after the test. */
export function tempProject(files: Readonly<Record<string, string>>): string {
  const root = tempFolder('sluice-test-', 'test');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** Writes a project whose `meltano.yml` is `yaml` (plus other files) and loads it. */
export function loadYaml(yaml: string, files: Readonly<Record<string, string>> = {}): Project {
  return loadProject(folderSource(tempProject({ 'meltano.yml': yaml, ...files })));
}
