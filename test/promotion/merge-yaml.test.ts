import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../src/errors.js';
import type { YamlValue } from '../../src/project/model.js';
import { parseYamlFile } from '../../src/project/yaml-file.js';
import { type MergeOverride, mergeValues } from '../../src/promotion/merge-values.js';
import { mergeYamlText } from '../../src/promotion/merge-yaml-text.js';

const OWNED = { targetOwnedKeys: ['project_id', 'default_environment'] };

const merge = (base: YamlValue | undefined, target: YamlValue | undefined, source: YamlValue | undefined) =>
  mergeValues(base, target, source, OWNED);

/** Overrides as `path -> kind`, the way a reader scans them. */
const overridesOf = (overrides: readonly MergeOverride[]) =>
  overrides.map((o) => [
    o.path.map((step) => (typeof step === 'string' ? step : `[${step.name}]`)).join('.'),
    o.kind,
  ]);

const parsed = (text: string | null) =>
  text === null ? undefined : parseYamlFile('meltano.yml', text).value;

describe('mergeValues', () => {
  describe('three-way, key by key', () => {
    it.each<{ rule: string; base: YamlValue; target: YamlValue; source: YamlValue; merged: YamlValue }>([
      {
        rule: 'takes a change only the source made',
        base: { a: 1, b: 1 },
        target: { a: 1, b: 1 },
        source: { a: 2, b: 1 },
        merged: { a: 2, b: 1 },
      },
      {
        rule: 'keeps a change only the target made',
        base: { a: 1, b: 1 },
        target: { a: 1, b: 3 },
        source: { a: 1, b: 1 },
        merged: { a: 1, b: 3 },
      },
      {
        rule: 'keeps both sides’ changes to different keys',
        base: { a: 1, b: 1 },
        target: { a: 1, b: 3 },
        source: { a: 2, b: 1 },
        merged: { a: 2, b: 3 },
      },
      {
        rule: 'merges nested mappings key by key',
        base: { env: { A: '1', B: '1' } },
        target: { env: { A: '1', B: 'target', C: 'target' } },
        source: { env: { A: 'source', B: '1' } },
        merged: { env: { A: 'source', B: 'target', C: 'target' } },
      },
      {
        rule: 'treats a list of scalars as one value',
        base: { select: ['a.*'] },
        target: { select: ['a.*', 'b.*'] },
        source: { select: ['a.*'] },
        merged: { select: ['a.*', 'b.*'] },
      },
      {
        rule: 'takes a change of shape made by the source',
        base: { config: { a: 1 } },
        target: { config: { a: 1 } },
        source: { config: 'inline' },
        merged: { config: 'inline' },
      },
    ])('$rule', ({ base, target, source, merged }) => {
      const result = merge(base, target, source);
      expect(result.value).toEqual(merged);
      expect(result.overrides).toEqual([]);
    });

    it('lets the source win where both sides changed a key, and reports what the target had', () => {
      const result = merge({ a: 1, b: 1 }, { a: 'target', b: 1 }, { a: 'source', b: 1 });
      expect(result.value).toEqual({ a: 'source', b: 1 });
      expect(result.overrides).toEqual([{ path: ['a'], target: 'target', source: 'source', kind: 'edited' }]);
    });

    it('reports nothing where both sides made the same change', () => {
      const result = merge({ a: 1 }, { a: 2 }, { a: 2 });
      expect(result).toEqual({ value: { a: 2 }, overrides: [] });
    });

    it('reports a list of scalars both sides changed as one override', () => {
      const result = merge({ select: ['a'] }, { select: ['a', 't'] }, { select: ['a', 's'] });
      expect(result.value).toEqual({ select: ['a', 's'] });
      expect(overridesOf(result.overrides)).toEqual([['select', 'edited']]);
    });
  });

  describe('named lists (plugins, environments, schedules, jobs)', () => {
    it('matches items by name, whatever their position, and keeps items only the target added', () => {
      const base = { extractors: [{ name: 'tap-a' }, { name: 'tap-b' }] };
      const target = { extractors: [{ name: 'tap-b' }, { name: 'tap-a' }, { name: 'tap-target' }] };
      const source = { extractors: [{ name: 'tap-source' }, { name: 'tap-a' }, { name: 'tap-b' }] };
      const result = merge(base, target, source);
      // The source's order first, then what only the target has.
      expect(result.value).toEqual({
        extractors: [{ name: 'tap-source' }, { name: 'tap-a' }, { name: 'tap-b' }, { name: 'tap-target' }],
      });
      expect(result.overrides).toEqual([]);
    });

    it('never duplicates an item both sides added, and merges its keys (the source winning)', () => {
      const base = { extractors: [{ name: 'tap-a' }] };
      const target: YamlValue = {
        extractors: [{ name: 'tap-a' }, { name: 'tap-new', config: { x: 't', y: 't' } }],
      };
      const source: YamlValue = { extractors: [{ name: 'tap-new', config: { x: 's' } }, { name: 'tap-a' }] };
      const result = merge(base, target, source);
      expect(result.value).toEqual({
        extractors: [{ name: 'tap-new', config: { x: 's', y: 't' } }, { name: 'tap-a' }],
      });
      // Without a base for tap-new, the two additions cannot be told apart from edits.
      expect(overridesOf(result.overrides)).toEqual([['extractors.[tap-new].config.x', 'differs']]);
    });

    it('merges settings inside an environment’s plugin by names and keys', () => {
      const env = (config: YamlValue): YamlValue => ({
        environments: [
          { name: 'dev' },
          { name: 'prod', config: { plugins: { extractors: [{ name: 'tap-a', config: config }] } } },
        ],
      });
      const result = merge(
        env({ domain: 'base', user: 'base' }),
        env({ domain: 'base', user: 'target' }),
        env({ domain: 'source', user: 'base' }),
      );
      expect(result.value).toEqual(env({ domain: 'source', user: 'target' }));
      expect(result.overrides).toEqual([]);
    });

    it('treats a list from an empty one as a named list', () => {
      const result = merge(
        { jobs: [] },
        { jobs: [{ name: 'target-job' }] },
        { jobs: [{ name: 'source-job' }] },
      );
      expect(result.value).toEqual({ jobs: [{ name: 'source-job' }, { name: 'target-job' }] });
    });
  });

  describe('deletions', () => {
    it('removes a key the source removed and the target left alone', () => {
      expect(merge({ a: 1, b: 1 }, { a: 1, b: 1 }, { a: 1 })).toEqual({ value: { a: 1 }, overrides: [] });
    });

    it('keeps a removal only the target made', () => {
      expect(merge({ a: 1, b: 1 }, { a: 1 }, { a: 1, b: 1 })).toEqual({ value: { a: 1 }, overrides: [] });
    });

    it('removes a plugin the source removed, reporting the target’s edits to it', () => {
      const base = {
        extractors: [
          { name: 'tap-a', pip_url: 'a' },
          { name: 'tap-b', pip_url: 'b' },
        ],
      };
      const target = {
        extractors: [
          { name: 'tap-a', pip_url: 'a==2' },
          { name: 'tap-b', pip_url: 'b' },
        ],
      };
      const source = { extractors: [{ name: 'tap-b', pip_url: 'b' }] };
      const result = merge(base, target, source);
      expect(result.value).toEqual({ extractors: [{ name: 'tap-b', pip_url: 'b' }] });
      expect(result.overrides).toEqual([
        {
          path: ['extractors', { name: 'tap-a' }],
          target: { name: 'tap-a', pip_url: 'a==2' },
          source: undefined,
          kind: 'deleted-by-source',
        },
      ]);
    });

    it('takes the source’s change to a key the target removed, and reports it', () => {
      const result = merge({ a: 1, b: 1 }, { a: 1 }, { a: 1, b: 2 });
      expect(result.value).toEqual({ a: 1, b: 2 });
      expect(result.overrides).toEqual([{ path: ['b'], target: undefined, source: 2, kind: 'edited' }]);
    });

    it('brings back, and reports, a plugin the target removed and the source changed', () => {
      const base = { extractors: [{ name: 'tap-a', pip_url: 'a' }] };
      const source = { extractors: [{ name: 'tap-a', pip_url: 'a==2' }] };
      const result = merge(base, { extractors: [] }, source);
      expect(result.value).toEqual(source);
      expect(overridesOf(result.overrides)).toEqual([['extractors', 'edited']]);
      const named = merge(base, { extractors: [{ name: 'tap-b' }] }, source);
      expect(named.value).toEqual({ extractors: [{ name: 'tap-a', pip_url: 'a==2' }, { name: 'tap-b' }] });
      expect(overridesOf(named.overrides)).toEqual([['extractors.[tap-a]', 'edited']]);
    });

    it('removes the whole value when both sides removed it', () => {
      expect(merge({ a: 1 }, undefined, undefined)).toEqual({ value: undefined, overrides: [] });
    });
  });

  describe('without a base (unrelated histories)', () => {
    it('keeps keys and items only one side has, and takes the source’s value where they differ', () => {
      const result = merge(
        undefined,
        {
          a: 't',
          only_target: 1,
          plugins: { extractors: [{ name: 'tap-t' }, { name: 'tap-both', x: 't' }] },
        },
        { a: 's', only_source: 1, plugins: { extractors: [{ name: 'tap-both', x: 's' }] } },
      );
      expect(result.value).toEqual({
        a: 's',
        only_source: 1,
        plugins: { extractors: [{ name: 'tap-both', x: 's' }, { name: 'tap-t' }] },
        only_target: 1,
      });
      expect(overridesOf(result.overrides)).toEqual([
        ['a', 'differs'],
        ['plugins.extractors.[tap-both].x', 'differs'],
      ]);
    });
  });

  describe("the target's own keys", () => {
    it.each([
      ['with a base', { project_id: 'base', default_environment: 'dev' }],
      ['without a base', undefined],
    ])('keeps project_id and default_environment of the target (%s), reporting nothing', (_, base) => {
      const result = merge(
        base,
        { project_id: 'target', default_environment: 'prod' },
        { project_id: 'source', default_environment: 'dev' },
      );
      expect(result).toEqual({ value: { project_id: 'target', default_environment: 'prod' }, overrides: [] });
    });

    it('keeps the target without one when it has none', () => {
      expect(merge(undefined, {}, { project_id: 'source' })).toEqual({ value: {}, overrides: [] });
    });

    it('owns only top-level keys', () => {
      const result = merge(
        { x: { project_id: 'b' } },
        { x: { project_id: 't' } },
        { x: { project_id: 's' } },
      );
      expect(result.value).toEqual({ x: { project_id: 's' } });
    });
  });
});

