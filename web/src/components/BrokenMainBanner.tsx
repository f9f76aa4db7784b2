import { useEffect, useState } from 'react';
import { api, type Workspace, type WorkspaceStatus } from '../api.js';

/**
 * A banner on every page of a workspace whose `main` no longer loads (a push broke meltano.yml):
 * the error with its file, line and column, and the commit the workspace runs meanwhile. The
 * workspace is read again on each page, so a push made elsewhere shows without a reload.
 */
export function BrokenMainBanner({
  workspaceId,
  initial,
}: {
  readonly workspaceId: string;
  readonly initial: WorkspaceStatus;
}) {
  const [status, setStatus] = useState(initial);
  useEffect(() => {
    let current = true;
    api<Workspace>('GET', `/workspaces/${workspaceId}`).then(
      (workspace) => {
        if (current) setStatus(workspace.status);
      },
      // The page itself reports a failing server; the banner keeps what it knew.
      () => undefined,
    );
    return () => {
      current = false;
    };
  }, [workspaceId]);

  const { error, commit, lastGoodCommit } = status;
  if (!error || error.commit !== commit) return null;
  const where = error.file ? `${error.file}${error.line ? `:${error.line}:${error.column ?? 1}` : ''}` : null;
  // The message starts with its place already when it has one: shown once.
  const text =
    where && error.message.startsWith(`${where}: `) ? error.message.slice(where.length + 2) : error.message;
  return (
    <div className="error banner" role="alert" aria-label="main does not load">
      <strong>main does not load</strong>
      {where ? (
        <>
          {' at '}
          <code>{where}</code>
        </>
      ) : null}
      : {text}{' '}
      {lastGoodCommit
        ? `This workspace keeps running its last good commit, ${lastGoodCommit.slice(0, 7)}, until a fix is pushed.`
        : 'Nothing can run until a fix is pushed.'}
    </div>
  );
}
