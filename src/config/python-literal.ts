import type { YamlValue } from '../project/model.js';

/**
 * Parses the Python literals Meltano accepts for array and object settings when a string is not
 * JSON (it falls back to `ast.literal_eval`): single- or double-quoted strings, numbers, True,
 * False, None, lists, tuples and dicts. Returns undefined when the text is not such a literal.
 */
export function parsePythonLiteral(text: string): YamlValue | undefined {
  let i = 0;
  const fail = (): never => {
    throw new SyntaxError('not a literal');
  };
  const ws = () => {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
  };
  const value = (): YamlValue => {
    ws();
    const c = text[i];
    if (c === '[' || c === '(') return sequence(c === '[' ? ']' : ')');
    if (c === '{') return mapping();
    if (c === '"' || c === "'") return str();
    const word = /^(True|False|None|[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+))/.exec(text.slice(i));
    if (!word) return fail();
    i += (word[0] as string).length;
    if (word[0] === 'True') return true;
    if (word[0] === 'False') return false;
    if (word[0] === 'None') return null;
    return Number(word[0]);
  };
  const str = (): string => {
    const quote = text[i++];
    let out = '';
    while (i < text.length && text[i] !== quote) {
      if (text[i] === '\\') {
        const next = text[i + 1] ?? '';
        out +=
          ({ n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' } as Record<string, string>)[next] ??
          `\\${next}`;
        i += 2;
      } else out += text[i++];
    }
    if (text[i] !== quote) fail();
    i++;
    return out;
  };
  const sequence = (close: string): YamlValue[] => {
    i++;
    const out: YamlValue[] = [];
    for (;;) {
      ws();
      if (text[i] === close) {
        i++;
        return out;
      }
      out.push(value());
      ws();
      if (text[i] === ',') i++;
      else if (text[i] !== close) fail();
    }
  };
  const mapping = (): Record<string, YamlValue> => {
    i++;
    const out: Record<string, YamlValue> = {};
    for (;;) {
      ws();
      if (text[i] === '}') {
        i++;
        return out;
      }
      const key = value();
      ws();
      if (text[i++] !== ':') fail();
      out[String(key)] = value();
      ws();
      if (text[i] === ',') i++;
      else if (text[i] !== '}') fail();
    }
  };
  try {
    const result = value();
    ws();
    return i === text.length ? result : undefined;
  } catch {
    return undefined;
  }
}
