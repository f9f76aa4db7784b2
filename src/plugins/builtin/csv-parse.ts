import { SluiceError } from '../../errors.js';

/**
 * The CSV dialect settings MeltanoLabs' tap-csv passes to Python's `csv.reader`, with the same
 * defaults, so a `files` entry that works there parses the same way here.
 */
export interface CsvDialect {
  readonly delimiter: string;
  readonly quotechar: string;
  /** A doubled quotechar inside a quoted field stands for one quotechar. */
  readonly doublequote: boolean;
  /** Removes any special meaning from the next character; `null` disables escaping. */
  readonly escapechar: string | null;
  /** Spaces right after a delimiter are dropped. */
  readonly skipinitialspace: boolean;
  /** Bad input (text after a closing quote, end of file inside quotes) is an error, not data. */
  readonly strict: boolean;
}

export const DEFAULT_DIALECT = {
  delimiter: ',',
  quotechar: '"',
  doublequote: true,
  escapechar: null,
  skipinitialspace: false,
  strict: false,
} as const satisfies CsvDialect;

/** One parsed row and the 1-based physical line it starts on (for error messages). */
export interface CsvRow {
  readonly fields: readonly string[];
  readonly line: number;
}

// Parser states, as small integers: the hot loop compares them on every character.
const START_FIELD = 0;
const IN_FIELD = 1;
const ESCAPE = 2;
const IN_QUOTED = 3;
const ESCAPE_IN_QUOTED = 4;
const QUOTE_IN_QUOTED = 5;
type State =
  | typeof START_FIELD
  | typeof IN_FIELD
  | typeof ESCAPE
  | typeof IN_QUOTED
  | typeof ESCAPE_IN_QUOTED
  | typeof QUOTE_IN_QUOTED;

/** Where `search` next occurs in `text` from `from`, or the text's length. */
function indexOrLength(text: string, search: string, from: number): number {
  const at = text.indexOf(search, from);
  return at < 0 ? text.length : at;
}

const NEWLINE = 0x0a;
const SPACE = 0x20;

/**
 * Parses CSV text arriving in chunks of any size, yielding rows as soon as they are complete, so a
 * file is never held in memory. Follows Python's `csv.reader` (what tap-csv uses): quotes are
 * special only at the start of a field, an empty line yields an empty row, and line endings are
 * read in universal-newline mode (`\r\n` and `\r` become `\n`, also inside quoted fields) because
 * tap-csv opens files in text mode.
 */
export async function* parseCsv(
  chunks: AsyncIterable<string>,
  dialect: CsvDialect,
  source: string,
): AsyncGenerator<CsvRow> {
  for await (const rows of parseCsvBatches(chunks, dialect, source)) yield* rows;
}

/**
 * `parseCsv`, yielding the rows each chunk completes together (never an empty list): a consumer
 * then pays for one asynchronous step per chunk rather than per row.
 */
