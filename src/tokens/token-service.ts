import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SluiceError } from '../errors.js';
import { newId } from '../store/ids.js';
import { decodeCursor, keysetPage } from '../store/keyset-page.js';
import { isUniqueViolation, type Store } from '../store/open-store.js';
import {
  countTokens,
  findActiveTokenAndWorkspace,
  findActiveTokenByHash,
  findTokenByHash,
  findTokenById,
  insertToken,
  listTokens as listRows,
  restoreAdminToken,
  revokeAdminTokensExcept,
  revokeToken as revokeRow,
  type TokenRow,
} from '../store/tokens.js';
import { findWorkspaceById, type WorkspaceRow } from '../store/workspaces.js';
import type { Page } from '../workspaces/workspace-service.js';
import type { Principal } from './principal.js';

/**
 * The shortest token the server accepts. Tokens it makes are far longer (`sluice_` and 43 random
 * characters); this bounds the one an operator chooses (SLUICE_ADMIN_TOKEN) to something that
 * cannot be guessed, and a shorter one is refused, even if an older server stored it.
 */
export const MIN_TOKEN_LENGTH = 32;

/** Tokens are 256-bit random secrets; a plain SHA-256 is enough to store them (no dictionary to attack). */
export function hashToken(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function newSecret(): string {
  return `sluice_${randomBytes(32).toString('base64url')}`;
}

function toPrincipal(row: TokenRow): Principal {
  return {
    tokenId: row.id,
    name: row.name,
    admin: row.admin === 1,
    access: row.access,
    workspaces: row.workspaces === '*' ? '*' : (JSON.parse(row.workspaces) as string[]),
  };
}

/** The principal a token stands for, or null when the token is unknown or revoked. */
export async function authenticate(store: Store, secret: string): Promise<Principal | null> {
  if (secret.length < MIN_TOKEN_LENGTH) return null;
  const row = await findActiveTokenByHash(store.db, hashToken(secret));
  return row ? toPrincipal(row) : null;
}

/**
 * The principal a token stands for and, from the same query, the workspace whose id is
 * `workspaceId` (undefined when none has it), whether or not the token may see it: the caller
 * decides. Null when the token is unknown or revoked.
 */
export async function authenticateWithWorkspace(
  store: Store,
  secret: string,
  workspaceId: string,
): Promise<{ principal: Principal; workspace: WorkspaceRow | undefined } | null> {
  if (secret.length < MIN_TOKEN_LENGTH) return null;
  const found = await findActiveTokenAndWorkspace(store.db, hashToken(secret), workspaceId);
  return found ? { principal: toPrincipal(found.token), workspace: found.workspace } : null;
}

export interface TokenView {
  readonly id: string;
  readonly name: string;
  readonly workspaces: '*' | readonly string[];
  readonly access: 'read' | 'write' | 'approve';
  readonly admin: boolean;
  readonly createdAt: string;
}

function toView(row: TokenRow): TokenView {
  const p = toPrincipal(row);
  return {
    id: row.id,
    name: row.name,
    workspaces: p.workspaces,
    access: p.access,
    admin: p.admin,
    createdAt: row.created_at,
  };
}

/**
 * Creates a token; the answer is the only time its secret is shown. Tokens made here are never
 * admin tokens: the only admin tokens are the server's own (see ensureAdminToken).
 */
export async function createToken(
  store: Store,
  input: { name: unknown; workspaces: unknown; access: unknown },
): Promise<TokenView & { token: string }> {
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (name === '' || name.length > 100)
    throw new SluiceError('validation_failed', 'A token needs a name of 1 to 100 characters.', {
      field: 'name',
    });
  if (input.access !== 'read' && input.access !== 'write' && input.access !== 'approve') {
    throw new SluiceError(
      'validation_failed',
      'access must be "read", "write" or "approve" (write, and approving promotion requests).',
      { field: 'access' },
    );
  }
  let workspaces: '*' | string[];
  if (input.workspaces === '*') workspaces = '*';
  else if (Array.isArray(input.workspaces) && input.workspaces.every((w) => typeof w === 'string')) {
    workspaces = [...new Set(input.workspaces as string[])];
    for (const id of workspaces) {
      if (!(await findWorkspaceById(store.db, id))) {
        throw new SluiceError(
          'validation_failed',
          `No workspace with id '${id}'; a token can only be scoped to existing workspaces.`,
          { field: 'workspaces', workspace: id },
        );
      }
    }
  } else {
    throw new SluiceError('validation_failed', 'workspaces must be "*" or a list of workspace ids.', {
      field: 'workspaces',
    });
  }
  const token = newSecret();
  const row: TokenRow = {
    id: newId('tok'),
    name,
    token_hash: hashToken(token),
    workspaces: workspaces === '*' ? '*' : JSON.stringify(workspaces),
    access: input.access,
    admin: 0,
    created_at: new Date().toISOString(),
    revoked_at: null,
  };
  await insertToken(store.db, row);
  return { ...toView(row), token };
}

export async function listTokens(
  store: Store,
  options: { limit: number; cursor?: string },
): Promise<Page<TokenView>> {
  const rows = await listRows(store.db, { limit: options.limit + 1, after: decodeCursor(options.cursor) });
  return keysetPage(rows, options.limit, toView);
}

/** Revokes a token; `by` is the caller, who may not revoke the token it calls with. Answers what it was. */
export async function revokeToken(store: Store, by: Principal, id: string): Promise<TokenView> {
  const row = await findTokenById(store.db, id);
  if (!row || row.revoked_at !== null)
    throw new SluiceError('token_not_found', `No active token '${id}'.`, { token: id });
  if (row.id === by.tokenId)
    throw new SluiceError('conflict', 'A token cannot revoke itself; use another admin token.');
  await revokeRow(store.db, id, new Date().toISOString());
  return toView(row);
}

/**
 * Checks the admin token an operator sets (SLUICE_ADMIN_TOKEN) before the server starts with it:
 * long enough not to be guessed, and made of the characters an `Authorization` header carries.
 * The message never quotes the token.
 */
export function checkAdminToken(token: string): void {
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new SluiceError(
      'admin_token_invalid',
      `SLUICE_ADMIN_TOKEN is ${token.length} character${token.length === 1 ? '' : 's'} long; it needs at least ${MIN_TOKEN_LENGTH}. Generate one with \`openssl rand -hex 32\`.`,
      { minLength: MIN_TOKEN_LENGTH },
    );
  }
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new SluiceError(
      'admin_token_invalid',
      'SLUICE_ADMIN_TOKEN may only hold printable ASCII characters without spaces (it is sent in an HTTP header). Generate one with `openssl rand -hex 32`.',
    );
  }
}

