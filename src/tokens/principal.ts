import type { WorkspaceScope } from '../store/workspaces.js';

/** Who is calling: the token's scope and rights. */
export interface Principal {
  readonly tokenId: string;
  readonly name: string;
  readonly admin: boolean;
  /** `approve` is `write` and approving promotion requests. */
  readonly access: 'read' | 'write' | 'approve';
  readonly workspaces: WorkspaceScope;
}

export function canSee(principal: Principal, workspaceId: string): boolean {
  return principal.workspaces === '*' || principal.workspaces.includes(workspaceId);
}

export function canWrite(principal: Principal, workspaceId: string): boolean {
  return principal.access !== 'read' && canSee(principal, workspaceId);
}

/** Whether it may approve or reject promotion requests into the workspace: an admin, or an `approve` token that sees it. */
export function canApprove(principal: Principal, workspaceId: string): boolean {
  return principal.admin || (principal.access === 'approve' && canSee(principal, workspaceId));
}