describe('mergeYamlText', () => {
  const BASE = `version: 1
default_environment: dev
project_id: base-id
plugins:
  extractors:
  - name: tap-a
    pip_url: tap-a
`;

  it("keeps the source file's comments, order and quoting while applying the target's edits", () => {
    const source = `version: 1
default_environment: dev
# The project's id (owned by each workspace).
project_id: 'source-id'
plugins:
  extractors:
  # Our CRM.
  - name: tap-a   # pinned below
    pip_url: "tap-a==2.0"   # 2.0 fixes pagination
  - name: tap-source
`;
    const target = BASE.replace('base-id', 'target-id').replace(
      '    pip_url: tap-a\n',
      '    pip_url: tap-a\n    config:\n      start_date: 2024-01-01\n',
    );
    const result = mergeYamlText('meltano.yml', BASE, target, source, OWNED);
    expect(result.reformatted).toBe(false);
    expect(result.overrides).toEqual([]);
    for (const comment of [
      "# The project's id (owned by each workspace).\n",
      '  # Our CRM.\n',
      '  - name: tap-a   # pinned below\n',
      '"tap-a==2.0"   # 2.0 fixes pagination\n',
    ])
      expect(result.text).toContain(comment);
    expect(parsed(result.text)).toEqual({
      version: 1,
      default_environment: 'dev',
      project_id: 'target-id',
      plugins: {
        extractors: [
          { name: 'tap-a', pip_url: 'tap-a==2.0', config: { start_date: '2024-01-01' } },
          { name: 'tap-source' },
        ],
      },
    });
  });

  it('never writes a plugin twice when both sides added it at different places', () => {
    const target = `${BASE}  - name: tap-new\n    pip_url: tap-new==1\n`;
    const source = BASE.replace(
      '  extractors:\n',
      '  extractors:\n  - name: tap-new\n    pip_url: tap-new==2\n',
    );
    const result = mergeYamlText('meltano.yml', BASE, target, source, OWNED);
    expect(result.text?.match(/name: tap-new/g)).toHaveLength(1);
    expect(parsed(result.text)).toMatchObject({
      plugins: { extractors: [{ name: 'tap-new', pip_url: 'tap-new==2' }, { name: 'tap-a' }] },
    });
    expect(overridesOf(result.overrides)).toEqual([['plugins.extractors.[tap-new].pip_url', 'differs']]);
  });

  it('reports the target values the source overrides', () => {
    const target = BASE.replace('pip_url: tap-a', 'pip_url: tap-a==1');
    const source = BASE.replace('pip_url: tap-a', 'pip_url: tap-a==2');
    const result = mergeYamlText('meltano.yml', BASE, target, source, OWNED);
    expect(result.text).toBe(source);
    expect(result.overrides).toEqual([
      {
        path: ['plugins', 'extractors', { name: 'tap-a' }, 'pip_url'],
        target: 'tap-a==1',
        source: 'tap-a==2',
        kind: 'edited',
      },
    ]);
  });

  it('removes what the source removed and keeps what only the target added', () => {
    const target = `${BASE}  - name: tap-target\n`;
    const source = BASE.replace('  - name: tap-a\n    pip_url: tap-a\n', '  - name: tap-b\n');
    const result = mergeYamlText('meltano.yml', BASE, target, source, OWNED);
    expect(parsed(result.text)).toMatchObject({
      plugins: { extractors: [{ name: 'tap-b' }, { name: 'tap-target' }] },
    });
    expect(result.overrides).toEqual([]);
  });

  it('removes a file the source removed and the target left alone', () => {
    expect(mergeYamlText('plugins/x.yml', BASE, BASE, null, OWNED)).toEqual({
      text: null,
      overrides: [],
      reformatted: false,
    });
  });

  it('starts from the target when the source has no such file', () => {
    const result = mergeYamlText('meltano.yml', null, BASE, null, OWNED);
    expect(result.text).toBe(BASE);
  });

  it('keeps the target’s own keys in the source’s layout', () => {
    const source = BASE.replace('project_id: base-id', 'project_id: source-id # generated');
    const target = BASE.replace('project_id: base-id', 'project_id: target-id');
    const result = mergeYamlText('meltano.yml', null, target, source, OWNED);
    expect(result.text).toBe(BASE.replace('project_id: base-id', 'project_id: target-id # generated'));
  });

  it('prints the merged value afresh rather than write text that would read back differently', () => {
    const source = 'plugins: {extractors: [{name: tap-a}, {name: tap-b}]}\n';
    const target = 'plugins: {extractors: [{name: tap-a, pip_url: x}, {name: tap-c}]}\n';
    const result = mergeYamlText('meltano.yml', null, target, source, OWNED);
    expect(parsed(result.text)).toEqual({
      plugins: { extractors: [{ name: 'tap-a', pip_url: 'x' }, { name: 'tap-b' }, { name: 'tap-c' }] },
    });
  });

  it('refuses a side that does not parse, naming the file and line', () => {
    let caught: unknown;
    try {
      mergeYamlText('meltano.yml', BASE, BASE, `${BASE}  - name: [unclosed\n`, OWNED);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SluiceError);
    expect((caught as SluiceError).code).toBe('yaml_syntax');
    expect((caught as SluiceError).message).toMatch(/^meltano\.yml:\d+:\d+: invalid YAML/);
  });
});
