/**
 * The execution environments that run a given runtime client, as the operating system lists
 * them (Linux /proc; elsewhere none are found). Used to clear environments a previous local stack
 * left behind when it was killed outright: a frozen (SIGSTOPped) one cannot notice by itself.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface EnvironmentProcess {
  readonly pid: number;
  /** AWS_LAMBDA_FUNCTION_NAME of the environment. */
  readonly functionName: string;
  /** From /proc: T when stopped (frozen), S or R otherwise. */
  readonly state: string;
}

export function environmentProcesses(bootstrapFile: string): EnvironmentProcess[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const found: EnvironmentProcess[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(bootstrapFile)) continue;
      const functionVariable = readFileSync(`/proc/${entry}/environ`, 'utf8')
        .split('\0')
        .find((variable) => variable.startsWith('AWS_LAMBDA_FUNCTION_NAME='));
      const state = /^\d+ \(.*\) (\w)/.exec(readFileSync(`/proc/${entry}/stat`, 'utf8'))?.[1] ?? '?';
      if (state === 'Z') continue;
      found.push({ pid: Number(entry), functionName: functionVariable?.slice('AWS_LAMBDA_FUNCTION_NAME='.length) ?? '', state });
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}
