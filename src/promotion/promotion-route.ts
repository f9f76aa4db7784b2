import type { WorkspaceRow } from '../store/workspaces.js';
import type { WorkspaceContext } from '../workspaces/context.js';
import { routeTo } from '../workspaces/workspace-route.js';
import type { PromotionWarning } from './plan-promotion.js';

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
