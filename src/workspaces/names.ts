import { randomInt } from 'node:crypto';
import { SluiceError } from '../errors.js';

export const MAX_NAME_LENGTH = 100;

/**
 * Checks a workspace name as a person types it (`My Workspace (dev)`): 1 to 100 characters after
 * trimming, at least one letter or digit (the repository name is made of them), no control characters.
 */
export function validateWorkspaceName(raw: unknown): string {
  if (typeof raw !== 'string')
    throw new SluiceError('name_invalid', 'The workspace name must be a string.', { field: 'name' });
  const name = raw.trim();
  if (name === '')
    throw new SluiceError(
      'name_invalid',
      'The workspace name is empty. Give it a name such as "My Workspace (dev)".',
      { field: 'name' },
    );
  if (name.length > MAX_NAME_LENGTH) {
    throw new SluiceError(
      'name_invalid',
      `The workspace name is ${name.length} characters long; the limit is ${MAX_NAME_LENGTH}.`,
      { field: 'name', length: name.length },
    );
  }
  if (/\p{Cc}/u.test(name))
    throw new SluiceError(
      'name_invalid',
      'The workspace name contains control characters (such as a tab or a newline).',
      { field: 'name' },
    );
  if (!/[\p{L}\p{N}]/u.test(name)) {
    throw new SluiceError(
      'name_invalid',
      `The workspace name '${name}' has no letter or digit; the repository name is made from them.`,
      { field: 'name' },
    );
  }
  return name;
}

/**
 * A repository name from a workspace name: ASCII letters and digits joined by dashes, then a random
 * 7-letter suffix (`My Workspace (dev)` -> `My-Workspace-dev-zgtzhjd`), as the product page shows.
 */
export function repositoryNameFor(name: string): string {
  const base =
    name
      .normalize('NFKD')
      // NFKD splits `é` into `e` and a combining accent: drop the accent, or `données` becomes `donne-es`.
      .replace(/\p{M}+/gu, '')
      .replace(/[^A-Za-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60)
      .replace(/-+$/, '') || 'workspace';
  let suffix = '';
  for (let i = 0; i < 7; i++) suffix += String.fromCharCode(97 + randomInt(26));
  return `${base}-${suffix}`;
}

/** Repository names the server accepts in Git URLs: no separators, no dot-dot, no leading dot. */
export function isValidRepositoryName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_-]{0,199}$/.test(name);
}