export async function* parseCsvBatches(
  chunks: AsyncIterable<string>,
  dialect: CsvDialect,
  source: string,
): AsyncGenerator<readonly CsvRow[]> {
  const { doublequote, skipinitialspace, strict } = dialect;
  const delimiter = dialect.delimiter.charCodeAt(0);
  const quotechar = dialect.quotechar.charCodeAt(0);
  // No character code is negative: without an escapechar, nothing matches it.
  const escapeText = dialect.escapechar;
  const escapechar = escapeText === null ? -1 : escapeText.charCodeAt(0);
  let state = START_FIELD as State;
  let row: string[] = [];
  let field = '';
  let line = 1;
  let rowLine = 1;
  let pendingCR = false;

  const fail = (message: string): SluiceError =>
    new SluiceError('validation_failed', `${source}:${line}: ${message}`, { file: source, line });

  const endRow = (completed: CsvRow[]): void => {
    completed.push({ fields: row, line: rowLine });
    row = [];
    rowLine = line + 1;
  };

  // The states follow csv.reader's. Runs of ordinary characters (inside a field) are sliced out of
  // the chunk in one go; every other character is one step of the state machine. `line` counts
  // every `\n` consumed, data ones included.
  const consume = (text: string): CsvRow[] => {
    const completed: CsvRow[] = [];
    const length = text.length;
    let nextNewline = -1;
    let nextDelimiter = -1;
    let nextEscape = -1;
    let i = 0;
    while (i < length) {
      const c = text.charCodeAt(i);
      if (state === IN_FIELD) {
        // The field ends at the first line ending, delimiter or escapechar: found with indexOf
        // (fast on long text), each position kept until the parse has passed it.
        if (nextNewline < i) nextNewline = indexOrLength(text, '\n', i);
        if (nextDelimiter < i) nextDelimiter = indexOrLength(text, dialect.delimiter, i);
        if (escapeText !== null && nextEscape < i) nextEscape = indexOrLength(text, escapeText, i);
        let end = Math.min(nextDelimiter, nextNewline);
        if (escapeText !== null && nextEscape < end) end = nextEscape;
        const d = text.charCodeAt(end);
        if (end > i) field += text.slice(i, end);
        if (end === length) break;
        i = end + 1;
        if (d === NEWLINE) {
          row.push(field);
          field = '';
          endRow(completed);
          state = START_FIELD;
        } else if (d === escapechar) {
          state = ESCAPE;
        } else {
          row.push(field);
          field = '';
          state = START_FIELD;
        }
        if (d === NEWLINE) line++;
        continue;
      }
      if (state === IN_QUOTED) {
        let end = i;
        let d = c;
        while (d !== escapechar && d !== quotechar) {
          if (d === NEWLINE) line++;
          if (++end === length) break;
          d = text.charCodeAt(end);
        }
        if (end > i) field += text.slice(i, end);
        if (end === length) break;
        i = end + 1;
        if (d === escapechar) state = ESCAPE_IN_QUOTED;
        else state = doublequote ? QUOTE_IN_QUOTED : IN_FIELD;
        if (d === NEWLINE) line++;
        continue;
      }
      switch (state) {
        case START_FIELD:
          if (c === NEWLINE) {
            // An empty line is an empty row (as csv.reader yields []); a line ending after a
            // delimiter closes a last, empty field.
            if (row.length > 0) row.push('');
            endRow(completed);
          } else if (c === quotechar) {
            state = IN_QUOTED;
          } else if (c === escapechar) {
            state = ESCAPE;
          } else if (c === SPACE && skipinitialspace) {
            // dropped
          } else if (c === delimiter) {
            row.push('');
          } else {
            // An ordinary character starts the field: IN_FIELD takes it as data.
            state = IN_FIELD;
            continue;
          }
          break;
        case ESCAPE:
          field += text[i];
          state = IN_FIELD;
          break;
        case ESCAPE_IN_QUOTED:
          field += text[i];
          state = IN_QUOTED;
          break;
        case QUOTE_IN_QUOTED:
          if (c === quotechar) {
            field += text[i];
            state = IN_QUOTED;
          } else if (c === delimiter) {
            row.push(field);
            field = '';
            state = START_FIELD;
          } else if (c === NEWLINE) {
            row.push(field);
            field = '';
            endRow(completed);
            state = START_FIELD;
          } else if (strict) {
            throw fail(`'${dialect.delimiter}' expected after '${dialect.quotechar}'`);
          } else {
            // Text after a closing quote is data, an escapechar included.
            field += text[i];
            state = IN_FIELD;
          }
          break;
      }
      i++;
      if (c === NEWLINE) line++;
    }
    return completed;
  };

  for await (const raw of chunks) {
    // A chunk may end between the `\r` and `\n` of one line ending: hold the `\r` back.
    let text: string = pendingCR ? `\r${raw}` : raw;
    pendingCR = text.endsWith('\r');
    if (pendingCR) text = text.slice(0, -1);
    if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n');
    const rows = consume(text);
    if (rows.length > 0) yield rows;
  }
  const last = pendingCR ? consume('\n') : [];
  if (state === IN_QUOTED || state === ESCAPE_IN_QUOTED) {
    if (strict) throw fail('unexpected end of data inside a quoted field');
  }
  if (state !== START_FIELD || row.length > 0) {
    row.push(field);
    last.push({ fields: row, line: rowLine });
  }
  if (last.length > 0) yield last;
}
