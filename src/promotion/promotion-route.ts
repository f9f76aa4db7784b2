import { findWorkspaceById, type WorkspaceRow } from '../store/workspaces.js';
import type { WorkspaceContext } from '../workspaces/context.js';
import type { PromotionWarning } from './plan-promotion.js';

/** At most this many stages are followed up a route: far more than dev -> staging -> prod. */
const MAX_STAGES = 20;

/** A workspace's stages from the start of its route down to it: [dev, staging, prod] for prod. */
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

/**
 * Warns when a promotion leaves the route the workspaces name (`upstream`): a source further
 * down the target's route than the target (prod into dev) reverses it; any other source than the
 * target's upstream skips it.
 */
export async function routeWarnings(
  context: WorkspaceContext,
  source: WorkspaceRow,
  target: WorkspaceRow,
): Promise<PromotionWarning[]> {
  if (target.upstream_workspace_id === source.id) return [];
  const sourceRoute = await routeTo(context, source);
  const describe = (route: readonly WorkspaceRow[]) => route.map((stage) => stage.name).join(' -> ');
  if (sourceRoute.some((stage) => stage.id === target.id)) {
    return [
      {
        code: 'route_reversed',
        message: `This promotes '${source.name}' back into '${target.name}', against their route (${describe(sourceRoute)}). Changes normally flow the other way; check that this is what you mean.`,
      },
    ];
  }
  if (target.upstream_workspace_id === null) return [];
  const targetRoute = await routeTo(context, target);
  const upstream = targetRoute.at(-2);
  return [
    {
      code: 'route_skipped',
      message: `'${target.name}' is promoted from '${upstream?.name ?? target.upstream_workspace_id}' (its route: ${describe(targetRoute)}); promoting from '${source.name}' leaves that route.`,
    },
  ];
}
