import { recordChange, SERVER_ACTOR } from '../audit/audit-log.js';
import { SluiceError } from '../errors.js';
import type { RunService } from '../runs/run-service.js';
import { claimScheduleMark, scheduleMarks } from '../store/schedule-marks.js';
import { listWorkspaces, type WorkspaceRow } from '../store/workspaces.js';
import type { WorkspaceContext } from '../workspaces/context.js';
import { schedulesEnabled } from '../workspaces/workspace-service.js';
import { projectAtCommit, refreshWorkspaceState } from '../workspaces/workspace-state.js';
import { dueSlot } from './cron.js';
import { scheduleBlocks, viewSchedules } from './schedule-view.js';

/** How often the scheduler looks for due schedules: cron's resolution is a minute. */
const TICK_MS = 20_000;
const PAGE = 200;

/**
 * Starts the due schedules of every workspace whose schedules are switched on, as runs of that
 * workspace (trigger `schedule`). Each schedule's last start is kept in the database, so a slot
 * missed while the server was down runs once when it is back, and a schedule seen for the first
 * time waits for its next slot instead of running at once. Every server of a cluster ticks; a
 * slot is claimed by compare-and-swap on the mark, so each fires once however many servers run.
 */
export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();

  constructor(
    private readonly context: WorkspaceContext,
    private readonly runs: RunService,
    private readonly tickMs = TICK_MS,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.ticking = this.ticking
        .then(() => this.tick(new Date()))
        .catch((error: unknown) => {
          console.error('scheduler:', error);
        });
    }, this.tickMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.ticking;
  }

  /** One pass over every workspace at `now`. */
  async tick(now: Date): Promise<void> {
    const db = this.context.store.db;
    let after: { createdAt: string; id: string } | undefined;
    for (;;) {
      const page = await listWorkspaces(db, { scope: '*', limit: PAGE, ...(after ? { after } : {}) });
      for (const row of page) {
        if (!schedulesEnabled(row)) continue;
        // One workspace's fault (a broken repository, a database error) must not stop the others.
        try {
          await this.tickWorkspace(row, now);
        } catch (error) {
          console.error(`scheduler: workspace ${row.id}:`, error);
        }
      }
      const last = page[page.length - 1];
      if (!last || page.length < PAGE) return;
      after = { createdAt: last.created_at, id: last.id };
    }
  }

  private async tickWorkspace(workspace: WorkspaceRow, now: Date): Promise<void> {
    const db = this.context.store.db;
    const row = await refreshWorkspaceState(this.context, workspace);
    if (!row.last_good_commit) return;
    const { project } = await projectAtCommit(this.context, row);
    const marks = await scheduleMarks(db, row.id);
    for (const view of viewSchedules(project, now)) {
      if (view.status !== 'valid' || view.interval.kind !== 'cron') continue;
      const mark = marks.get(view.name);
      if (mark === undefined) {
        await claimScheduleMark(db, row.id, view.name, undefined, now.toISOString());
        continue;
      }
      if (dueSlot(view.interval, new Date(mark), now) === null) continue;
      // Marked first: a schedule whose run is refused is not retried every tick until its next
      // slot. Another server that claimed the slot first starts the run instead.
      if (!(await claimScheduleMark(db, row.id, view.name, mark, now.toISOString()))) continue;
      const schedule = project.schedules.find((s) => s.name === view.name);
      if (!schedule) continue;
      try {
        const started = await this.runs.start(row, 'scheduler', {
          ...(view.runs.kind === 'job' ? { job: view.runs.job } : { blocks: scheduleBlocks(schedule) }),
          trigger: 'schedule',
          scheduleName: view.name,
          // Meltano runs an extractor-loader schedule under the schedule's name; the environment
          // prefix keeps it apart per environment, as all Sluice state is.
          ...(view.runs.kind === 'elt' ? { stateId: `${row.active_environment}:${view.name}` } : {}),
        });
        await recordChange(this.context.store, SERVER_ACTOR, {
          action: 'run.start',
          workspaceId: row.id,
          subject: started.id,
          after: { schedule: view.name, blocks: started.blocks, job: started.job, commit: started.commit },
        });
      } catch (error) {
        if (!(error instanceof SluiceError)) throw error;
        await this.runs.recordRefused(row, 'scheduler', {
          blocks: scheduleBlocks(schedule),
          scheduleName: view.name,
          error,
        });
      }
    }
  }
}
