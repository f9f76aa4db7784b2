import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** A random id with a type prefix (`ws_1f3k...`): 16 characters of Crockford base32, 80 bits. */
export function newId(prefix: 'ws' | 'tok' | 'pr' | 'run' | 'wkr' | 'aud' | 'req' | 'rev'): string {
  const bytes = randomBytes(16);
  let out = '';
  for (const byte of bytes) out += ALPHABET[byte & 31];
  return `${prefix}_${out}`;
}
