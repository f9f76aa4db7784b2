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
  access: 'read' | 'write';
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
