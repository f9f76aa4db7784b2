import { randomInt } from 'node:crypto';
import { SluiceError } from '../errors.js';

export const MAX_NAME_LENGTH = 100;

/**
 * Characters a workspace name may not contain, by Unicode general category: they are invisible or
 * reorder the text around them (`Beta\u200b (prod)`, `Beta (\u202edorp)` look like `Beta (prod)`),
 * or have no meaning yet (unassigned, private use, lone surrogates).
 */
const FORBIDDEN_CATEGORIES = [
  { test: /\p{Cc}/u, code: 'Cc', what: 'a control character' },
  { test: /\p{Cf}/u, code: 'Cf', what: 'an invisible format character (zero-width or bidi)' },
  { test: /\p{Zl}/u, code: 'Zl', what: 'a line separator' },
  { test: /\p{Zp}/u, code: 'Zp', what: 'a paragraph separator' },
  { test: /\p{Co}/u, code: 'Co', what: 'a private-use character' },
  { test: /\p{Cs}/u, code: 'Cs', what: 'a lone surrogate (not a character)' },
  { test: /\p{Cn}/u, code: 'Cn', what: 'an unassigned code point' },
] as const;

/** Names of the forbidden characters people meet in practice; others are named by category. */
const CHARACTER_NAMES: Readonly<Record<number, string>> = {
  0: 'NULL',
  9: 'CHARACTER TABULATION',
  10: 'LINE FEED',
  13: 'CARRIAGE RETURN',
  27: 'ESCAPE',
  127: 'DELETE',
  173: 'SOFT HYPHEN',
  1564: 'ARABIC LETTER MARK',
  6158: 'MONGOLIAN VOWEL SEPARATOR',
  8203: 'ZERO WIDTH SPACE',
  8204: 'ZERO WIDTH NON-JOINER',
  8205: 'ZERO WIDTH JOINER',
  8206: 'LEFT-TO-RIGHT MARK',
  8207: 'RIGHT-TO-LEFT MARK',
  8232: 'LINE SEPARATOR',
  8233: 'PARAGRAPH SEPARATOR',
  8234: 'LEFT-TO-RIGHT EMBEDDING',
  8235: 'RIGHT-TO-LEFT EMBEDDING',
  8236: 'POP DIRECTIONAL FORMATTING',
  8237: 'LEFT-TO-RIGHT OVERRIDE',
  8238: 'RIGHT-TO-LEFT OVERRIDE',
  8288: 'WORD JOINER',
  8294: 'LEFT-TO-RIGHT ISOLATE',
  8295: 'RIGHT-TO-LEFT ISOLATE',
  8296: 'FIRST STRONG ISOLATE',
  8297: 'POP DIRECTIONAL ISOLATE',
  65279: 'ZERO WIDTH NO-BREAK SPACE',
};

/** `U+200B`: how Unicode writes a code point. */
function codePointLabel(codePoint: number): string {
  return `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The name with every character that is not plainly visible written as `<U+XXXX>`, for messages. */
function visibleForm(name: string): string {
  let out = '';
  for (const char of name) {
    const forbidden = FORBIDDEN_CATEGORIES.some((category) => category.test.test(char));
    out += forbidden ? `<${codePointLabel(char.codePointAt(0) ?? 0)}>` : char;
  }
  return out;
}

/** The first forbidden character of a name: what it is and where (1-based, counted in characters). */
function firstForbiddenCharacter(
  name: string,
): { codePoint: number; position: number; category: string; what: string } | undefined {
  let position = 0;
  for (const char of name) {
    position += 1;
    const category = FORBIDDEN_CATEGORIES.find((c) => c.test.test(char));
    if (category) {
      return { codePoint: char.codePointAt(0) ?? 0, position, category: category.code, what: category.what };
    }
  }
  return undefined;
}

/**
 * Checks a workspace name as a person types it (`My Workspace (dev)`): 1 to 100 characters after
 * trimming, at least one letter or digit (the repository name is made of them), and no character
 * that is invisible, reorders text or is not a character at all (see FORBIDDEN_CATEGORIES), so that
 * no name can pass for another.
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
  const forbidden = firstForbiddenCharacter(name);
  if (forbidden) {
    const label = codePointLabel(forbidden.codePoint);
    const characterName = CHARACTER_NAMES[forbidden.codePoint];
    throw new SluiceError(
      'name_invalid',
      `The workspace name '${visibleForm(name)}' contains ${label}${characterName ? ` ${characterName}` : ''}, ${forbidden.what}, at character ${forbidden.position}. ` +
        'Names may not contain control characters, invisible format characters (zero-width, bidi), line separators, or unassigned, private-use or surrogate code points: remove it.',
      {
        field: 'name',
        character: label,
        ...(characterName ? { characterName } : {}),
        category: forbidden.category,
        position: forbidden.position,
      },
    );
  }
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
