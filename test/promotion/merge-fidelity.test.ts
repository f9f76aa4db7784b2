import { describe, it } from 'vitest';
import { mergeTheirs } from '../../src/promotion/git-merge.js';
import { buildPair, type Edit, type PairSpec, stockMergeTheirs, treeListing } from './repo-pair.js';

/** Numbered lines, `count` of them, with some replaced: a file whose hunks are easy to aim at. */
function lines(count: number, replace: Readonly<Record<number, string>> = {}, eol = '\n'): string {
  return Array.from({ length: count }, (_, i) => replace[i + 1] ?? `line ${i + 1}`).join(eol) + eol;
}

/** Bytes git takes as binary (a NUL in the first 8000), differing by `seed`. */
function binary(seed: number, size = 2048): Buffer {
  return Buffer.from(Array.from({ length: size }, (_, i) => (i * 31 + seed * 7) % 256));
}

const nothing: Edit = () => {};

interface Scenario extends PairSpec {
  readonly name: string;
}

/** Cases git's `-X theirs` resolves by itself: Sluice's tree must be the very tree git makes. */
const RELATED: readonly Scenario[] = [
  {
    name: 'disjoint edits in one file and in separate files',
    base: (t) => {
      t.write('a.txt', lines(20));
      t.write('b.txt', 'b\n');
      t.write('c.txt', 'c\n');
    },
    target: (t) => {
      t.write('a.txt', lines(20, { 2: 'target 2' }));
      t.write('b.txt', 'b by target\n');
    },
    source: (t) => {
      t.write('a.txt', lines(20, { 18: 'source 18' }));
      t.write('c.txt', 'c by source\n');
    },
  },
  {
    name: 'edits in the same hunk (content conflict: the source wins)',
    base: (t) => t.write('a.txt', lines(10)),
    target: (t) => t.write('a.txt', lines(10, { 5: 'target 5' })),
    source: (t) => t.write('a.txt', lines(10, { 5: 'source 5' })),
  },
  {
    name: 'a conflicting hunk and a clean hunk in one file (only the conflicting one takes the source)',
    base: (t) => t.write('a.txt', lines(30)),
    target: (t) => t.write('a.txt', lines(30, { 3: 'target 3', 25: 'target 25' })),
    source: (t) => t.write('a.txt', lines(30, { 3: 'source 3', 10: 'source 10' })),
  },
  {
    name: 'both sides delete and insert around the same lines',
    base: (t) => t.write('a.txt', lines(12)),
    target: (t) => t.write('a.txt', lines(12).replace('line 6\nline 7\n', 'target inserted\n')),
    source: (t) => t.write('a.txt', lines(12).replace('line 7\n', 'source a\nsource b\n')),
  },
  {
    name: 'a conflict on the last line of files without a final newline',
    base: (t) => t.write('a.txt', 'one\ntwo\nthree'),
    target: (t) => t.write('a.txt', 'one\ntwo\nthree by target'),
    source: (t) => t.write('a.txt', 'one\ntwo\nthree by source'),
  },
  {
    name: 'a conflict in a file with CRLF line endings',
    base: (t) => t.write('a.txt', lines(8, {}, '\r\n')),
    target: (t) => t.write('a.txt', lines(8, { 4: 'target 4' }, '\r\n')),
    source: (t) => t.write('a.txt', lines(8, { 4: 'source 4' }, '\r\n')),
  },
  {
    name: 'the same file added on both sides with different content (add/add)',
    base: (t) => t.write('keep.txt', 'keep\n'),
    target: (t) => t.write('new.txt', lines(6, { 2: 'target 2' })),
    source: (t) => t.write('new.txt', lines(6, { 2: 'source 2', 5: 'source 5' })),
  },
  {
    name: 'the same file added on both sides with the same content',
    base: (t) => t.write('keep.txt', 'keep\n'),
    target: (t) => t.write('new.txt', 'same\n'),
    source: (t) => t.write('new.txt', 'same\n'),
  },
  {
    name: 'a rename in the target and an edit in the source',
    base: (t) => t.write('old/name.py', lines(20)),
    target: (t) => t.move('old/name.py', 'new/name.py'),
    source: (t) => t.write('old/name.py', lines(20, { 10: 'source 10' })),
  },
  {
    name: 'a rename in the source and an edit in the target',
    base: (t) => t.write('old/name.py', lines(20)),
    target: (t) => t.write('old/name.py', lines(20, { 10: 'target 10' })),
    source: (t) => t.move('old/name.py', 'new/name.py'),
  },
  {
    name: 'a rename with an edit in the source and a conflicting edit in the target',
    base: (t) => t.write('orig.sql', lines(20)),
    target: (t) => t.write('orig.sql', lines(20, { 4: 'target 4', 15: 'target 15' })),
    source: (t) => {
      t.move('orig.sql', 'renamed.sql');
      t.write('renamed.sql', lines(20, { 4: 'source 4' }));
    },
  },
  {
    name: 'both sides rename the same file to the same name',
    base: (t) => t.write('a.txt', lines(10)),
    target: (t) => t.move('a.txt', 'b.txt'),
    source: (t) => t.move('a.txt', 'b.txt'),
  },
  {
    name: 'a file deleted in the source and unchanged in the target',
    base: (t) => {
      t.write('gone.txt', 'gone\n');
      t.write('stay.txt', 'stay\n');
    },
    target: (t) => t.write('stay.txt', 'stay by target\n'),
    source: (t) => t.remove('gone.txt'),
  },
  {
    name: 'a file deleted in the target and unchanged in the source',
    base: (t) => {
      t.write('gone.txt', 'gone\n');
      t.write('stay.txt', 'stay\n');
    },
    target: (t) => t.remove('gone.txt'),
    source: (t) => t.write('stay.txt', 'stay by source\n'),
  },
  {
    name: 'the same file deleted on both sides',
    base: (t) => {
      t.write('gone.txt', 'gone\n');
      t.write('stay.txt', 'stay\n');
    },
    target: (t) => t.remove('gone.txt'),
    source: (t) => t.remove('gone.txt'),
  },
  {
    name: 'the executable bit set in the source, content edited in the target',
    base: (t) => t.write('run.sh', lines(10)),
    target: (t) => t.write('run.sh', lines(10, { 9: 'target 9' })),
    source: (t) => t.executable('run.sh'),
  },
  {
    name: 'the executable bit set in the target, content edited in the source',
    base: (t) => t.write('run.sh', lines(10)),
    target: (t) => t.executable('run.sh'),
    source: (t) => t.write('run.sh', lines(10, { 9: 'source 9' })),
  },
  {
    name: 'the executable bit cleared in the source',
    base: (t) => {
      t.write('run.sh', '#!/bin/sh\n');
      t.executable('run.sh');
    },
    target: nothing,
    source: (t) => t.executable('run.sh', false),
  },
  {
    name: 'the executable bit set in the target and a conflicting edit on both sides',
    base: (t) => t.write('run.sh', lines(10)),
    target: (t) => {
      t.write('run.sh', lines(10, { 5: 'target 5' }));
      t.executable('run.sh');
    },
    source: (t) => t.write('run.sh', lines(10, { 5: 'source 5' })),
  },
  {
    name: 'the executable bit set in the source and a conflicting edit on both sides',
    base: (t) => t.write('run.sh', lines(10)),
    target: (t) => t.write('run.sh', lines(10, { 5: 'target 5' })),
    source: (t) => {
      t.write('run.sh', lines(10, { 5: 'source 5' }));
      t.executable('run.sh');
    },
  },
  {
    name: 'a binary file changed in the source only',
    base: (t) => t.write('data.bin', binary(1)),
    target: (t) => t.write('other.txt', 'x\n'),
    source: (t) => t.write('data.bin', binary(2)),
  },
  {
    name: 'a binary file changed in the target only',
    base: (t) => t.write('data.bin', binary(1)),
    target: (t) => t.write('data.bin', binary(3)),
    source: (t) => t.write('other.txt', 'x\n'),
  },
  {
    name: 'a binary file changed on both sides (-X theirs takes the source whole)',
    base: (t) => t.write('data.bin', binary(1)),
    target: (t) => t.write('data.bin', binary(3)),
    source: (t) => t.write('data.bin', binary(2)),
  },
  {
    name: 'a symbolic link retargeted on both sides',
    base: (t) => {
      t.write('a.txt', 'a\n');
      t.write('b.txt', 'b\n');
      t.write('c.txt', 'c\n');
      t.link('current', 'a.txt');
    },
    target: (t) => t.link('current', 'b.txt'),
    source: (t) => t.link('current', 'c.txt'),
  },
  {
    name: 'nested folders: deep adds on both sides, a folder removed and a folder renamed in the source',
    base: (t) => {
      t.write('transform/models/staging/stg_users.sql', lines(5));
      t.write('transform/models/marts/users.sql', lines(5));
      t.write('orchestrate/dags/old/dag.py', lines(5));
      t.write('extract/a b/ü.json', '{}\n');
    },
    target: (t) => {
      t.write('transform/models/staging/stg_orders.sql', 'target\n');
      t.write('transform/models/marts/users.sql', lines(5, { 1: 'target 1' }));
      t.write('extract/a b/ü.json', '{"t": 1}\n');
    },
    source: (t) => {
      t.write('transform/models/staging/deep/er/still/stg_events.sql', 'source\n');
      t.remove('orchestrate/dags/old');
      t.move('transform/models/marts', 'transform/models/reporting');
    },
  },
  {
    name: 'many files edited, added and removed on both sides',
    base: (t) => {
      for (let i = 0; i < 300; i++) t.write(`pkg/m${i % 10}/f${i}.txt`, lines(12));
    },
    target: (t) => {
      for (let i = 0; i < 300; i += 3) t.write(`pkg/m${i % 10}/f${i}.txt`, lines(12, { 2: `target ${i}` }));
      // Never a file the source edits (that would be modify/delete, which git leaves unresolved).
      for (let i = 1; i < 300; i += 30) t.remove(`pkg/m${i % 10}/f${i}.txt`);
      for (let i = 0; i < 20; i++) t.write(`pkg/target/n${i}.txt`, `${i}\n`);
    },
    source: (t) => {
      for (let i = 0; i < 300; i += 2) t.write(`pkg/m${i % 10}/f${i}.txt`, lines(12, { 2: `source ${i}` }));
      for (let i = 0; i < 300; i += 5) t.write(`pkg/m${i % 10}/f${i}.txt`, lines(12, { 11: `source ${i}` }));
      for (let i = 7; i < 300; i += 30) t.remove(`pkg/m${i % 10}/f${i}.txt`);
      for (let i = 0; i < 20; i++) t.write(`pkg/source/n${i}.txt`, `${i}\n`);
    },
  },
];

