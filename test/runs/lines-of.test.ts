import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { linesOf } from '../../src/runs/external-plugin.js';

async function collect(chunks: string[], maxLength?: number): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of linesOf(Readable.from(chunks), maxLength)) lines.push(line);
  return lines;
}

describe('linesOf', () => {
  it('joins a line cut across chunks, keeps blank lines, and yields an unterminated last line', async () => {
    expect(await collect(['a', 'b\n\nc', 'd', '\ne\n', 'f'])).toEqual(['ab', '', 'cd', 'e', 'f']);
  });

  it('yields nothing after a final newline', async () => {
    expect(await collect(['x\n'])).toEqual(['x']);
  });

  it('refuses a line longer than the limit before it ends, and not one at the limit', async () => {
    expect(await collect(['12345', '\n'], 5)).toEqual(['12345']);
    await expect(collect(['123', '456', '\n'], 5)).rejects.toThrow('a line is longer than 5 characters');
  });
});
