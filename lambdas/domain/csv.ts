/**
 * CSV lines as RFC 4180 defines them, made safe to open in a spreadsheet. Cells hold values clients
 * sent (a referrer host, names parsed out of a User-Agent), so each line is written for the worst reader:
 * - every cell is quoted, with its quotes doubled (RFC 4180 §2.5–2.7): commas, quotes, CR and LF stay
 *   inside the cell, and so does a `;` for spreadsheets whose locale splits cells on it;
 * - a cell that starts with a character spreadsheets read as the start of a formula gets a leading `'`
 *   (OWASP CSV Injection; the ASVS adds NUL), which they take as "this cell is text" and do not show.
 */

/** First characters that make Excel, LibreOffice Calc or Google Sheets evaluate a cell. */
export const FORMULA_STARTS: readonly string[] = ['=', '+', '-', '@', '\t', '\r', '\0'];

/** RFC 4180's line break. */
export const CSV_LINE_END = '\r\n';

/** The cell as a spreadsheet shows it literally: a `'` in front of a leading formula character. */
export function defuseFormula(cell: string): string {
  return FORMULA_STARTS.some((start) => cell.startsWith(start)) ? `'${cell}` : cell;
}

/** One record: every cell defused, quoted and joined with commas, ending in CRLF. */
export function csvLine(cells: readonly string[]): string {
  return `${cells.map((cell) => `"${defuseFormula(cell).replaceAll('"', '""')}"`).join(',')}${CSV_LINE_END}`;
}
