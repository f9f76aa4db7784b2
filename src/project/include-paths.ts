import { errorAt, type SourcePosition } from '../errors.js';
import { PROJECT_LIMITS, projectTooLarge } from './limits.js';
import type { ProjectWarning } from './model.js';
import type { ProjectSource } from './project-source.js';

export interface IncludeResult {
  /** Relative paths, in include order. */
  readonly files: readonly string[];
  readonly warnings: readonly ProjectWarning[];
}

/**
 * Expands `include_paths` as Meltano does (meltano-semantics §1.1): each pattern is a glob relative to
 * the project root (`./` optional, `[0-9]` classes, `**` recursion); matches are de-duplicated in
 * order and `meltano.yml` itself is skipped. A match must be a regular file inside the root after
 * resolving links. We sort each pattern's matches (Python returns directory order) so that loading
 * is reproducible, and we report a literal path that does not exist as an error and a wildcard
 * that matches nothing as a warning (Meltano says nothing of either).
 */
export function expandIncludePaths(
  source: ProjectSource,
  rootFile: string,
  patterns: readonly string[],
  positions: readonly SourcePosition[],
): IncludeResult {
  const seen = new Set<string>([rootFile]);
  const files: string[] = [];
  const warnings: ProjectWarning[] = [];
  // Each pattern is matched against the whole tree: their number is bounded, as the files they reach are.
  if (patterns.length > PROJECT_LIMITS.includePatterns) {
    const position = positions[PROJECT_LIMITS.includePatterns] ?? { file: source.display(rootFile) };
    throw projectTooLarge('includePatterns', patterns.length, position);
  }
  patterns.forEach((pattern, i) => {
    const position = positions[i] ?? { file: source.display(rootFile), line: 1, column: 1 };
    if (pattern.startsWith('/') || pattern.split(/[\\/]/).includes('..')) {
      throw errorAt(
        'include_path_invalid',
        position,
        `include path '${pattern}' must be relative to the project root and stay inside it.`,
      );
    }
    const cleaned = pattern.replace(/^(\.\/)+/, '');
    const matches = /[*?[\]{}]/.test(cleaned) ? source.glob(cleaned) : [cleaned];
    if (matches.length === 0)
      warnings.push({ position, message: `include path '${pattern}' matches no file.` });
    for (const match of matches) {
      const path = match.replace(/\/+$/, '');
      if (seen.has(path)) continue;
      seen.add(path);
      const problem = source.checkInclude(path);
      if (problem === 'missing') {
        throw errorAt(
          'include_path_invalid',
          position,
          `include path '${pattern}' names ${path}, which does not exist. Create the file or fix the path.`,
        );
      }
      if (problem === 'outside') {
        throw errorAt(
          'include_path_invalid',
          position,
          `include path '${pattern}' leads to ${path}, which resolves outside the project root.`,
        );
      }
      if (problem === 'not_a_file') {
        throw errorAt(
          'include_path_invalid',
          position,
          `include path '${pattern}' matches ${path}, which is not a regular file.`,
        );
      }
      files.push(path);
      if (files.length > PROJECT_LIMITS.includedFiles)
        throw projectTooLarge('includedFiles', null, position, `at ${path}`);
    }
  });
  return { files, warnings };
}
