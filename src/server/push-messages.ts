import { Transform, type TransformCallback } from 'node:stream';

/**
 * Messages a push's client prints as `remote: ...`, added to `git receive-pack`'s answer. With
 * the side-band the client asks for (every git does), that answer is pkt-lines each carrying a
 * band byte, ending with a flush-pkt (`0000`); band 2 is the text git prints to the user. The
 * answer passes through `PushAnswer` untouched except for its last four bytes, held back until
 * the messages are known, then written after them.
 */
export class PushAnswer extends Transform {
  private held: Buffer = Buffer.alloc(0);
  private start: Buffer = Buffer.alloc(0);

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.start.length < 5) this.start = Buffer.concat([this.start, chunk.subarray(0, 5)]).subarray(0, 5);
    const all = this.held.length === 0 ? chunk : Buffer.concat([this.held, chunk]);
    const keep = Math.min(FLUSH.length, all.length);
    this.held = Buffer.from(all.subarray(all.length - keep));
    if (all.length > keep) this.push(all.subarray(0, all.length - keep));
    done();
  }

  /**
   * What ends the answer: the held bytes, after `lines` as band-2 packets when the answer is
   * side-band and ends with a flush-pkt (otherwise the client has no place for them: dropped).
   */
  ending(lines: readonly string[]): Buffer {
    const sideBand = this.start.length === 5 && this.start[4] === 1;
    if (lines.length === 0 || !sideBand || !this.held.equals(FLUSH)) return this.held;
    return Buffer.concat([...lines.map(bandTwo), this.held]);
  }
}

const FLUSH = Buffer.from('0000');

/** A pkt-line on band 2 (progress and messages): 4 hex digits of length, the band byte, the text. */
function bandTwo(line: string): Buffer {
  const text = Buffer.from(`${line.replace(/\n/g, ' ')}\n`, 'utf8').subarray(0, 65_000);
  const length = (text.length + 5).toString(16).padStart(4, '0');
  return Buffer.concat([Buffer.from(length), Buffer.from([2]), text]);
}
