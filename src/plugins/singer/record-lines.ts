import { messageType, parseMessage } from './messages.js';

/** How the Singer libraries start a RECORD line: type first, then stream. */
export const RECORD_PREFIX = '{"type":"RECORD","stream":"';

/** Whether a trimmed line is a RECORD message; the usual layout is recognised from its start. */
export function isRecordLine(line: string): boolean {
  return line.startsWith(RECORD_PREFIX) || messageType(line) === 'RECORD';
}

/**
 * The stream of a RECORD line. The usual layout is read without parsing (the loaders' hot path);
 * anything else is parsed and validated, failing with `source` and the line number.
 */
export function recordStream(line: string, lineNumber: number, source: string): string {
  if (line.startsWith(RECORD_PREFIX)) {
    const end = line.indexOf('"', RECORD_PREFIX.length);
    const name = line.slice(RECORD_PREFIX.length, end);
    if (end > RECORD_PREFIX.length && !name.includes('\\')) return name;
  }
  return (parseMessage(line, lineNumber, source) as { stream: string }).stream;
}