const UNRELATED: readonly Scenario[] = [
  {
    name: 'disjoint files',
    target: (t) => t.write('target.txt', 'target\n'),
    source: (t) => t.write('source.txt', 'source\n'),
  },
  {
    name: 'the same path with different content (add/add without a base)',
    target: (t) => t.write('a.txt', lines(10, { 3: 'target 3' })),
    source: (t) => t.write('a.txt', lines(10, { 3: 'source 3', 8: 'source 8' })),
  },
  {
    name: 'the same path with the same content',
    target: (t) => t.write('a.txt', lines(10)),
    source: (t) => t.write('a.txt', lines(10)),
  },
  {
    name: 'a binary file at the same path on both sides',
    target: (t) => t.write('logo.png', binary(5)),
    source: (t) => t.write('logo.png', binary(6)),
  },
  {
    name: 'nested folders with some paths in common',
    target: (t) => {
      t.write('transform/models/a.sql', 'select 1\n');
      t.write('transform/models/common.sql', 'select target\n');
      t.write('README.md', '# Target\n');
    },
    source: (t) => {
      t.write('transform/models/b.sql', 'select 2\n');
      t.write('transform/models/common.sql', 'select source\n');
      t.write('transform/macros/m.sql', '{% macro m() %}{% endmacro %}\n');
      t.write('README.md', '# Source\n');
    },
  },
  {
    name: 'an executable file on one side only',
    target: (t) => t.write('x.txt', 'x\n'),
    source: (t) => {
      t.write('bin/run.sh', '#!/bin/sh\necho hi\n');
      t.executable('bin/run.sh');
    },
  },
];

