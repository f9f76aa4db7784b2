import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SluiceError } from '../errors.js';
import type { SecretKey } from './secret-key.js';

/** Where a value belongs: the ciphertext is bound to it, so a row copied elsewhere does not decrypt. */
export interface SecretAddress {
  readonly workspaceId: string;
  /** null: all environments. */
  readonly environment: string | null;
  readonly name: string;
}

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The associated data: an unambiguous encoding of the address (JSON, so no separator can be forged). */
function associatedData(address: SecretAddress): Buffer {
  return Buffer.from(
    JSON.stringify(['sluice-secret-v1', address.workspaceId, address.environment ?? '', address.name]),
    'utf8',
  );
}

function describe(address: SecretAddress): string {
  return `Secret ${address.name} of workspace ${address.workspaceId} (${address.environment === null ? 'all environments' : `environment ${address.environment}`})`;
}

/**
 * Encrypts a value with AES-256-GCM under a fresh random 12-byte IV. The text stored is
 * `v1.<key id>.<base64 of iv | tag | ciphertext>`.
 */
export function encryptSecret(key: SecretKey, address: SecretAddress, value: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.material, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(address));
  const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  const sealed = Buffer.concat([iv, cipher.getAuthTag(), body]);
  return `${VERSION}.${key.id}.${sealed.toString('base64')}`;
}

/**
 * Decrypts a stored value. A value sealed under another key fails with `secret_key_mismatch`
 * (the operator changed or lost the key); one that does not authenticate under this key fails
 * with `secret_unreadable` (altered, or copied from another workspace, environment or name).
 */
export function decryptSecret(key: SecretKey, address: SecretAddress, stored: string): string {
  const [version, keyId, payload] = stored.split('.');
  const details = { workspace: address.workspaceId, environment: address.environment, name: address.name };
  if (version !== VERSION || keyId === undefined || payload === undefined) {
    throw new SluiceError(
      'secret_unreadable',
      `${describe(address)} is stored in a form this server does not know. Set it again.`,
      details,
    );
  }
  if (keyId !== key.id) {
    throw new SluiceError(
      'secret_key_mismatch',
      `${describe(address)} was encrypted with another secret key (key id ${keyId}; the server's is ${key.id}): the secret key changed. Restore the previous SLUICE_SECRET_KEY (or secret.key in the server's data folder), or set the secret again.`,
      { ...details, storedKeyId: keyId, serverKeyId: key.id },
    );
  }
  const sealed = Buffer.from(payload, 'base64');
  if (sealed.length < IV_BYTES + TAG_BYTES) {
    throw new SluiceError('secret_unreadable', `${describe(address)} is truncated. Set it again.`, details);
  }
  const decipher = createDecipheriv('aes-256-gcm', key.material, sealed.subarray(0, IV_BYTES), {
    authTagLength: TAG_BYTES,
  });
  decipher.setAAD(associatedData(address));
  decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    // GCM says only "unable to authenticate": with the key id matching, the row itself is wrong.
    throw new SluiceError(
      'secret_unreadable',
      `${describe(address)} does not authenticate under the server's key: the stored row was altered or copied from another workspace, environment or name. Set it again.`,
      details,
    );
  }
}
