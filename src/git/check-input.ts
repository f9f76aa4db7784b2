import { SluiceError } from '../errors.js';

/**
 * Rejects a path that cannot name a file in a Git tree: it must be relative, with `/` between
 * non-empty segments, no `.` or `..`, no `.git` folder (git refuses to check those out) and no
 * NUL or newline (tree entries and `cat-file --batch` lines cannot carry them).
 */
export function checkTreePath(path: string): void {
  const segments = path.split('/');
  const bad =
    path === '' ||
    /[\0\n]/.test(path) ||
    segments.some((s) => s === '' || s === '.' || s === '..' || s.toLowerCase() === '.git');
  if (bad) {
    throw new SluiceError(
      'validation_failed',
      `'${path.replace(/[\0\n]/g, '?')}' is not a file path for a repository: use a relative path such as conf/extractors.yml, without '.', '..', '.git' or empty parts.`,
      { path },
    );
  }
}

/**
 * Rejects a revision (commit id, ref name, `main~2`) that git could read as an option, or that
 * cannot travel on one line of `cat-file --batch` input.
 */
export function checkRevision(revision: string): void {
  if (revision === '' || revision.startsWith('-') || /[\0\n]/.test(revision)) {
    throw new SluiceError(
      'validation_failed',
      `'${revision.replace(/[\0\n]/g, '?')}' is not a revision: use a commit id or a ref name such as refs/heads/main.`,
      { revision },
    );
  }
}
