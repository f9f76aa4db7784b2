import type { WorkspaceScope } from '../store/workspaces.js';

/** Who is calling: the token's scope and rights. */
export interface Principal {
  readonly tokenId: string;
  readonly name: string;
  readonly admin: boolean;
  readonly access: 'read' | 'write';
  readonly workspaces: WorkspaceScope;
}

export function canSee(principal: Principal, workspaceId: string): boolean {
  return principal.workspaces === '*' || principal.workspaces.includes(workspaceId);
}

export function canWrite(principal: Principal, workspaceId: string): boolean {
  return principal.access === 'write' && canSee(principal, workspaceId);
}
