/**
 * Runs `npm start`'s entry as a child process, the way a user runs it, and talks to it
 * over real HTTP. (fauxqs is ESM-only, so jest could not load the stack in-process anyway.)
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FaultCounts } from '../../../local/faults';
import { environmentProcesses, type EnvironmentProcess } from '../../../local/lambda/processes';
import type { ScheduleRunResult } from '../../../local/scheduler';
import type { LocalStackDescription } from '../../../local/stack';

const PROJECT_ROOT = path.resolve(__dirname, '../../..');
const READY_TIMEOUT_MS = 60_000;
const READY_LINE = /ready at (http:\/\/127\.0\.0\.1:\d+)/;
/** How long a stack may take to stop on SIGTERM before teardown kills it. */
const KILL_GRACE_MS = 20_000;

/** DynamoDB Local's pid from local-stack.json, once the stack has written it. */
async function readJavaPid(dataDir: string): Promise<number | undefined> {
  try {
    return (JSON.parse(await readFile(path.join(dataDir, 'local-stack.json'), 'utf8')) as LocalStackDescription).dynamodbPid;
  } catch {
    return undefined;
  }
}

export const TEST_API_KEY = 'e2e-test-key';

export interface LocalStackProcessOptions {
  /** Reuse a data folder (e.g. to prove a restart keeps data); default: a fresh temp folder. */
  readonly dataDir?: string;
  /** Extra environment for the child. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface LocalStackProcess {
  readonly baseUrl: string;
  readonly dataDir: string;
  readonly description: LocalStackDescription;
  readonly pid: number;
  /** Everything the child printed so far, stdout and stderr interleaved. */
  output(): string;
  /**
   * Sends the signal and resolves with the exit code once the child has exited. To `group`, it goes
   * to the whole process group, as a terminal's Ctrl-C does.
   */
  stop(signal?: NodeJS.Signals, to?: 'process' | 'group'): Promise<number | null>;
  /** Kills the whole process group (teardown after a failed test); safe to call twice. */
  kill(): Promise<void>;
}

function waitForExit(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

export async function startLocalStackProcess(options: LocalStackProcessOptions = {}): Promise<LocalStackProcess> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'click-analytics-e2e-')));
  // `node --import tsx`, as `npm start` runs it: no tsx wrapper process between the signal and the stack.
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts'], {
    cwd: PROJECT_ROOT,
    // Its own process group, so teardown can take java down with it.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PORT: '0',
      DATA_DIR: dataDir,
      CLICKS_API_KEY: TEST_API_KEY,
      TRUST_PROXY: '1',
      ...options.env,
    },
  });
  let output = '';
  const append = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = waitForExit(child);

  const kill = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    // SIGTERM first: the stack stops DynamoDB Local (its own process group) on the way out, even
    // during start-up. Only a stack that does not exit in time loses its whole group, JVM included.
    child.kill('SIGTERM');
    let grace: NodeJS.Timeout | undefined;
    const gone = await Promise.race([
      exited.then(() => true),
      new Promise<boolean>((resolve) => {
        grace = setTimeout(() => resolve(false), KILL_GRACE_MS);
      }),
    ]);
    // A pending timer would keep jest alive after the last test.
    clearTimeout(grace);
    if (gone) return;
    const javaPid = await readJavaPid(dataDir);
    for (const pid of [-child.pid, javaPid]) {
      try {
        if (pid !== undefined) process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await exited;
  };

  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Local stack not ready within ${READY_TIMEOUT_MS / 1000} s. Output:\n${output}`)), READY_TIMEOUT_MS);
    const check = (): void => {
      const match = READY_LINE.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`Local stack exited with code ${code} before it was ready. Output:\n${output}`));
    });
  }).catch(async (error: unknown) => {
    await kill();
    throw error;
  });

  const description = JSON.parse(await readFile(path.join(dataDir, 'local-stack.json'), 'utf8')) as LocalStackDescription;
  return {
    baseUrl,
    dataDir,
    description,
    pid: child.pid ?? -1,
    output: () => output,
    stop: async (signal = 'SIGINT', to = 'process') => {
      if (to === 'group' && child.pid !== undefined) process.kill(-child.pid, signal);
      else child.kill(signal);
      return exited;
    },
    kill,
  };
}

/** Deletes a data folder the harness created. */
export async function removeDataDir(dataDir: string): Promise<void> {
  await rm(dataDir, { recursive: true, force: true });
}

/** Whether a process is alive, by `ps` (kill(pid, 0) still succeeds on a zombie). */
export function processIsAlive(pid: number): boolean {
  try {
    return !execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim().startsWith('Z');
  } catch {
    return false;
  }
}

/** Polls until the check passes or the time is up; the last failure is rethrown. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 5_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

/** `POST /_local/schedules/{prefix}/run?runs=N` with the test key: how each run ended. Throws on any answer but 200. */
export async function runSchedule(baseUrl: string, prefix: string, runs = 1): Promise<ScheduleRunResult[]> {
  const response = await fetch(`${baseUrl}/_local/schedules/${encodeURIComponent(prefix)}/run?runs=${runs}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_API_KEY}` },
  });
  if (response.status !== 200) throw new Error(`Running schedule ${prefix}: HTTP ${response.status} ${await response.text()}`);
  return ((await response.json()) as { runs: ScheduleRunResult[] }).runs;
}

/** The faults a stack started with LOCAL_FAULTS has injected so far (DATA_DIR/local-faults.json). */
export async function faultCounts(dataDir: string): Promise<FaultCounts> {
  return JSON.parse(await readFile(path.join(dataDir, 'local-faults.json'), 'utf8')) as FaultCounts;
}

/**
 * The stack's Lambda execution environments (processes running its runtime client), as the
 * operating system sees them; only those of one function when a logical-ID prefix is given.
 */
export function lambdaEnvironmentProcesses(dataDir: string, functionPrefix = ''): EnvironmentProcess[] {
  return environmentProcesses(path.join(dataDir, 'runtime', 'bootstrap.mjs')).filter(({ functionName }) =>
    functionName.startsWith(functionPrefix),
  );
}
