import type { Generated } from 'kysely';

/**
 * The metadata database. Timestamps are ISO-8601 text and flags are 0/1 integers, so that the same
 * queries run unchanged on SQLite and PostgreSQL.
 */
export interface Database {
  workspaces: WorkspaceTable;
  repository_aliases: RepositoryAliasTable;
  tokens: TokenTable;
  promotions: PromotionTable;
  state: StateTable;
  secrets: SecretTable;
  runs: RunTable;
  run_log_lines: RunLogLineTable;
  workspace_states: WorkspaceStateTable;
  schedule_marks: ScheduleMarkTable;
  workers: WorkerTable;
  audit_log: AuditLogTable;
  promotion_requests: PromotionRequestTable;
  promotion_reviews: PromotionReviewTable;
}

export interface WorkspaceTable {
  id: string;
  name: string;
  /** The Git repository's name (`My-Workspace-dev-zgtzhjd`), unique. */
  repository_name: string;
  /** Kept by the server, not in the repository: the same content runs differently per workspace. */
  active_environment: string | null;
  created_at: string;
  updated_at: string;
  /** The last `main` commit the server looked at, and the last one whose project loaded. */
  checked_commit: string | null;
  last_good_commit: string | null;
  /** JSON of the load error of `checked_commit`, when it did not load. */
  config_error: string | null;
  /** Increases with every row change: counters only, never an order. */
  version: Generated<number>;
  /** 1: pushes are refused; only promotions and reverts change `main`. */
  protected: Generated<number>;
  /** JSON list of top-level meltano.yml keys that keep this workspace's value when promoted into; null: the default. */
  owned_keys: string | null;
  /** 1 or 0 when set; null: the default (on, except where the active environment is `dev`). */
  schedules_enabled: number | null;
  /**
   * `workspaceNameKey(name)` under a unique index: names are unique, compared NFKC and case folded.
   * Set by the store on every insert and rename (null only before migration 0006 filled it).
   */
  normalized_name: string | null;
  /** The workspace it is promoted from (dev for staging), or null: the route dev -> staging -> prod. */
  upstream_workspace_id: string | null;
  /** Approvals a promotion into it needs before it applies; null or 0: none. */
  required_approvals: number | null;
}

/** Old repository names of renamed workspaces: clones made before a rename keep working. */
export interface RepositoryAliasTable {
  name: string;
  workspace_id: string;
}

export interface TokenTable {
  id: string;
  name: string;
  /** SHA-256 of the token; the token itself is shown once and never stored. */
  token_hash: string;
  /** JSON array of workspace ids, or `*` for all. */
  workspaces: string;
  /** `approve`: write, and may approve promotion requests into its workspaces. */
  access: 'read' | 'write' | 'approve';
  admin: number;
  created_at: string;
  revoked_at: string | null;
}

/** One promotion into a workspace (or the revert of one), with its outcome. */
export interface PromotionTable {
  id: string;
  kind: 'promotion' | 'revert';
  source_workspace_id: string | null;
  target_workspace_id: string;
  source_commit: string | null;
  target_commit: string;
  /** Written before `main` moves, so that after a crash the outcome can be read off the repository. */
  result_commit: string | null;
  /** `applying` only while it runs (or if the server died then: reconciled at start). */
  status: 'applying' | 'applied' | 'failed';
  /** JSON: the preview's summary (files, configuration changes, warnings, conflicts). */
  summary: string;
  error: string | null;
  reverts_promotion_id: string | null;
  created_at: string;
  created_by: string;
}

/** Singer state of local runs, by Meltano state ID (`dev:tap-x-to-target-y`). */
export interface StateTable {
  state_id: string;
  /** JSON text: `{"singer_state": {...}}`, as Meltano stores and shows it. */
  value: string;
  updated_at: string;
}

