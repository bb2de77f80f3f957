/**
 * The lines of a byte stream, each at most a bound in bytes, without ever holding more than one line:
 * how a log object of any size is read in bounded memory. A longer line is not kept at all.
 */

/** A line over the bound: its bytes are dropped as they arrive, and this stands in its place. */
export const TOO_LONG = Symbol('line over the byte bound');

const NEWLINE = 0x0a;

/**
 * Each '\n'-terminated line of the chunks as UTF-8 text (without the '\n' and a '\r' before it), the
 * last one even without a terminator, or {@link TOO_LONG} for a line over `maxBytes` (its '\r' included).
 */
export async function* boundedLines(chunks: AsyncIterable<Uint8Array>, maxBytes: number): AsyncGenerator<string | typeof TOO_LONG, void, undefined> {
  let parts: Buffer[] = [];
  let length = 0;
  let tooLong = false;
  const line = (): string | typeof TOO_LONG => {
    const result = tooLong ? TOO_LONG : Buffer.concat(parts, length).toString('utf8').replace(/\r$/, '');
    parts = [];
    length = 0;
    tooLong = false;
    return result;
  };
  const keep = (bytes: Buffer): void => {
    if (tooLong) return;
    if (length + bytes.length > maxBytes) {
      tooLong = true;
      parts = [];
      length = 0;
      return;
    }
    parts.push(bytes);
    length += bytes.length;
  };
  for await (const chunk of chunks) {
    let buffer = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (let end = buffer.indexOf(NEWLINE); end >= 0; end = buffer.indexOf(NEWLINE)) {
      keep(Buffer.from(buffer.subarray(0, end)));
      yield line();
      buffer = buffer.subarray(end + 1);
    }
    // Copied: the stream may reuse its chunk's memory.
    if (buffer.length > 0) keep(Buffer.from(buffer));
  }
  if (length > 0 || tooLong) yield line();
}
