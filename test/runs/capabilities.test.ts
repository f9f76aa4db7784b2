import { describe, expect, it } from 'vitest';
import { pluginCapabilities } from '../../src/runs/capabilities.js';
import { tapArguments } from '../../src/runs/tap-arguments.js';
import { loadYaml } from '../helpers/temp-project.js';

const PROJECT = `
plugins:
  extractors:
  - name: tap-declared
    capabilities: [properties, discover]
  - name: tap-child
    inherit_from: tap-declared
  - name: tap-grandchild
    inherit_from: tap-child
  - name: tap-own
    inherit_from: tap-declared
    capabilities: [catalog]
  - name: tap-custom
    namespace: tap_custom
  - name: tap-locked
    variant: acme
  - name: tap-csv
    namespace: tap_csv_custom
  - name: tap-csv-child
    inherit_from: tap-csv-plain
  - name: tap-csv-plain
    inherit_from: tap-csv
  - name: tap-unknown
`;

const LOCK = JSON.stringify({ name: 'tap-locked', variant: 'acme', capabilities: ['catalog', 'state'] });

describe('pluginCapabilities', () => {
  const project = loadYaml(PROJECT, { 'plugins/extractors/tap-locked--acme.lock': LOCK });
  const of = (name: string) => {
    const plugin = project.plugins.find((p) => p.name === name);
    if (!plugin) throw new Error(name);
    const found = pluginCapabilities(project, plugin);
    return [[...found.names].sort(), found.source];
  };

  it.each([
    ['tap-declared', [['discover', 'properties'], 'declared']],
    ['tap-child', [['discover', 'properties'], 'inherited']],
    ['tap-grandchild', [['discover', 'properties'], 'inherited']],
    ['tap-own', [['catalog'], 'declared']],
    ['tap-custom', [[], 'custom definition']],
    ['tap-locked', [['catalog', 'state'], 'lock file']],
    ['tap-csv', [[], 'custom definition']],
    ['tap-csv-child', [[], 'custom definition']],
    ['tap-unknown', [['catalog', 'discover', 'state'], 'assumed']],
  ])('finds those of %s', (name, expected) => {
    expect(of(name)).toEqual(expected);
  });

  it("gives the built-in tap-csv, and plugins inheriting from it, MeltanoLabs tap-csv's", () => {
    const builtin = loadYaml(
      'plugins:\n  extractors:\n  - name: tap-csv\n  - name: my-csv\n    inherit_from: tap-csv\n',
    );
    for (const plugin of builtin.plugins) {
      const found = pluginCapabilities(builtin, plugin);
      expect([[...found.names].sort(), found.source]).toEqual([['catalog', 'discover', 'state'], 'built-in']);
    }
  });
});

describe('tapArguments', () => {
  const files = { config: 'c.json', catalog: 'cat.json', state: 's.json' };
  it.each([
    [
      ['catalog', 'discover', 'state'],
      ['--config', 'c.json', '--catalog', 'cat.json', '--state', 's.json'],
    ],
    [
      ['properties', 'state'],
      ['--config', 'c.json', '--properties', 'cat.json', '--state', 's.json'],
    ],
    [
      ['catalog', 'properties'],
      ['--config', 'c.json', '--catalog', 'cat.json'],
    ],
    [['discover'], ['--config', 'c.json']],
    [[], ['--config', 'c.json']],
  ])('with %j runs %j', (capabilities, args) => {
    expect(tapArguments(new Set(capabilities), files)).toEqual(args);
  });
});
