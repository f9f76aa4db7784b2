import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { SluiceError } from '../../src/errors.js';
import { decryptSecret, encryptSecret, type SecretAddress } from '../../src/secrets/secret-cipher.js';
import { loadSecretKey, parseSecretKey, SECRET_KEY_FILE } from '../../src/secrets/secret-key.js';

const HEX_KEY = 'a'.repeat(64);
const address: SecretAddress = { workspaceId: 'ws_1', environment: 'prod', name: 'TAP_X_PASSWORD' };

function errorOf(run: () => unknown): SluiceError {
  try {
    run();
  } catch (error) {
    if (error instanceof SluiceError) return error;
    throw error;
  }
  throw new Error('expected a SluiceError');
}

describe('encryptSecret / decryptSecret', () => {
  const key = parseSecretKey(HEX_KEY, 'test');

  it('round-trips any text, with a fresh IV each time', () => {
    for (const value of ['hunter22', 'é€😀 line\nnext', 'x'.repeat(65536)]) {
      const first = encryptSecret(key, address, value);
      const second = encryptSecret(key, address, value);
      expect(first).not.toBe(second);
      expect(first).not.toContain(value.slice(0, 8));
      expect(decryptSecret(key, address, first)).toBe(value);
    }
  });

  it('stores version, key id and base64 of iv | tag | ciphertext', () => {
    const stored = encryptSecret(key, address, 'hunter22');
    const [version, keyId, payload] = stored.split('.');
    expect(version).toBe('v1');
    expect(keyId).toBe(key.id);
    expect(Buffer.from(payload as string, 'base64').length).toBe(12 + 16 + 8);
  });

  it.each([
    ['another workspace', { ...address, workspaceId: 'ws_2' }],
    ['another environment', { ...address, environment: 'dev' }],
    ['all environments', { ...address, environment: null }],
    ['another name', { ...address, name: 'TAP_Y_PASSWORD' }],
  ])('does not decrypt a value copied to %s', (_, elsewhere) => {
    const stored = encryptSecret(key, address, 'hunter22');
    const error = errorOf(() => decryptSecret(key, elsewhere, stored));
    expect(error.code).toBe('secret_unreadable');
    expect(error.message).toMatch(/altered or copied/);
  });

  it('refuses a tampered ciphertext', () => {
    const stored = encryptSecret(key, address, 'hunter22');
    const [version, keyId, payload] = stored.split('.') as [string, string, string];
    const bytes = Buffer.from(payload, 'base64');
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    const tampered = `${version}.${keyId}.${bytes.toString('base64')}`;
    expect(errorOf(() => decryptSecret(key, address, tampered)).code).toBe('secret_unreadable');
  });

  it('says that the key changed when another key tries to decrypt', () => {
    const stored = encryptSecret(key, address, 'hunter22');
    const other = parseSecretKey(randomBytes(32).toString('hex'), 'test');
    const error = errorOf(() => decryptSecret(other, address, stored));
    expect(error.code).toBe('secret_key_mismatch');
    expect(error.message).toMatch(/the secret key changed/);
    expect(error.message).toContain('SLUICE_SECRET_KEY');
    expect(error.message).not.toContain('hunter22');
  });
});

describe('parseSecretKey', () => {
  const bytes = randomBytes(32);

  it.each([
    ['hex', bytes.toString('hex')],
    ['upper-case hex', bytes.toString('hex').toUpperCase()],
    ['base64', bytes.toString('base64')],
    ['base64 without padding', bytes.toString('base64').replace(/=+$/, '')],
    ['base64url', bytes.toString('base64url')],
    ['hex with a final newline', `${bytes.toString('hex')}\n`],
  ])('reads %s', (_, text) => {
    expect(parseSecretKey(text, 'SLUICE_SECRET_KEY').id).toBe(parseSecretKey(bytes.toString('hex'), 'x').id);
  });

  it.each([
    ['a password', 'correct horse battery staple'],
    ['31 bytes of hex', randomBytes(31).toString('hex')],
    ['33 bytes of base64', randomBytes(33).toString('base64')],
    ['an empty text', ''],
  ])('refuses %s, saying the expected format without quoting the text', (_, text) => {
    const error = errorOf(() => parseSecretKey(text, 'SLUICE_SECRET_KEY'));
    expect(error.code).toBe('secret_key_invalid');
    expect(error.message).toMatch(/^SLUICE_SECRET_KEY is not a secret key: it must be 32 random bytes/);
    expect(error.message).toMatch(/64 hexadecimal characters or as base64/);
    if (text) expect(error.message).not.toContain(text);
  });

  it('keeps the key bytes out of printed and serialised forms', () => {
    const key = parseSecretKey(bytes.toString('hex'), 'test');
    expect(JSON.stringify(key)).not.toContain(bytes.toString('hex'));
    expect(inspect(key, { depth: 5 })).not.toContain(bytes.toString('hex'));
    expect(inspect(key, { depth: 5 })).not.toContain(bytes.toString('base64'));
  });
});

describe('loadSecretKey', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-key-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('creates secret.key with mode 0600 on first use, and reuses it', async () => {
    const dir = dataDir();
    const first = await loadSecretKey({ dataDir: dir });
    const file = join(dir, SECRET_KEY_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    const second = await loadSecretKey({ dataDir: dir });
    expect(second.id).toBe(first.id);
    const stored = encryptSecret(first, address, 'hunter22');
    expect(decryptSecret(second, address, stored)).toBe('hunter22');
    expect(readdirSync(dir)).toEqual([SECRET_KEY_FILE]);
  });

  it('gives every concurrent first start the same key', async () => {
    const dir = dataDir();
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadSecretKey({ dataDir: dir })));
    expect(new Set(keys.map((k) => k.id)).size).toBe(1);
    expect(readdirSync(dir)).toEqual([SECRET_KEY_FILE]);
  });

  it('prefers SLUICE_SECRET_KEY, and writes no file then', async () => {
    const dir = dataDir();
    const key = await loadSecretKey({ dataDir: dir, fromEnv: HEX_KEY });
    expect(key.id).toBe(parseSecretKey(HEX_KEY, 'x').id);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a bad SLUICE_SECRET_KEY instead of falling back to the file', async () => {
    await expect(loadSecretKey({ dataDir: dataDir(), fromEnv: 'not-a-key' })).rejects.toMatchObject({
      code: 'secret_key_invalid',
      message: expect.stringMatching(/^SLUICE_SECRET_KEY is not a secret key/),
    });
  });

  it('refuses a damaged key file rather than replacing it', async () => {
    const dir = dataDir();
    writeFileSync(join(dir, SECRET_KEY_FILE), 'garbage\n');
    await expect(loadSecretKey({ dataDir: dir })).rejects.toMatchObject({ code: 'secret_key_invalid' });
    expect(readFileSync(join(dir, SECRET_KEY_FILE), 'utf8')).toBe('garbage\n');
  });
});
