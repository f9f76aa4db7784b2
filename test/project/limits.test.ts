import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../src/errors.js';
import { globMatcher } from '../../src/project/glob.js';
import { measureValue, PROJECT_LIMITS } from '../../src/project/limits.js';
import { loadProject } from '../../src/project/load.js';
import { folderSource } from '../../src/project/project-source.js';
import { parseYamlFile } from '../../src/project/yaml-file.js';
import { sharedPath } from '../helpers/shared-paths.js';
import { tempProject } from '../helpers/temp-project.js';

const CORPUS = sharedPath('meltano-corpus');

/** Loads the files as a project from inside its folder (messages name files as `meltano.yml:3:5`). */
function refusal(files: Readonly<Record<string, string>>): SluiceError {
  const root = realpathSync(tempProject(files));
  const before = process.cwd();
  process.chdir(root);
  try {
    loadProject(folderSource(root));
  } catch (error) {
    if (error instanceof SluiceError) return error;
    throw error;
  } finally {
    process.chdir(before);
  }
  throw new Error('expected the project to be refused');
}

interface Refusal {
  readonly what: string;
  readonly files: Readonly<Record<string, string>>;
  readonly limit: keyof typeof PROJECT_LIMITS;
  /** How the message starts: where the limit was passed. */
  readonly at: string;
  readonly says?: string;
}

const plugin = (config: readonly string[]) =>
  [
    'plugins:',
    '  extractors:',
    '  - name: tap-x',
    '    config:',
    ...config.map((l) => `      ${l}`),
    '',
  ].join('\n');

describe('project limits', () => {
  it('leave the largest of the 20 real projects far below each of them', () => {
    let keys = 0;
    let depth = 0;
    let bytes = 0;
    let files = 0;
    for (const name of readdirSync(CORPUS).filter((n) => statSync(join(CORPUS, n)).isDirectory())) {
      const project = loadProject(folderSource(join(CORPUS, name)));
      let projectKeys = 0;
      for (const file of project.files) {
        const text = readFileSync(join(CORPUS, name, file), 'utf8');
        const size = measureValue(parseYamlFile(file, text).value, file);
        projectKeys += size.keys;
        depth = Math.max(depth, size.depth);
        bytes = Math.max(bytes, Buffer.byteLength(text));
      }
      keys = Math.max(keys, projectKeys);
      files = Math.max(files, project.files.length);
    }
    // Measured today: 1,260 keys, 10 levels, 17 KB, 11 files.
    expect(keys * 20).toBeLessThan(PROJECT_LIMITS.keys);
    expect(depth * 3).toBeLessThan(PROJECT_LIMITS.depth);
    expect(bytes * 50).toBeLessThan(PROJECT_LIMITS.fileBytes);
    expect(files * 10).toBeLessThan(PROJECT_LIMITS.includedFiles);
  });

  it.each<Refusal>([
    {
      what: 'nesting deeper than the limit, where the parse stopped',
      files: { 'meltano.yml': `x: ${'['.repeat(80)}${']'.repeat(80)}\n` },
      limit: 'depth',
      at: 'meltano.yml:1:68: ',
    },
    {
      what: 'a dotted key that nests deeper than the limit, by its path',
      files: { 'meltano.yml': plugin([`${Array(80).fill('a').join('.')}: 1`]) },
      limit: 'depth',
      at: 'meltano.yml: ',
      says: 'at plugins.extractors[0].config.a.a.a',
    },
    {
      what: 'a setting name of 80 dotted parts, where the setting is',
      files: {
        'meltano.yml': `plugins:\n  extractors:\n  - name: tap-x\n    settings:\n    - name: ${Array(80).fill('a').join('.')}\n`,
      },
      limit: 'depth',
      at: 'meltano.yml:5:7: ',
    },
    {
      what: 'more aliases than the limit, at the first one over it',
      files: { 'meltano.yml': `a: &a 1\nb: [${Array(1001).fill('*a').join(', ')}]\n` },
      limit: 'aliases',
      at: 'meltano.yml:2:',
    },
    {
      what: 'an alias bomb, by the path where its expansion passed the limit',
      files: {
        'meltano.yml': [
          `l0: &l0 [${Array(9).fill('x').join(', ')}]`,
          ...Array.from(
            { length: 8 },
            (_, i) => `l${i + 1}: &l${i + 1} [${Array(9).fill(`*l${i}`).join(', ')}]`,
          ),
          '',
        ].join('\n'),
      },
      limit: 'keys',
      at: 'meltano.yml: ',
      says: 'at l4[',
    },
    {
      what: 'keys over the limit across included files, at the file that passed it',
      files: {
        'meltano.yml': "include_paths: ['./part-*.yml']\n",
        'part-1.yml': plugin(Array.from({ length: 30_000 }, (_, i) => `a${i}: 1`)),
        'part-2.yml': plugin(Array.from({ length: 30_000 }, (_, i) => `b${i}: 1`)).replace('tap-x', 'tap-y'),
      },
      limit: 'keys',
      at: 'part-2.yml: ',
    },
    {
      what: 'a lock file whose settings go past the key limit',
      files: {
        'meltano.yml': 'plugins:\n  extractors:\n  - name: tap-x\n    variant: v\n',
        'plugins/extractors/tap-x--v.lock': JSON.stringify({
          settings: Array.from({ length: 30_000 }, (_, i) => ({ name: `s${i}` })),
        }),
      },
      limit: 'keys',
      at: 'plugins/extractors/tap-x--v.lock: ',
    },
    {
      what: 'an included file over the byte limit',
      files: {
        'meltano.yml': "include_paths: ['./big.yml']\n",
        'big.yml': `x: "${'y'.repeat(1_100_000)}"\n`,
      },
      limit: 'fileBytes',
      at: 'big.yml: ',
    },
  ])(
    'refuses $what ($limit)',
    ({
      files,
      limit,
      at,
      says,
    }: {
      files: Record<string, string>;
      limit: string;
      at: string;
      says?: string;
    }) => {
      const error = refusal(files);
      expect(error.code).toBe('project_too_large');
      expect(error.details).toMatchObject({
        limit,
        max: PROJECT_LIMITS[limit as keyof typeof PROJECT_LIMITS],
      });
      expect(error.message.startsWith(at), error.message).toBe(true);
      expect(error.message).toContain(`(${limit})`);
      if (says) expect(error.message).toContain(says);
    },
  );

  it('refuses an alias bomb of 9^12 leaves without expanding it, and a 300,000-key file at once', () => {
    const bomb = [`l0: &l0 [${Array(9).fill('lol').join(', ')}]`];
    for (let i = 1; i <= 12; i++)
      bomb.push(
        `l${i}: &l${i} [${Array(9)
          .fill(`*l${i - 1}`)
          .join(', ')}]`,
      );
    const keys = plugin(Array.from({ length: 300_000 }, (_, i) => `k${i}: 1`));
    for (const text of [bomb.join('\n'), keys]) {
      const started = performance.now();
      expect(() => parseYamlFile('meltano.yml', text)).toThrow(
        expect.objectContaining({ code: 'project_too_large' }),
      );
      // Expanding 9^12 leaves would take hours; refusing takes milliseconds (a loose bound).
      expect(performance.now() - started).toBeLessThan(1_000);
    }
  });

  it('counts an alias as one node of its own, not as the nodes it names, until it is expanded', () => {
    const file = parseYamlFile('meltano.yml', 'a: &a {x: 1, y: [1, 2]}\nb: *a\nc: [*a, *a]\n');
    // a: 1 + {x, y: [1, 2]} = 5 keys and items; b: 1 + 4; c: 1 + 2 + 2 * 4.
    expect(file.keys).toBe(5 + 5 + 11);
  });
});

