import type { PromotionRequest } from '../../promotion/promotion-requests.js';
import type { Promotion } from '../../promotion/promotion-service.js';
import type { Page } from '../../workspaces/workspace-service.js';
import { type ApiTarget, callApi } from '../api-client.js';
import type { CliIo } from '../io.js';
import { renderTable } from '../render/table.js';

const requestsOf = (workspace: string) => `/workspaces/${encodeURIComponent(workspace)}/promotion-requests`;

/** `sluice approval list WS`: the promotion requests into a workspace, newest first. */
export async function approvalList(
  target: ApiTarget,
  io: CliIo,
  workspace: string,
  flags: { readonly format?: string },
): Promise<void> {
  const page = await callApi<Page<PromotionRequest>>(target, 'GET', requestsOf(workspace));
  if (flags.format === 'json') {
    io.stdout(`${JSON.stringify(page.items, null, 2)}\n`);
    return;
  }
  if (page.items.length === 0) {
    io.stdout(`No promotion request into ${workspace}.\n`);
    return;
  }
  io.stdout(
    `${renderTable(
      ['ID', 'STATUS', 'APPROVALS', 'FROM', 'BY', 'AT'],
      page.items.map((r) => [
        r.id,
        r.status,
        `${r.approvals}/${r.requiredApprovals}`,
        `${r.sourceWorkspaceId}@${r.sourceCommit.slice(0, 7)}`,
        r.createdBy.name,
        r.createdAt,
      ]),
    )}\n`,
  );
}

/** `sluice approval approve|reject|comment WS REQUEST`: one review; the last approval applies the promotion. */
export async function approvalReview(
  target: ApiTarget,
  io: CliIo,
  verdict: 'approve' | 'reject' | 'comment',
  workspace: string,
  id: string,
  flags: { readonly comment?: string; readonly format?: string },
): Promise<void> {
  const outcome = await callApi<{ request: PromotionRequest; promotion?: Promotion }>(
    target,
    'POST',
    `${requestsOf(workspace)}/${encodeURIComponent(id)}/reviews`,
    { verdict, ...(flags.comment === undefined ? {} : { comment: flags.comment }) },
  );
  if (flags.format === 'json') {
    io.stdout(`${JSON.stringify(outcome, null, 2)}\n`);
    return;
  }
  const { request, promotion } = outcome;
  if (promotion) {
    io.stdout(
      `Approved and applied: ${promotion.id} (${workspace} is now at ${promotion.resultCommit?.slice(0, 7)}).\n`,
    );
    return;
  }
  io.stdout(
    `Request ${request.id}: ${request.status}, ${request.approvals} of ${request.requiredApprovals} approvals.\n`,
  );
}
