import { randomUUID } from 'node:crypto';

/** The environments every new project starts with; `dev` is the default. */
export const STANDARD_ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;

/**
 * The files of a new Meltano project, as `sluice init` and new workspaces create it: environments
 * dev, staging and prod, `default_environment: dev`, and a `.gitignore` that keeps secrets (`.env`)
 * and local state out of Git.
 */
export function scaffoldProject(projectId: string = randomUUID()): Record<string, string> {
  return {
    'meltano.yml': [
      'default_environment: dev',
      `project_id: ${projectId}`,
      'environments:',
      ...STANDARD_ENVIRONMENTS.map((name) => `- name: ${name}`),
      'plugins: {}',
      '',
    ].join('\n'),
    '.gitignore': ['.env', '.sluice/', '.meltano/', 'output/', ''].join('\n'),
  };
}