/** A workspace's secret for one environment, or for all; the value only ever encrypted. */
export interface SecretTable {
  workspace_id: string;
  /** '' for all environments (a real name is never empty), so the primary key works on both databases. */
  environment: string;
  /** An environment variable name: plugins receive the value under it. */
  name: string;
  /** `v1.<key id>.<base64 of iv | tag | AES-256-GCM ciphertext>`: see secrets/secret-cipher.ts. */
  ciphertext: string;
  created_at: string;
  updated_at: string;
  /** The token name that last set it. */
  updated_by: string;
}

export type RunStatus = 'queued' | 'running' | 'success' | 'failed' | 'cancelled';

/** One pipeline run in a workspace (an attempt counter covers its retries). */
export interface RunTable {
  id: string;
  workspace_id: string;
  environment: string;
  commit: string;
  /** JSON array of the block names asked for (a job's name stays in `job`). */
  blocks: string;
  job: string | null;
  /** What the concurrency guard compares: the job name, or the blocks joined by spaces. */
  pipeline: string;
  status: RunStatus;
  trigger: 'api' | 'schedule';
  schedule_name: string | null;
  /** A state ID the run uses instead of the generated one (schedules of an extractor and loader). */
  state_id: string | null;
  attempt: number;
  max_retries: number;
  timeout_seconds: number | null;
  /** JSON object: RECORD messages by stream. */
  records_by_stream: string;
  /** JSON `{code, message}` of a failed or cancelled run. */
  error: string | null;
  created_at: string;
  created_by: string;
  started_at: string | null;
  ended_at: string | null;
  /** The worker (workers.id) executing it while `running`; what a lost worker's runs are found by. */
  worker_id: string | null;
  /** The PostgreSQL queue's job that delivered it (`<job id>@<locked by>`), to release it when its worker is lost. */
  queue_job: string | null;
}

/** A run's log, one redacted line per row. */
export interface RunLogLineTable {
  run_id: string;
  seq: number;
  at: string;
  text: string;
}

/** Singer state of a workspace's runs, by Meltano state ID: never shared between workspaces. */
export interface WorkspaceStateTable {
  workspace_id: string;
  state_id: string;
  value: string;
  updated_at: string;
}

/** When the scheduler last started each schedule of a workspace. */
export interface ScheduleMarkTable {
  workspace_id: string;
  schedule_name: string;
  last_run_at: string;
}

/** A process that executes runs, alive while its heartbeat is within the lease (runs/worker-lease.ts). */
export interface WorkerTable {
  id: string;
  name: string;
  /** `worker` (`sluice worker`) or `server` (`sluice serve` running pipelines itself). */
  kind: 'worker' | 'server';
  host: string;
  /** JSON `{environments: string[] | null, workspaces: string[] | null}`: what it takes (null: all). */
  labels: string;
  concurrency: number;
  started_at: string;
  last_heartbeat_at: string;
}

/** One change: who (the token, or the server itself), when, what, the value before and after. */
export interface AuditLogTable {
  id: string;
  created_at: string;
  /** Null for what the server does by itself (a schedule starting a run). */
  actor_token_id: string | null;
  actor_name: string;
  /** The workspace changed, or null (tokens). */
  workspace_id: string | null;
  /** `workspace.create`, `secret.set`, `git.push`, ... */
  action: string;
  /** What the action is about within its workspace: a secret's name, a promotion, a run, a ref. */
  subject: string | null;
  /** JSON, never a secret's value. */
  before: string | null;
  after: string | null;
}

/** A promotion waiting for approvals, frozen at the commits its preview saw. */
export interface PromotionRequestTable {
  id: string;
  target_workspace_id: string;
  source_workspace_id: string;
  source_commit: string;
  target_commit: string;
  /** JSON: the plan options (deleteTargetOnly). */
  options: string;
  /** JSON: the preview's summary (files, configuration diff, warnings). */
  summary: string;
  status: 'open' | 'applied' | 'rejected' | 'expired';
  required_approvals: number;
  created_at: string;
  created_by_token_id: string;
  created_by: string;
  decided_at: string | null;
  promotion_id: string | null;
}

export interface PromotionReviewTable {
  id: string;
  request_id: string;
  token_id: string;
  name: string;
  verdict: 'approve' | 'reject' | 'comment';
  comment: string | null;
  created_at: string;
}