/**
 * Makes sure an admin token exists. With `fixedToken` (SLUICE_ADMIN_TOKEN) that token is the admin,
 * and every other admin token is revoked: changing the variable and restarting rotates the admin
 * token (the file a first start wrote goes too). Revoking by hash, not by row, keeps the token when
 * several servers start at once with the same one. Without it, on the first start with an empty
 * database, a new one is made, written to `<data-dir>/admin-token` (mode 0600) and answered so the
 * caller prints it once.
 */
export async function ensureAdminToken(
  store: Store,
  options: { dataDir: string; fixedToken?: string },
): Promise<{ created?: string; file?: string; revoked?: number }> {
  const admin = (secret: string, name: string): TokenRow => ({
    id: newId('tok'),
    name,
    token_hash: hashToken(secret),
    workspaces: '*',
    access: 'write',
    admin: 1,
    created_at: new Date().toISOString(),
    revoked_at: null,
  });
  const file = join(options.dataDir, 'admin-token');
  if (options.fixedToken !== undefined) {
    checkAdminToken(options.fixedToken);
    const hash = hashToken(options.fixedToken);
    const known = await findTokenByHash(store.db, hash);
    if (known && known.admin !== 1) {
      throw new SluiceError(
        'admin_token_invalid',
        'SLUICE_ADMIN_TOKEN is a token the API gave out; choose a new one (`openssl rand -hex 32`).',
      );
    }
    // An admin token used before and since rotated away is the admin again: the variable decides.
    if (known) await restoreAdminToken(store.db, known.id);
    else await insertAdminToken(store, admin(options.fixedToken, 'admin (SLUICE_ADMIN_TOKEN)'));
    const revoked = await revokeAdminTokensExcept(store.db, hash, new Date().toISOString());
    // The file a first start wrote now holds a revoked token, unless the operator chose that one.
    if (readAdminTokenFile(options.dataDir) !== options.fixedToken) rmSync(file, { force: true });
    return { revoked };
  }
  if ((await countTokens(store.db)) > 0) return {};
  const secret = newSecret();
  await insertToken(store.db, admin(secret, 'admin'));
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return { created: secret, file };
}

/** Inserts an admin token, unless a server starting at the same moment inserted the same one. */
async function insertAdminToken(store: Store, row: TokenRow): Promise<void> {
  try {
    await insertToken(store.db, row);
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
  }
}

/** Reads the admin token a server wrote, for local CLI use. */
export function readAdminTokenFile(dataDir: string): string | undefined {
  const file = join(dataDir, 'admin-token');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}
