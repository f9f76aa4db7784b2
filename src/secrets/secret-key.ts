import { createHmac, createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { link, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SluiceError } from '../errors.js';

/**
 * The server's key for secrets. The bytes stay inside a KeyObject, which prints and serialises as
 * nothing, so a context logged by mistake does not carry the key with it.
 */
export interface SecretKey {
  readonly material: KeyObject;
  /**
   * A fingerprint of the key (an HMAC of a fixed label: it reveals nothing of the key), stored
   * with every value so that "the key changed" can be told apart from "the row was altered".
   */
  readonly id: string;
}

/** The key file's name in the server's data folder, used when SLUICE_SECRET_KEY is not set. */
export const SECRET_KEY_FILE = 'secret.key';

const FORMAT =
  '32 random bytes written as 64 hexadecimal characters or as base64 (44 characters); generate one with `openssl rand -hex 32`';

function keyOf(bytes: Buffer): SecretKey {
  const id = createHmac('sha256', bytes).update('sluice secret key id').digest('hex').slice(0, 16);
  return { material: createSecretKey(bytes), id };
}

/**
 * Reads a key written as 64 hex characters or as base64 (standard or URL-safe, padding optional).
 * The error never quotes the text: it may be a key that is only slightly wrong.
 */
export function parseSecretKey(text: string, origin: string): SecretKey {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return keyOf(Buffer.from(trimmed, 'hex'));
  if (/^[A-Za-z0-9+/]{43}=?$/.test(trimmed) || /^[A-Za-z0-9_-]{43}=?$/.test(trimmed)) {
    const bytes = Buffer.from(
      trimmed,
      trimmed.includes('-') || trimmed.includes('_') ? 'base64url' : 'base64',
    );
    if (bytes.length === 32) return keyOf(bytes);
  }
  throw new SluiceError(
    'secret_key_invalid',
    `${origin} is not a secret key: it must be ${FORMAT} (it has ${trimmed.length} characters).`,
    { origin },
  );
}

/**
 * The key for secrets: SLUICE_SECRET_KEY when the operator sets it (several servers sharing one
 * PostgreSQL need the same key), else `secret.key` in the data folder, created on the first start.
 */
export async function loadSecretKey(options: {
  /** The value of SLUICE_SECRET_KEY, read by the caller with the rest of the configuration. */
  readonly fromEnv?: string;
  readonly dataDir: string;
}): Promise<SecretKey> {
  if (options.fromEnv !== undefined && options.fromEnv !== '')
    return parseSecretKey(options.fromEnv, 'SLUICE_SECRET_KEY');
  const file = join(options.dataDir, SECRET_KEY_FILE);
  const text = (await readKeyFile(file)) ?? (await createKeyFile(file));
  return parseSecretKey(
    text,
    `The key file ${file} (restore it from a backup: without it the stored secrets cannot be read)`,
  );
}

async function readKeyFile(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Writes a new random key, readable by the server's user only. The file appears complete or not
 * at all (written aside, then hard-linked into place), and a key another process created at the
 * same moment is never overwritten: `link` fails on an existing name, and that key is used instead.
 */
async function createKeyFile(file: string): Promise<string> {
  const temp = `${file}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.chmod(0o600);
    await handle.writeFile(`${randomBytes(32).toString('hex')}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(temp);
  }
  return readFile(file, 'utf8');
}
