import { findWorkspaceById, type WorkspaceRow } from '../store/workspaces.js';
import type { WorkspaceContext } from './context.js';

/** At most this many stages are followed up a route: far more than dev -> staging -> prod. */
const MAX_STAGES = 20;

/**
 * A workspace's stages from the start of its route (`upstream` after `upstream`) down to it:
 * [dev, staging, prod] for prod. A loop (which PATCH refuses) ends the walk.
 */
export async function routeTo(context: WorkspaceContext, workspace: WorkspaceRow): Promise<WorkspaceRow[]> {
  const route = [workspace];
  for (let at = workspace; at.upstream_workspace_id && route.length < MAX_STAGES; ) {
    const upstream = await findWorkspaceById(context.store.db, at.upstream_workspace_id);
    if (!upstream || route.some((stage) => stage.id === upstream.id)) break;
    route.unshift(upstream);
    at = upstream;
  }
  return route;
}
