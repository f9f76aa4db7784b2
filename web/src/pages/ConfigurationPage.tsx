import { useEffect, useState } from 'react';
import { api, type Workspace } from '../api.js';
import { ErrorMessage } from '../components/ErrorMessage.js';

type Cell = { readonly value: unknown; readonly source: string } | null;

interface Configuration {
  readonly commit: string;
  readonly activeEnvironment: string | null;
  readonly environments: string[];
  readonly plugins: {
    readonly name: string;
    readonly type: string;
    readonly settings: {
      readonly name: string;
      readonly sensitive: boolean;
      readonly differs: boolean;
      readonly values: Record<string, Cell>;
    }[];
  }[];
}

const SOURCE_WORDS: Record<string, string> = {
  environment: 'environment',
  meltano_env: 'environment',
  meltano_yml: 'meltano.yml',
  env: 'variable',
  dotenv: '.env',
  inherited: 'inherited',
  default: 'default',
};

function show(value: unknown): string {
  if (value === null || value === undefined) return '—';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Where a value comes from, in words: "from dev environment", "from meltano.yml". */
function origin(source: string, environment: string): string {
  const word = SOURCE_WORDS[source] ?? source;
  return word === 'environment' ? `from ${environment} environment` : `from ${word}`;
}

/** Each plugin's settings across all environments, the active one highlighted. */
export function ConfigurationPage({ workspace }: { readonly workspace: Workspace }) {
  const [config, setConfig] = useState<Configuration | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    api<Configuration>('GET', `/workspaces/${workspace.id}/configuration`).then(setConfig).catch(setError);
  }, [workspace.id]);

  return (
    <section>
      <h1>Configuration</h1>
      <ErrorMessage error={error} />
      {config === null && !error ? <p aria-busy="true">Resolving the configuration…</p> : null}
      {config ? (
        <>
          <p>
            Active environment: <strong>{config.activeEnvironment ?? 'none'}</strong>; commit{' '}
            <code>{config.commit.slice(0, 12)}</code>. Pipelines of this workspace run with the highlighted
            column.
          </p>
          {config.plugins.length === 0 ? <p>The project has no plugins yet.</p> : null}
          {config.plugins.map((plugin) => (
            <PluginTable key={`${plugin.type}/${plugin.name}`} plugin={plugin} config={config} />
          ))}
        </>
      ) : null}
    </section>
  );
}

function PluginTable({
  plugin,
  config,
}: {
  readonly plugin: Configuration['plugins'][number];
  readonly config: Configuration;
}) {
  const active = config.activeEnvironment;
  const titleId = `plugin-${plugin.type}-${plugin.name}`;
  return (
    <section className="card" aria-labelledby={titleId}>
      <h2 id={titleId}>
        {plugin.name} <span className="muted">({plugin.type.replace(/s$/, '')})</span>
      </h2>
      {plugin.settings.length === 0 ? (
        <p className="muted">No settings.</p>
      ) : (
        <div className="table-scroll">
          <table className="matrix" aria-label={`${plugin.name} settings by environment`}>
            <thead>
              <tr>
                <th scope="col">Setting</th>
                {config.environments.map((env) => (
                  <th key={env} scope="col" className={env === active ? 'active' : undefined}>
                    {env}
                    {env === active ? <span className="badge">active</span> : null}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {plugin.settings.map((setting) => (
                <tr key={setting.name} className={setting.differs ? 'differs' : undefined}>
                  <th scope="row">
                    {setting.name}
                    {setting.sensitive ? <span className="badge">secret</span> : null}
                    {setting.differs ? <span className="badge warn">differs</span> : null}
                  </th>
                  {config.environments.map((env) => {
                    const cell = setting.values[env] ?? null;
                    return (
                      <td
                        key={env}
                        className={env === active ? 'active' : undefined}
                        aria-current={env === active ? 'true' : undefined}
                      >
                        <span className="value">{show(cell?.value)}</span>
                        {cell && cell.value !== null ? (
                          <span className="source">{origin(cell.source, env)}</span>
                        ) : null}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
