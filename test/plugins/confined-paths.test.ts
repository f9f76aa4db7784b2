import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SluiceError } from '../../src/errors.js';
import { tapCsv } from '../../src/plugins/builtin/tap-csv.js';
import { targetJsonl } from '../../src/plugins/builtin/target-jsonl.js';
import { targetPostgres } from '../../src/plugins/builtin/target-postgres.js';
import { makeFolder, openForReading, pathScope, resolveSetting } from '../../src/plugins/confined-paths.js';
import { installPlugins } from '../../src/runs/install.js';
import { loadYaml } from '../helpers/temp-project.js';

/**
 * What a server's built-in plugins may open (`confinePaths`), for the cases a pushed commit
 * cannot set up and a server test cannot reach: hard links, a link swapped in after the check,
 * a FIFO, certificate files. The attacks through Git are in test/security/paths-*.test.ts.
 */

let base: string;
let root: string;
/** A file outside the project, standing for the server's secrets. */
let secret: string;
const SECRET_TEXT = 'id,secret_column_3f9a\n1,x\n';

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'sluice-confined-'));
  root = join(base, 'project');
  mkdirSync(join(root, 'data'), { recursive: true });
  secret = join(base, 'secret.csv');
  writeFileSync(secret, SECRET_TEXT);
  writeFileSync(join(root, 'data/own.csv'), 'id,name\n1,one\n');
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const where = { plugin: 'tap-csv', setting: 'files[0].path', value: 'x.csv' };

async function refusal(promise: Promise<unknown>): Promise<SluiceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SluiceError);
  const sluice = error as SluiceError;
  expect(sluice.code).toBe('validation_failed');
  expect(sluice.message).not.toContain(base);
  expect(sluice.message).not.toContain('secret_column');
  return sluice;
}

async function lines(iterable: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const line of iterable) out.push(line);
  return out;
}

describe('confined paths', () => {
  it('reads a file inside the project, through a link that stays inside too', async () => {
    symlinkSync('data/own.csv', join(root, 'alias.csv'));
    const scope = await pathScope({ root, confined: true });
    const path = await resolveSetting(scope, { ...where, value: 'alias.csv' });
    const handle = await openForReading(scope, path, where);
    expect(await handle.readFile('utf8')).toBe('id,name\n1,one\n');
    await handle.close();
  });

  it('refuses a file with another hard link, which may be outside (a path cannot tell)', async () => {
    linkSync(secret, join(root, 'data/hard.csv'));
    const error = await refusal(
      lines(
        tapCsv(
          { files: [{ entity: 'x', path: 'data/hard.csv', keys: ['id'] }] },
          { projectRoot: root, confinePaths: true },
        ),
      ),
    );
    expect(error.message).toContain('hard links');
    // Unconfined (the local CLI) nothing changes: the file is read.
    const local = await lines(
      tapCsv({ files: [{ entity: 'x', path: 'data/hard.csv', keys: ['id'] }] }, { projectRoot: root }),
    );
    expect(local.join('')).toContain('secret_column');
  });

  it('checks what was opened: a link swapped in for the file after the check is refused', async () => {
    const scope = await pathScope({ root, confined: true });
    const checked = await resolveSetting(scope, { ...where, value: 'data/swap.csv' });
    // Between the check and the open, the file becomes a link out (O_NOFOLLOW refuses it) ...
    symlinkSync(secret, join(root, 'data/swap.csv'));
    await refusal(openForReading(scope, checked, where));
    // ... or a folder on its way does (the opened file's real path says where it is).
    const folder = await resolveSetting(scope, { ...where, value: 'moved/own.csv' });
    symlinkSync(base, join(root, 'moved'));
    writeFileSync(join(base, 'own.csv'), SECRET_TEXT);
    await refusal(openForReading(scope, folder, where));
  });

  it('refuses a FIFO at once instead of waiting for a writer', async () => {
    execFileSync('mkfifo', [join(root, 'data/pipe.csv')]);
    const error = await refusal(
      lines(
        tapCsv(
          { files: [{ entity: 'x', path: 'data/pipe.csv', keys: ['id'] }] },
          { projectRoot: root, confinePaths: true },
        ),
      ),
    );
    expect(error.message).toContain('not a regular file');
  });

  it('makes no folder outside the project, even one level through a link', async () => {
    symlinkSync(base, join(root, 'out'));
    const scope = await pathScope({ root, confined: true });
    const setting = { plugin: 'target-jsonl', setting: 'destination_path', value: 'out/new/deeper' };
    await refusal(
      (async () => {
        await makeFolder(scope, await resolveSetting(scope, setting), setting);
      })(),
    );
    await refusal(
      targetJsonl({ destination_path: 'out/new' }, (async function* () {})(), () => undefined, {
        projectRoot: root,
        confinePaths: true,
      }),
    );
    expect(() => readFileSync(join(base, 'new'))).toThrow(/ENOENT/);
  });

  it('refuses a dangling link, whose target a write would create outside', async () => {
    symlinkSync(join(base, 'created-outside'), join(root, 'dangling'));
    const scope = await pathScope({ root, confined: true });
    await refusal(resolveSetting(scope, { ...where, value: 'dangling/x.jsonl' }));
  });

  it("refuses target-postgres certificate files outside the project, and the server's home folder", async () => {
    const config = {
      host: '127.0.0.1',
      port: 1,
      user: 'x',
      database: 'x',
      ssl_enable: true,
      ssl_mode: 'require' as const,
    };
    for (const path of ['../secret.csv', secret, '~/.postgresql/root.crt']) {
      const error = await refusal(
        targetPostgres(
          { ...config, ssl_certificate_authority: path },
          (async function* () {})(),
          () => undefined,
          {
            projectRoot: root,
            confinePaths: true,
          },
        ),
      );
      expect(error.message).toContain('ssl_certificate_authority');
      expect(error.message).toMatch(/outside|out of the project folder|home folder|absolute path/);
    }
  });
});

describe('the install step', () => {
  it('refuses to remove or build a virtualenv through a link under .sluice/venvs', async () => {
    const project = loadYaml('plugins:\n  extractors:\n  - name: victim\n    pip_url: ./nothing\n');
    const victim = join(base, 'victim');
    mkdirSync(victim);
    writeFileSync(join(victim, 'keep'), 'precious');
    mkdirSync(join(project.root, '.sluice/venvs'), { recursive: true });
    symlinkSync(base, join(project.root, '.sluice/venvs/extractors'));
    const error = await installPlugins({
      project,
      runtime: { shell: {}, dotenv: {} },
      names: ['victim'],
    }).then(
      () => undefined,
      (e: unknown) => e as SluiceError,
    );
    expect(error?.message).toContain('.sluice/venvs/extractors/victim');
    expect(readFileSync(join(victim, 'keep'), 'utf8')).toBe('precious');
  });
});
