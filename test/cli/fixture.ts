import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CliResult, runCli } from '../helpers/run-cli.js';
import { tempProject } from '../helpers/temp-project.js';

/**
 * The project the CLI tests run against: tap-auth0 with a base config, overrides in dev and prod,
 * nothing in staging, and its secret in `.env`. Comments, quotes and blank lines are there so that
 * edits can be checked byte for byte.
 */
export const AUTH0_YML = `# Sluice CLI fixture
version: 1
default_environment: dev
project_id: 6d3c6b4a-0000-4000-8000-000000000000

plugins:
  extractors:
  - name: tap-auth0
    namespace: tap_auth0
    pip_url: tap-auth0
    settings:
    - name: domain
    - name: client_id
    - name: client_secret
      sensitive: true
    - name: batch_size
      kind: integer
    config:
      domain: base.auth0.com   # the tenant
      client_id: "base-client"
  - name: tap-x
    namespace: tap_x
  loaders:
  - name: target-jsonl
    config:
      destination_path: output

environments:
- name: dev
  config:
    plugins:
      extractors:
      - name: tap-auth0
        config:
          domain: dev.auth0.com
- name: staging
- name: prod
  env:
    REGION: eu
  config:
    plugins:
      extractors:
      - name: tap-auth0
        config:
          domain: prod.auth0.com
          client_id: prod-client
          region: $REGION
`;

export const AUTH0_DOTENV = "TAP_AUTH0_CLIENT_SECRET='s3cret'\n";

/** A temporary copy of the fixture project (plus or instead of some files). */
export function auth0Project(files: Readonly<Record<string, string>> = {}): string {
  return tempProject({ 'meltano.yml': AUTH0_YML, '.env': AUTH0_DOTENV, ...files });
}

/** Runs `sluice ARGS` in `cwd` with only the given variables. */
export function sluice(
  cwd: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): CliResult {
  return runCli(args, cwd, env);
}

export function readText(root: string, file: string): string {
  return readFileSync(join(root, file), 'utf8');
}

/** `text` with `before`, which must occur exactly once, replaced by `after`. */
export function replaceOnce(text: string, before: string, after: string): string {
  const count = text.split(before).length - 1;
  if (count !== 1) throw new Error(`"${before}" occurs ${count} times, expected once`);
  return text.replace(before, after);
}
