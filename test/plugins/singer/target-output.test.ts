import { describe, expect, it } from 'vitest';
import { readTargetLine } from '../../../src/plugins/singer/target-output.js';

describe('readTargetLine', () => {
  it.each([
    [
      'a bare state, as singer-python targets print it',
      '{"bookmarks": {"a": {"id": 3}}}',
      { bookmarks: { a: { id: 3 } } },
    ],
    ['a bare state with surrounding spaces', '  {"currently_syncing": null}\r', { currently_syncing: null }],
    ['a STATE message, unwrapped', '{"type": "STATE", "value": {"bookmarks": {}}}', { bookmarks: {} }],
    [
      'a state whose own keys include type',
      '{"type": "custom", "bookmarks": {}}',
      { type: 'custom', bookmarks: {} },
    ],
  ])('takes %s as the new state', (_what, line, value) => {
    expect(readTargetLine(line)).toEqual({ kind: 'state', value });
  });

  it.each([
    ['plain text', 'INFO flushed 10 rows', 'not a JSON object'],
    ['broken JSON', '{"bookmarks": ', 'not valid JSON'],
    ['a JSON list', '[1, 2]', 'not a JSON object'],
    ['a JSON number', '42', 'not a JSON object'],
    [
      'a STATE message with a null value',
      '{"type": "STATE", "value": null}',
      'a STATE message whose value is not an object',
    ],
    ['a STATE message without a value', '{"type": "STATE"}', 'a STATE message whose value is not an object'],
  ])('leaves %s to the log', (_what, line, reason) => {
    expect(readTargetLine(line)).toEqual({ kind: 'other', reason });
  });

  it('marks an echoed Singer message, whose content is data the log must not repeat', () => {
    expect(readTargetLine('{"type": "RECORD", "stream": "a", "record": {"email": "x@y"}}')).toEqual({
      kind: 'other',
      reason: 'a RECORD message, not a state',
      echoed: true,
    });
  });

  it('skips blank lines', () => {
    expect(readTargetLine('   ')).toEqual({ kind: 'blank' });
  });
});
