import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runInProcess } from '../helpers/in-process-cli.js';
import { sharedPath } from '../helpers/shared-paths.js';
import { tempProject } from '../helpers/temp-project.js';

/**
 * The product page's tap-auth0 example, taken from the page itself: its meltano.yml, and the
 * values it lists for each active environment with where each comes from.
 */
const page = readFileSync(sharedPath('reference/promoting-changes-with-dataops.txt'), 'utf8');
const yaml = page
  .slice(page.indexOf('version: 1'), page.indexOf('When the workspace active environment is set to dev'))
  .trimEnd();

function expectations(environment: string): { setting: string; value: string; from: string }[] {
  const start = page.indexOf(`When the workspace active environment is set to ${environment}:`);
  const section = page.slice(start).split('When the workspace')[1] ?? '';
  return [...section.matchAll(/•\s+(\w+) of (\S+) \(from ([^)]+)\)/g)].map((m) => ({
    setting: m[1] as string,
    value: m[2] as string,
    from: m[3] as string,
  }));
}

describe("the product page's tap-auth0 example", () => {
  it.each(['dev', 'staging', 'prod'])(
    'gives exactly the values the page lists for %s, with their sources',
    async (environment) => {
      const root = tempProject({ 'meltano.yml': `${yaml}\n` });
      const expected = expectations(environment);
      expect(expected.map((e) => e.setting).sort()).toEqual(['client_id', 'domain']);

      const printed = await runInProcess(
        ['config', 'print', 'tap-auth0', '--environment', environment],
        root,
      );
      expect(printed.status).toBe(0);
      expect(JSON.parse(printed.stdout)).toEqual(
        Object.fromEntries(expected.map((e) => [e.setting, e.value])),
      );

      const listed = await runInProcess(
        ['config', 'list', 'tap-auth0', '--format', 'json', '--environment', environment],
        root,
      );
      const sources = Object.fromEntries(
        (JSON.parse(listed.stdout) as { name: string; source: string }[]).map((s) => [s.name, s.source]),
      );
      for (const e of expected) {
        expect(sources[e.setting]).toBe(
          e.from === 'base tap-auth0 definition' ? 'meltano_yml' : 'environment',
        );
        if (e.from !== 'base tap-auth0 definition') expect(e.from).toBe(`${environment} environment`);
      }
    },
  );

  it('uses default_environment (dev) when no environment is chosen, and says so on stderr', async () => {
    const root = tempProject({ 'meltano.yml': `${yaml}\n` });
    const printed = await runInProcess(['config', 'print', 'tap-auth0'], root);
    expect(JSON.parse(printed.stdout).client_id).toBe('39Pu9tTomnTv594VAFYnmRvkEpSlI7a6');
    expect(printed.stderr).toContain("environment 'dev' (from default_environment)");
  });
});