describe('mergeTheirs', () => {
  const cases = [
    ...RELATED.map((s) => ['related histories', s.name, s] as const),
    ...UNRELATED.map((s) => ['unrelated histories', s.name, s] as const),
  ];
  // Concurrent (each case is its own pair of repositories): assertions go through the case's own expect.
  it.concurrent.for(cases)('%s, %s: the tree of git merge -X theirs', async ([, , scenario], { expect }) => {
    const pair = await buildPair(scenario);
    const merge = await mergeTheirs(`${pair.target}/.git`, pair.targetCommit, pair.sourceCommit);
    const stock = await stockMergeTheirs(pair);
    expect(stock.resolved, 'stock git resolves this case by itself').toBe(true);
    if (merge.tree !== stock.tree) {
      // A readable difference before the bare tree ids.
      expect(await treeListing(pair.target, merge.tree)).toEqual(await treeListing(pair.target, stock.tree));
    }
    expect(merge.tree).toBe(stock.tree);
    expect(merge.baseCommit === null).toBe(scenario.base === undefined);
  });

  // git merge reads merge drivers from the target's .gitattributes (`*.csv merge=union`, `binary`);
  // merge-tree in a bare repository (git 2.39) and merge-file do not: Sluice merges such files by line.
  it.todo("honours the merge attributes of the target's .gitattributes as git merge does");
});