describe('include_paths globs', () => {
  const paths = [
    'meltano.yml',
    'a.yml',
    'conf/a.yml',
    'conf/deep/er/b.yml',
    'conf/x.yaml',
    'env-1.yml',
    'env-x.yml',
  ];
  it.each([
    ['*.yml', ['meltano.yml', 'a.yml', 'env-1.yml', 'env-x.yml']],
    ['conf/*.yml', ['conf/a.yml']],
    ['conf/**/*.yml', ['conf/a.yml', 'conf/deep/er/b.yml']],
    ['**/*.yml', paths.filter((p) => p.endsWith('.yml'))],
    ['conf/**', ['conf/a.yml', 'conf/deep/er/b.yml', 'conf/x.yaml']],
    ['env-[0-9].yml', ['env-1.yml']],
    ['env-[!0-9].yml', ['env-x.yml']],
    ['./conf/?.yml', ['conf/a.yml']],
    ['**', paths],
  ])('matches %s as Python globs do', (pattern, expected) => {
    const matcher = globMatcher(pattern);
    expect(paths.filter((path) => matcher.test(path))).toEqual(expected);
  });

  it('matches without backtracking: 30 ** against a path 40 folders deep, and a*a*a... against aaaa...', () => {
    const started = performance.now();
    expect(
      globMatcher(`${Array(30).fill('**').join('/')}/x.yml`).test(`${Array(40).fill('d').join('/')}/y.yml`),
    ).toBe(false);
    expect(globMatcher(`${'a*'.repeat(30)}b`).test('a'.repeat(200))).toBe(false);
    // A backtracking matcher takes hours on either; this one, microseconds (a loose bound).
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
