import fc from 'fast-check';
import { boundedLines, TOO_LONG } from '../../lambdas/domain/bounded-lines';

async function linesOf(chunks: readonly Buffer[], maxBytes: number): Promise<(string | typeof TOO_LONG)[]> {
  const lines: (string | typeof TOO_LONG)[] = [];
  async function* source(): AsyncGenerator<Buffer> {
    yield* chunks;
  }
  for await (const line of boundedLines(source(), maxBytes)) lines.push(line);
  return lines;
}

/** The bytes cut at the given points. */
const cut = (bytes: Buffer, points: readonly number[]): Buffer[] => {
  const at = [...new Set(points.map((point) => point % (bytes.length + 1)))].sort((a, b) => a - b);
  return [...at, bytes.length].map((end, index) => bytes.subarray(index === 0 ? 0 : at[index - 1], end)).filter((chunk) => chunk.length > 0);
};

describe('boundedLines', () => {
  it('gives each line, however the bytes are cut into chunks (multi-byte characters split too), and a long one as TOO_LONG', async () => {
    const line = fc.string({ unit: 'grapheme', maxLength: 30 }).filter((text) => !/[\r\n]/.test(text));
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 10 }), fc.boolean(), async (lines, points, crlf) => {
        const maxBytes = 40;
        const text = lines.map((each) => `${each}${crlf ? '\r\n' : '\n'}`).join('');
        const expected = lines.map((each) => (Buffer.byteLength(each) + (crlf ? 1 : 0) > maxBytes ? TOO_LONG : each));
        expect(await linesOf(cut(Buffer.from(text, 'utf8'), points), maxBytes)).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('gives the last line without its newline, and nothing for an empty stream', async () => {
    expect(await linesOf([Buffer.from('a\nb')], 10)).toEqual(['a', 'b']);
    expect(await linesOf([], 10)).toEqual([]);
    expect(await linesOf([Buffer.from('x'.repeat(11))], 10)).toEqual([TOO_LONG]);
  });
});
