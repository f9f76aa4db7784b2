import { createRequire } from 'node:module';

type YamlLibrary = typeof import('yaml');

let library: YamlLibrary | undefined;

/**
 * The `yaml` package (Document API: positions and surgical edits), loaded on first use. It takes
 * longer to load than reading a whole project with js-yaml, so commands that only read a project
 * never load it.
 */
export function yamlLibrary(): YamlLibrary {
  library ??= createRequire(import.meta.url)('yaml') as YamlLibrary;
  return library;
}
