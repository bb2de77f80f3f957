/** Pieces every bench report shares: its tables, percentiles, and the bare 302 server baseline. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEMO_CODE } from '../local/stack';

export interface Rate {
  readonly label: string;
  readonly perSecond: number;
}

/** Runs `op` `ops` times after a warm-up (a tenth, at most 1,000) and gives its rate. */
export async function timeOps(label: string, ops: number, op: (i: number) => Promise<unknown> | unknown): Promise<Rate> {
  const warmup = Math.min(1000, Math.floor(ops / 10));
  for (let i = 0; i < warmup; i++) await op(i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) await op(i);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { label, perSecond: ops / seconds };
}

export const perSecond = (rate: Rate): string => `${Math.round(rate.perSecond).toLocaleString('en-US')}/s`;

/** A rate beside its baseline, and their ratio. */
export function report(subject: Rate, baseline: Rate): void {
  console.log(`${subject.label}: ${perSecond(subject)}`);
  console.log(`${baseline.label}: ${perSecond(baseline)}`);
  console.log(`  ratio: ${(subject.perSecond / baseline.perSecond).toFixed(3)} of baseline\n`);
}

/** First column left-aligned, the others right-aligned. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0)));
  const cell = (text: string, column: number): string => (column === 0 ? text.padEnd(widths[column]) : text.padStart(widths[column]));
  return rows.map((row) => `  ${row.map(cell).join('   ')}`.trimEnd());
}

/** The nearest-rank percentile of samples sorted in ascending order. */
export function percentile(sortedMs: readonly number[], p: number): number {
  return sortedMs[Math.min(sortedMs.length - 1, Math.max(0, Math.ceil(p * sortedMs.length) - 1))];
}

/** A bare `node:http` server on 127.0.0.1 answering every request with the redirect's 302: the baseline of the HTTP figures. */
export async function bareRedirectServer(): Promise<{ server: Server; url: string }> {
  const server = createServer((_request, response) => {
    response.writeHead(302, { location: 'https://example.com/', 'cache-control': 'private, no-store, max-age=0' });
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/${DEMO_CODE}` };
}
