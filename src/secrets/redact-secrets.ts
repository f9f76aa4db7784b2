/** What a secret value becomes in a log line. */
export const SECRET_MASK = '****';

/**
 * Values shorter than this are not redacted. A one- to three-character value (`1`, `on`, `dev`)
 * turns up in ordinary text all the time: masking it would rewrite every number and word that
 * contains it, make logs unreadable, and, through where the masks fall, show the value anyway.
 * Values that short protect nothing, so the service still stores them but logs cannot hide them.
 */
export const MIN_REDACTED_LENGTH = 4;

/** The value as it appears inside a JSON string (`"` as `\"`, newline as `\n`, ...). */
function jsonEscaped(value: string): string {
  return JSON.stringify(value).slice(1, -1);
}

/** The same, with every non-ASCII character as `\uXXXX`: what Python's `json.dumps` writes by default. */
function asciiJsonEscaped(value: string): string {
  return jsonEscaped(value).replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * The forms in which a value can reach a log line: as is; JSON-escaped, since plugins log JSON
 * (Singer messages, structured logs), and twice escaped for JSON carried inside a JSON string;
 * and for a multi-line value (a PEM key) each of its lines, since logs are split into lines.
 */
function formsOf(value: string): string[] {
  const once = [value, jsonEscaped(value), asciiJsonEscaped(value)];
  const twice = once.slice(1).flatMap((form) => [jsonEscaped(form), asciiJsonEscaped(form)]);
  const lines = value.includes('\n') ? value.split('\n').map((line) => line.replace(/\r$/, '')) : [];
  return [...once, ...twice, ...lines];
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

/**
 * A function that replaces every occurrence of each secret value in a line with `****`. One
 * RegExp is compiled up front, so a line without a secret (nearly all of them) costs one scan.
 * Where occurrences overlap or nest (a secret containing another, or two secrets sharing an
 * end), the whole covered stretch becomes one mask, so no part of either value is left visible.
 */
export function makeRedactor(values: readonly string[]): (line: string) => string {
  const forms = [
    ...new Set(values.flatMap((value) => (value.length < MIN_REDACTED_LENGTH ? [] : formsOf(value)))),
  ]
    .filter((form) => form.length >= MIN_REDACTED_LENGTH)
    // Longest first: at any position, the alternation then matches the longest value starting there.
    .sort((a, b) => b.length - a.length);
  if (forms.length === 0) return (line) => line;
  const alternatives = forms.map(escapeRegExp).join('|');
  const anywhere = new RegExp(alternatives);
  // Zero-width, so every start position is reported, also those inside an earlier match.
  const starts = new RegExp(`(?=(${alternatives}))`, 'g');
  return (line) => {
    if (!anywhere.test(line)) return line;
    let out = '';
    let copied = 0;
    let end = -1;
    for (const match of line.matchAll(starts)) {
      const start = match.index;
      const stop = start + (match[1] ?? '').length;
      if (start >= end) {
        if (end >= 0) out += SECRET_MASK;
        out += line.slice(copied, start);
        end = stop;
      } else if (stop > end) {
        end = stop;
      }
      copied = end;
    }
    return `${out}${SECRET_MASK}${line.slice(copied)}`;
  };
}
