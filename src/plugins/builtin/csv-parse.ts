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

type State = 'start_field' | 'in_field' | 'escape' | 'in_quoted' | 'escape_in_quoted' | 'quote_in_quoted';

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
  const { delimiter, quotechar, doublequote, escapechar, skipinitialspace, strict } = dialect;
  let state = 'start_field' as State;
  let row: string[] = [];
  let field = '';
  let line = 1;
  let rowLine = 1;
  let pendingCR = false;

  const fail = (message: string): SluiceError =>
    new SluiceError('validation_failed', `${source}:${line}: ${message}`, { file: source, line });

  const consume = (text: string): CsvRow[] => {
    const completed: CsvRow[] = [];
    for (let i = 0; i < text.length; i++) {
      const c = text[i] as string;
      switch (state) {
        case 'start_field':
          if (c === '\n') {
            // An empty line is an empty row (as csv.reader yields []); a line ending after a
            // delimiter closes a last, empty field.
            if (row.length > 0) row.push('');
            completed.push({ fields: row, line: rowLine });
            row = [];
            rowLine = line + 1;
          } else if (c === quotechar) {
            state = 'in_quoted';
          } else if (c === escapechar) {
            state = 'escape';
          } else if (c === ' ' && skipinitialspace) {
            // dropped
          } else if (c === delimiter) {
            row.push('');
          } else {
            field += c;
            state = 'in_field';
          }
          break;
        case 'in_field':
          if (c === '\n') {
            row.push(field);
            field = '';
            completed.push({ fields: row, line: rowLine });
            row = [];
            rowLine = line + 1;
            state = 'start_field';
          } else if (c === escapechar) {
            state = 'escape';
          } else if (c === delimiter) {
            row.push(field);
            field = '';
            state = 'start_field';
          } else {
            field += c;
          }
          break;
        case 'escape':
          field += c;
          state = 'in_field';
          break;
        case 'in_quoted':
          if (c === escapechar) {
            state = 'escape_in_quoted';
          } else if (c === quotechar) {
            state = doublequote ? 'quote_in_quoted' : 'in_field';
          } else {
            field += c;
          }
          break;
        case 'escape_in_quoted':
          field += c;
          state = 'in_quoted';
          break;
        case 'quote_in_quoted':
          if (c === quotechar) {
            field += c;
            state = 'in_quoted';
          } else if (c === delimiter) {
            row.push(field);
            field = '';
            state = 'start_field';
          } else if (c === '\n') {
            row.push(field);
            field = '';
            completed.push({ fields: row, line: rowLine });
            row = [];
            rowLine = line + 1;
            state = 'start_field';
          } else if (strict) {
            throw fail(`'${delimiter}' expected after '${quotechar}'`);
          } else {
            field += c;
            state = 'in_field';
          }
          break;
      }
      if (c === '\n') line++;
    }
    return completed;
  };

  for await (const raw of chunks) {
    // A chunk may end between the `\r` and `\n` of one line ending: hold the `\r` back.
    let text: string = pendingCR ? `\r${raw}` : raw;
    pendingCR = text.endsWith('\r');
    if (pendingCR) text = text.slice(0, -1);
    if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n');
    yield* consume(text);
  }
  if (pendingCR) yield* consume('\n');
  if (state === 'in_quoted' || state === 'escape_in_quoted') {
    if (strict) throw fail('unexpected end of data inside a quoted field');
  }
  if (state !== 'start_field' || row.length > 0) {
    row.push(field);
    yield { fields: row, line: rowLine };
  }
}
