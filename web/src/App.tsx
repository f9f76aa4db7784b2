import { useCallback, useEffect, useState } from 'react';
import { ApiError, allWorkspaces, storedToken, storeToken, type Workspace } from './api.js';
import { BrokenMainBanner } from './components/BrokenMainBanner.js';
import { ErrorMessage } from './components/ErrorMessage.js';
import { WorkspaceMenu } from './components/WorkspaceMenu.js';
import { AuditPage } from './pages/AuditPage.js';
import { ConfigurationPage } from './pages/ConfigurationPage.js';
import { NewWorkspacePage } from './pages/NewWorkspacePage.js';
import { PromotePage } from './pages/PromotePage.js';
import { RunsPage } from './pages/RunsPage.js';
import { SettingsPage } from './pages/SettingsPage.js';
import { SignInPage } from './pages/SignInPage.js';
import { href, type Route, useRoute } from './route.js';

const TABS = [
  ['configuration', 'Configuration'],
  ['promote', 'Promote'],
  ['runs', 'Runs'],
  ['audit', 'Audit'],
  ['settings', 'Settings'],
] as const;

export function App() {
  const [token, setToken] = useState(storedToken);
  if (!token) {
    return (
      <SignInPage
        onSignedIn={(value) => {
          storeToken(value);
          setToken(value);
        }}
      />
    );
  }
  return (
    <Shell
      onSignOut={() => {
        storeToken(null);
        setToken(null);
      }}
    />
  );
}

/** The signed-in app: top bar with the workspace drop-down, the current workspace's pages. */
function Shell({ onSignOut }: { readonly onSignOut: () => void }) {
  const route = useRoute();
  const [workspaces, setWorkspaces] = useState<Workspace[] | null>(null);
  const [error, setError] = useState<unknown>(null);

  const reload = useCallback(async () => {
    try {
      setWorkspaces(await allWorkspaces());
      setError(null);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) onSignOut();
      else setError(e);
    }
  }, [onSignOut]);

  useEffect(() => {
    void reload();
  }, [reload]);

  const currentId = 'workspaceId' in route ? route.workspaceId : undefined;
  const current = workspaces?.find((w) => w.id === currentId);

  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href="#/">
          Sluice
        </a>
        <WorkspaceMenu workspaces={workspaces ?? []} current={current} />
        {current ? (
          <nav aria-label="Workspace pages" className="tabs">
            {TABS.map(([page, label]) => (
              <a
                key={page}
                href={href({ page, workspaceId: current.id })}
                aria-current={route.page === page ? 'page' : undefined}
              >
                {label}
              </a>
            ))}
          </nav>
        ) : null}
        <button type="button" className="link-button sign-out" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main className="content">
        <ErrorMessage error={error} />
        {current ? (
          <BrokenMainBanner
            key={`${current.id}:${route.page}`}
            workspaceId={current.id}
            initial={current.status}
          />
        ) : null}
        {workspaces === null && !error ? <p aria-busy="true">Loading workspaces…</p> : null}
        {workspaces !== null ? (
          <Page route={route} current={current} workspaces={workspaces} reload={reload} />
        ) : null}
      </main>
    </div>
  );
}

function Page({
  route,
  current,
  workspaces,
  reload,
}: {
  readonly route: Route;
  readonly current: Workspace | undefined;
  readonly workspaces: readonly Workspace[];
  readonly reload: () => Promise<void>;
}) {
  if (route.page === 'new') return <NewWorkspacePage onCreated={reload} />;
  if (route.page === 'home') {
    return (
      <section>
        <h1>Workspaces</h1>
        {workspaces.length === 0 ? (
          <p>
            No workspace yet. Open the drop-down menu and select <strong>New workspace</strong>.
          </p>
        ) : (
          <ul className="plain-list">
            {workspaces.map((w) => (
              <li key={w.id}>
                <a href={href({ page: 'configuration', workspaceId: w.id })}>{w.name}</a>{' '}
                <span className="muted">active environment: {w.activeEnvironment ?? 'none'}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
    );
  }
  if (!current) {
    return (
      <p role="alert" className="error">
        This workspace does not exist, or this token cannot see it. Pick one from the drop-down menu.
      </p>
    );
  }
  switch (route.page) {
    case 'settings':
      return <SettingsPage key={current.id} workspace={current} onChanged={reload} />;
    case 'configuration':
      return <ConfigurationPage key={current.id} workspace={current} />;
    case 'promote':
      return <PromotePage key={current.id} workspace={current} workspaces={workspaces} onChanged={reload} />;
    case 'runs':
      return <RunsPage key={current.id} workspace={current} />;
    case 'audit':
      return <AuditPage key={current.id} workspace={current} />;
  }
}
