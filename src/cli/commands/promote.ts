import { SluiceError } from '../../errors.js';
import type { PromotionPlan } from '../../promotion/plan-promotion.js';
import type { PromotionRequest } from '../../promotion/promotion-requests.js';
import type { Promotion } from '../../promotion/promotion-service.js';
import type { Page, Workspace } from '../../workspaces/workspace-service.js';
import { type ApiTarget, callApi } from '../api-client.js';
import type { CliIo } from '../io.js';
import { renderTable } from '../render/table.js';

export interface PromoteFlags {
  readonly dryRun?: boolean;
  readonly yes?: boolean;
  readonly deleteTargetOnly?: boolean;
  readonly allEnvironments?: boolean;
  readonly format?: string;
}

const show = (value: unknown) =>
  value === undefined ? '-' : typeof value === 'string' ? value : JSON.stringify(value);

/** The preview as a person reads it: files, configuration, warnings, conflicts. */
export function renderPlan(plan: PromotionPlan, source: string, target: string): string {
  const out: string[] = [
    `Promote ${source} (${plan.sourceCommit.slice(0, 7)}) into ${target} (${plan.targetCommit.slice(0, 7)})`,
    '',
  ];
  out.push(plan.files.length ? 'Files:' : 'Files: no change.');
  for (const file of plan.files)
    out.push(`  ${file.status === 'added' ? 'A' : file.status === 'deleted' ? 'D' : 'M'} ${file.path}`);
  out.push(
    '',
    `Configuration in ${plan.configDiff.environment ? `'${plan.configDiff.environment}'` : 'no environment'}:`,
  );
  if (plan.configDiff.plugins.length === 0) out.push('  no change.');
  for (const plugin of plan.configDiff.plugins) {
    out.push(`  ${plugin.type}/${plugin.plugin} (${plugin.status})`);
    for (const s of plugin.settings)
      out.push(
        `    ${s.name}: ${show(s.before)} -> ${show(s.after)}${s.afterSource ? ` [${s.afterSource}]` : ''}`,
      );
  }
  for (const [label, changes] of [
    ['Schedules', plan.configDiff.schedules],
    ['Jobs', plan.configDiff.jobs],
  ] as const) {
    if (changes.length) out.push(`  ${label}: ${changes.map((c) => `${c.name} (${c.status})`).join(', ')}`);
  }
  if (plan.warnings.length) out.push('', 'Warnings:', ...plan.warnings.map((w) => `  - ${w.message}`));
  if (plan.conflicts.length) {
    out.push(
      '',
      "Conflicts (resolved by taking the source's side):",
      ...plan.conflicts.map((c) => `  - ${c.path}: ${c.kind}`),
    );
  }
  return `${out.join('\n')}\n`;
}

/** `sluice promote SOURCE TARGET`: preview, confirm, apply exactly what was previewed. */
/** `sluice promote TARGET`: from the target's upstream, the stage before it on its route. */
export async function promoteFromUpstream(
  target: ApiTarget,
  io: CliIo,
  into: string,
  flags: PromoteFlags,
): Promise<void> {
  const workspace = await callApi<Workspace>(target, 'GET', `/workspaces/${encodeURIComponent(into)}`);
  if (workspace.upstream === null)
    throw new SluiceError(
      'usage',
      `Workspace '${workspace.name}' has no upstream to promote from. Name the source (sluice promote SOURCE ${into}) or set one (sluice workspace set ${into} --upstream SOURCE).`,
    );
  return promote(target, io, workspace.upstream, into, flags);
}

export async function promote(
  target: ApiTarget,
  io: CliIo,
  source: string,
  into: string,
  flags: PromoteFlags,
): Promise<void> {
  const path = `/workspaces/${encodeURIComponent(into)}/promotions`;
  const options = {
    deleteTargetOnly: flags.deleteTargetOnly || undefined,
    allEnvironments: flags.allEnvironments || undefined,
  };
  // The preview is a read: a read-only token may look at what a promotion would change.
  const query = new URLSearchParams({ source });
  if (options.deleteTargetOnly) query.set('deleteTargetOnly', 'true');
  if (options.allEnvironments) query.set('allEnvironments', 'true');
  const plan = await callApi<PromotionPlan>(target, 'GET', `${path}/preview?${query}`);
  if (flags.format === 'json' && flags.dryRun) {
    io.stdout(`${JSON.stringify(plan, null, 2)}\n`);
    return;
  }
  io.stdout(renderPlan(plan, source, into));
  if (flags.dryRun) return;
  if (!flags.yes) {
    if (!io.stdinIsTTY)
      throw new SluiceError(
        'usage',
        'Promotion changes the target: confirm with --yes when not running in a terminal (or use --dry-run).',
      );
    if (!(await io.confirm(`Apply this promotion to ${into}?`))) {
      io.stdout('Nothing was changed.\n');
      return;
    }
  }
  const answer = await callApi<Promotion | { request: PromotionRequest }>(target, 'POST', path, {
    source,
    expectedSourceCommit: plan.sourceCommit,
    expectedTargetCommit: plan.targetCommit,
    ...options,
  });
  if ('request' in answer) {
    const { request } = answer;
    io.stdout(
      flags.format === 'json'
        ? `${JSON.stringify(request, null, 2)}\n`
        : `${into} requires ${request.requiredApprovals} approval${request.requiredApprovals === 1 ? '' : 's'}: request ${request.id} is waiting for them. Another person approves it with \`sluice approval approve ${into} ${request.id}\`.\n`,
    );
    return;
  }
  const applied = answer;
  io.stdout(
    flags.format === 'json'
      ? `${JSON.stringify(applied, null, 2)}\n`
      : `Promoted: ${applied.id} (${into} is now at ${applied.resultCommit?.slice(0, 7)}).\n`,
  );
}

export async function promoteHistory(
  target: ApiTarget,
  io: CliIo,
  workspace: string,
  flags: PromoteFlags,
): Promise<void> {
  const page = await callApi<Page<Promotion>>(
    target,
    'GET',
    `/workspaces/${encodeURIComponent(workspace)}/promotions`,
  );
  if (flags.format === 'json') {
    io.stdout(`${JSON.stringify(page.items, null, 2)}\n`);
    return;
  }
  io.stdout(
    `${renderTable(
      ['ID', 'KIND', 'STATUS', 'FROM', 'BEFORE', 'AFTER', 'BY', 'AT'],
      page.items.map((p) => [
        p.id,
        p.kind,
        p.status,
        p.sourceWorkspaceId ?? '-',
        p.targetCommit.slice(0, 7),
        p.resultCommit?.slice(0, 7) ?? '-',
        p.via === 'git push' ? `${p.createdBy} (git push)` : p.createdBy,
        p.createdAt,
      ]),
    )}\n`,
  );
}

export async function promoteRevert(
  target: ApiTarget,
  io: CliIo,
  promotion: string,
  flags: PromoteFlags,
): Promise<void> {
  const reverted = await callApi<Promotion>(
    target,
    'POST',
    `/promotions/${encodeURIComponent(promotion)}/revert`,
  );
  io.stdout(
    flags.format === 'json'
      ? `${JSON.stringify(reverted, null, 2)}\n`
      : `Reverted ${promotion}: new commit ${reverted.resultCommit?.slice(0, 7)} (${reverted.id}).\n`,
  );
}
