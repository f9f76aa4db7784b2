import type { JsonValue } from './messages.js';

/**
 * What one line a target prints on stdout means. Singer targets print their state there as the
 * bare value, one JSON object per line (singer-python targets `json.dumps(state)`, SDK targets the
 * state JSON); Meltano stores each line `json.loads` accepts as the new state. Sluice takes a JSON
 * object as the state, unwraps a `{"type": "STATE", "value": ...}` message (which Meltano would
 * store whole) when its value is an object, and leaves everything else to the log: plain text,
 * JSON that is not an object, and other Singer messages a target may echo (`echoed`: their content
 * is data, which the log must not repeat).
 */
export type TargetOutputLine =
  | { readonly kind: 'blank' }
  | { readonly kind: 'state'; readonly value: JsonValue }
  | { readonly kind: 'other'; readonly reason: string; readonly echoed?: true };

const ECHOED_MESSAGES = new Set(['SCHEMA', 'RECORD', 'ACTIVATE_VERSION', 'BATCH']);

function isObject(value: JsonValue | undefined): value is { readonly [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads one line of a target's stdout (see `TargetOutputLine`). */
export function readTargetLine(line: string): TargetOutputLine {
  const text = line.trim();
  if (text === '') return { kind: 'blank' };
  // Only a line that starts like an object can be one: text lines skip the parser.
  if (text[0] !== '{') return { kind: 'other', reason: 'not a JSON object' };
  let object: { readonly [key: string]: JsonValue };
  try {
    object = JSON.parse(text);
  } catch {
    return { kind: 'other', reason: 'not valid JSON' };
  }
  if (object.type === 'STATE') {
    // A state that is not an object would replace good bookmarks with nothing a tap resumes from.
    return isObject(object.value)
      ? { kind: 'state', value: object.value }
      : { kind: 'other', reason: 'a STATE message whose value is not an object' };
  }
  if (typeof object.type === 'string' && ECHOED_MESSAGES.has(object.type)) {
    return { kind: 'other', reason: `a ${object.type} message, not a state`, echoed: true };
  }
  return { kind: 'state', value: object };
}
