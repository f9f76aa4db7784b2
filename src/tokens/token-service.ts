import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SluiceError } from '../errors.js';
import { newId } from '../store/ids.js';
import { decodeCursor, encodeCursor } from '../store/keyset-page.js';
import type { Store } from '../store/open-store.js';
import {
  countTokens,
  findActiveTokenByHash,
  findTokenById,
  insertToken,
  listTokens as listRows,
  revokeToken as revokeRow,
  type TokenRow,
} from '../store/tokens.js';
import { findWorkspaceById } from '../store/workspaces.js';
import type { Page } from '../workspaces/workspace-service.js';
import type { Principal } from './principal.js';

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
  if (secret === '') return null;
  const row = await findActiveTokenByHash(store.db, hashToken(secret));
  return row ? toPrincipal(row) : null;
}

export interface TokenView {
  readonly id: string;
  readonly name: string;
  readonly workspaces: '*' | readonly string[];
  readonly access: 'read' | 'write';
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

function requireAdmin(principal: Principal): void {
  if (!principal.admin) throw new SluiceError('forbidden', 'Only an admin token can manage tokens.');
}

/** Creates a token; the answer is the only time its secret is shown. Admins only. */
export async function createToken(
  store: Store,
  principal: Principal,
  input: { name: unknown; workspaces: unknown; access: unknown },
): Promise<TokenView & { token: string }> {
  requireAdmin(principal);
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (name === '' || name.length > 100)
    throw new SluiceError('validation_failed', 'A token needs a name of 1 to 100 characters.', {
      field: 'name',
    });
  if (input.access !== 'read' && input.access !== 'write') {
    throw new SluiceError('validation_failed', 'access must be "read" or "write".', { field: 'access' });
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
  principal: Principal,
  options: { limit: number; cursor?: string },
): Promise<Page<TokenView>> {
  requireAdmin(principal);
  const rows = await listRows(store.db, { limit: options.limit + 1, after: decodeCursor(options.cursor) });
  const page = rows.slice(0, options.limit);
  const last = page[page.length - 1];
  return {
    items: page.map(toView),
    nextCursor: rows.length > options.limit && last ? encodeCursor(last) : null,
  };
}

export async function revokeToken(store: Store, principal: Principal, id: string): Promise<void> {
  requireAdmin(principal);
  const row = await findTokenById(store.db, id);
  if (!row || row.revoked_at !== null)
    throw new SluiceError('token_not_found', `No active token '${id}'.`, { token: id });
  if (row.id === principal.tokenId)
    throw new SluiceError('conflict', 'A token cannot revoke itself; use another admin token.');
  await revokeRow(store.db, id, new Date().toISOString());
}

/**
 * Makes sure an admin token exists. With `fixedToken` (SLUICE_ADMIN_TOKEN) that token is the admin;
 * otherwise, on the first start with an empty database, a new one is made, written to
 * `<data-dir>/admin-token` (mode 0600) and answered so the caller prints it once.
 */
export async function ensureAdminToken(
  store: Store,
  options: { dataDir: string; fixedToken?: string },
): Promise<{ created?: string; file?: string }> {
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
  if (options.fixedToken) {
    if (!(await findActiveTokenByHash(store.db, hashToken(options.fixedToken)))) {
      await insertToken(store.db, admin(options.fixedToken, 'admin (SLUICE_ADMIN_TOKEN)'));
    }
    return {};
  }
  if ((await countTokens(store.db)) > 0) return {};
  const secret = newSecret();
  await insertToken(store.db, admin(secret, 'admin'));
  const file = join(options.dataDir, 'admin-token');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return { created: secret, file };
}

/** Reads the admin token a server wrote, for local CLI use. */
export function readAdminTokenFile(dataDir: string): string | undefined {
  const file = join(dataDir, 'admin-token');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}
