/**
 * The local Lambda runtime on its own: real child processes speaking the Runtime and Extensions
 * APIs, with small handler bundles written by the test. Each case checks one rule of
 * docs/lambda-runtime.md against what the operating system says about the process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FunctionPool, type FunctionPoolOptions } from '../../local/lambda/function-pool';
import { buildBootstrap } from '../../local/lambda/functions';

let workDir: string;
let bootstrapFile: string;
const pools: FunctionPool[] = [];

beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'lambda-runtime-'));
  bootstrapFile = await buildBootstrap(path.join(workDir, 'runtime'));
});

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.stop()));
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/** Registers an internal extension during init (top-level await) and answers INVOKE events at once. */
const INTERNAL_EXTENSION = `
import { request } from 'node:http';
const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const call = (method, path, headers, body) => new Promise((resolve, reject) => {
  const outgoing = request({ host, port, method, path, headers }, (incoming) => {
    let text = '';
    incoming.on('data', (chunk) => (text += chunk));
    incoming.on('end', () => resolve({ status: incoming.statusCode, headers: incoming.headers, text }));
  });
  outgoing.on('error', reject);
  outgoing.end(body);
});
export const registered = await call('POST', '/2020-01-01/extension/register', { 'Lambda-Extension-Name': 'test-extension' }, JSON.stringify({ events: ['INVOKE'] }));
const id = registered.headers['lambda-extension-identifier'];
(async () => { for (;;) await call('GET', '/2020-01-01/extension/event/next', { 'Lambda-Extension-Identifier': id }); })().catch(() => {});
`;

interface PoolSettings {
  readonly code: string;
  readonly timeoutMs?: number;
  readonly memoryMb?: number;
  readonly maxEnvironments?: number;
  readonly atLimit?: FunctionPoolOptions['atLimit'];
  readonly idleSeconds?: number;
}

/** A pool of environments for a bundle made of `code` (an ES module exporting `handler`). */
async function poolFor(name: string, settings: PoolSettings): Promise<{ pool: FunctionPool; reports: string[]; dir: string }> {
  const dir = path.join(workDir, name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'index.mjs'), settings.code);
  const reports: string[] = [];
  const pool = new FunctionPool({
    spec: {
      functionName: name,
      invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${name}`,
      codeDir: dir,
      handler: 'index.handler',
      bootstrapFile,
      timeoutMs: settings.timeoutMs ?? 3_000,
      memoryMb: settings.memoryMb ?? 128,
      environment: { MARKER_DIR: dir },
    },
    maxEnvironments: settings.maxEnvironments ?? 10,
    atLimit: settings.atLimit ?? 'wait',
    idleSeconds: settings.idleSeconds ?? 60,
    report: (line) => reports.push(line),
    output: () => undefined,
  });
  pools.push(pool);
  return { pool, reports, dir };
}

/** The process state letter from /proc (T: stopped by a signal). */
function processState(pid: number): string | undefined {
  try {
    return /^\d+ \(.*\) (\w)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually(check: () => boolean, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await sleep(20);
  }
  return check();
}

describe('local Lambda runtime', () => {
  it('freezes the environment once the response is posted: work left behind runs only on the next invocation', async () => {
    const { pool, dir } = await poolFor('freeze', {
      code: `
        import { writeFileSync } from 'node:fs';
        let count = 0;
        export const handler = async () => {
          const n = ++count;
          // Long enough that the freeze, however loaded the machine, comes first.
          setTimeout(() => writeFileSync(process.env.MARKER_DIR + '/after-' + n, 'x'), 300);
          return { pid: process.pid, n };
        };`,
    });
    const first = (await pool.invoke({})) as { pid: number; n: number };
    expect(await eventually(() => processState(first.pid) === 'T')).toBe(true);
    await sleep(1_000);
    expect(existsSync(path.join(dir, 'after-1'))).toBe(false);

    const second = (await pool.invoke({})) as { pid: number; n: number };
    expect(second).toEqual({ pid: first.pid, n: 2 });
    // Thawed: the first invocation's timer fires now.
    expect(await eventually(() => existsSync(path.join(dir, 'after-1')))).toBe(true);
  });

  it("has the result accepted before work left behind starts, so the runtime's next follows at once, as with AWS's blocking post", async () => {
    const { pool, dir } = await poolFor('blocking-post', {
      code: `
        import { writeFileSync } from 'node:fs';
        export const handler = async () => {
          setImmediate(() => {
            const end = Date.now() + 300;
            while (Date.now() < end);
            writeFileSync(process.env.MARKER_DIR + '/left-behind-done', 'x');
          });
          return { pid: process.pid };
        };`,
    });
    const { pid } = (await pool.invoke({})) as { pid: number };
    // Frozen in the middle of the left-behind work: its next call went out before that work ran.
    expect(await eventually(() => processState(pid) === 'T')).toBe(true);
    expect(existsSync(path.join(dir, 'left-behind-done'))).toBe(false);
  });

  it("posts the response before any callback the handler left behind runs, as AWS's native runtime client does", async () => {
    const { pool, reports } = await poolFor('response-first', {
      maxEnvironments: 1,
      code: `export const handler = async (event) => {
        if (event.block) setImmediate(() => { const end = Date.now() + 600; while (Date.now() < end); });
        return 'sent';
      };`,
    });
    await pool.invoke({});
    expect(await eventually(() => reports.length === 1)).toBe(true);
    const started = Date.now();
    expect(await pool.invoke({ block: true })).toBe('sent');
    // The work left behind blocks its process for 600 ms; the response did not wait for it.
    expect(Date.now() - started).toBeLessThan(300);
  });

  it('reports the init duration on a cold start only, and the result of each invocation', async () => {
    const { pool, reports } = await poolFor('report', {
      maxEnvironments: 1,
      code: `export const handler = async (event) => { if (event.fail) throw new TypeError('bad input'); return { batchItemFailures: event.failures ?? [] }; };`,
    });
    await pool.invoke({});
    await pool.invoke({ failures: [{ itemIdentifier: 'a' }, { itemIdentifier: 'b' }] });
    await expect(pool.invoke({ fail: true })).rejects.toThrow('TypeError: bad input');
    expect(await eventually(() => reports.length === 3)).toBe(true);
    expect(reports[0]).toMatch(/^REPORT report \S+ · duration [\d.]+ ms .*· init [\d.]+ ms · max memory \d+\/128 MB · ok$/);
    expect(reports[1]).not.toMatch(/init/);
    expect(reports[1]).toMatch(/ok, 2 record\(s\) failed$/);
    expect(reports[2]).toMatch(/error TypeError: bad input$/);
  });

  it('fails the init, and the invocation, when the module throws while loading', async () => {
    const { pool, reports } = await poolFor('init-error', { code: `throw new Error('no config');` });
    await expect(pool.invoke({})).rejects.toThrow(/no config/);
    expect(reports.some((line) => line.startsWith('INIT_FAILED init-error'))).toBe(true);
    expect(pool.environmentCount).toBe(0);
  });

  it('kills a timed-out environment and serves the next invocation from a new one', async () => {
    const { pool, reports } = await poolFor('timeout', {
      maxEnvironments: 1,
      timeoutMs: 1_000,
      code: `export const handler = async (event) => { if (event.hang) await new Promise(() => setInterval(() => {}, 1000)); return process.pid; };`,
    });
    const before = (await pool.invoke({})) as number;
    await expect(pool.invoke({ hang: true })).rejects.toThrow(/Sandbox.Timedout: Task timed out after 1.00 seconds/);
    expect(await eventually(() => processState(before) === undefined)).toBe(true);
    const after = (await pool.invoke({})) as number;
    expect(after).not.toBe(before);
    expect(await eventually(() => reports.length === 3)).toBe(true);
    expect(reports[1]).toMatch(/timeout$/);
    expect(reports[2]).toMatch(/init/);
  });

  it("caps the heap at the function's memory: a handler that outgrows it crashes its environment", async () => {
    const { pool } = await poolFor('memory', {
      memoryMb: 128,
      code: `export const handler = async () => { const kept = []; for (;;) kept.push(new Array(1e6).fill(kept.length)); };`,
    });
    await expect(pool.invoke({})).rejects.toThrow(/Runtime.ExitError/);
  }, 30_000);

  it('runs concurrent invocations in separate environments, never more than the limit', async () => {
    const { pool } = await poolFor('concurrency', {
      maxEnvironments: 3,
      code: `export const handler = async () => { await new Promise((r) => setTimeout(r, 200)); return process.pid; };`,
    });
    const pids = (await Promise.all(Array.from({ length: 7 }, () => pool.invoke({})))) as number[];
    expect(new Set(pids).size).toBe(3);
    expect(pool.peakEnvironments).toBe(3);
  });

  it('throttles a synchronous invocation past the limit', async () => {
    const { pool } = await poolFor('throttle', {
      maxEnvironments: 1,
      atLimit: 'throttle',
      code: `export const handler = async () => { await new Promise((r) => setTimeout(r, 300)); return 'ok'; };`,
    });
    const results = await Promise.allSettled([pool.invoke({}), pool.invoke({})]);
    expect(results.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(String((results.find((result) => result.status === 'rejected') as PromiseRejectedResult).reason)).toMatch(
      /TooManyRequestsException/,
    );
  });

  it('reclaims an idle environment with SIGKILL when no extension is registered: its SIGTERM handler never runs', async () => {
    const { pool, dir } = await poolFor('reclaim-kill', {
      idleSeconds: 0.3,
      code: `
        import { writeFileSync } from 'node:fs';
        process.on('SIGTERM', () => { writeFileSync(process.env.MARKER_DIR + '/sigterm', 'x'); process.exit(0); });
        export const handler = async () => process.pid;`,
    });
    const pid = (await pool.invoke({})) as number;
    expect(await eventually(() => processState(pid) === undefined)).toBe(true);
    await sleep(100);
    expect(existsSync(path.join(dir, 'sigterm'))).toBe(false);
    expect(pool.environmentCount).toBe(0);
  });

  it('with an internal extension, reclaim sends SIGTERM and gives the runtime its grace period', async () => {
    const { pool, dir } = await poolFor('reclaim-term', {
      idleSeconds: 0.3,
      code: `${INTERNAL_EXTENSION}
        import { writeFileSync } from 'node:fs';
        process.on('SIGTERM', () => setTimeout(() => { writeFileSync(process.env.MARKER_DIR + '/sigterm', 'x'); process.exit(0); }, 100));
        export const handler = async () => ({ pid: process.pid, registered: registered.status });`,
    });
    const { pid, registered } = (await pool.invoke({})) as { pid: number; registered: number };
    expect(registered).toBe(200);
    expect(await eventually(() => processState(pid) === undefined)).toBe(true);
    expect(existsSync(path.join(dir, 'sigterm'))).toBe(true);
  });

  it('keeps the environment thawed and busy while an extension holds next, and freezes it once the extension is done', async () => {
    const { pool, dir } = await poolFor('extension-hold', {
      code: `
        import { request } from 'node:http';
        import { writeFileSync } from 'node:fs';
        const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
        const call = (method, path, headers, body) => new Promise((resolve, reject) => {
          const outgoing = request({ host, port, method, path, headers }, (incoming) => {
            let text = '';
            incoming.on('data', (chunk) => (text += chunk));
            incoming.on('end', () => resolve({ headers: incoming.headers, text }));
          });
          outgoing.on('error', reject);
          outgoing.end(body);
        });
        const registered = await call('POST', '/2020-01-01/extension/register', { 'Lambda-Extension-Name': 'hold' }, JSON.stringify({ events: ['INVOKE'] }));
        const id = registered.headers['lambda-extension-identifier'];
        (async () => {
          for (;;) {
            const event = JSON.parse((await call('GET', '/2020-01-01/extension/event/next', { 'Lambda-Extension-Identifier': id })).text);
            if (event.eventType === 'INVOKE') {
              // Work after the response: the environment must not freeze before it is done.
              await new Promise((r) => setTimeout(r, 300));
              writeFileSync(process.env.MARKER_DIR + '/done-' + event.requestId, 'x');
            }
          }
        })();
        export const handler = async (event, context) => ({ pid: process.pid, requestId: context.awsRequestId });`,
    });
    const { pid, requestId } = (await pool.invoke({})) as { pid: number; requestId: string };
    expect(processState(pid)).not.toBe('T');
    // A second invocation meanwhile cannot use the busy environment: it gets a new one.
    const other = (await pool.invoke({})) as { pid: number };
    expect(other.pid).not.toBe(pid);
    expect(await eventually(() => existsSync(path.join(dir, `done-${requestId}`)))).toBe(true);
    expect(await eventually(() => processState(pid) === 'T')).toBe(true);
  });

  it('refuses SHUTDOWN to an internal extension, and any registration after init', async () => {
    const { pool } = await poolFor('extension-rules', {
      code: `
        import { request } from 'node:http';
        const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
        const register = (events) => new Promise((resolve, reject) => {
          const outgoing = request({ host, port, method: 'POST', path: '/2020-01-01/extension/register', headers: { 'Lambda-Extension-Name': 'late' } }, (incoming) => {
            let text = '';
            incoming.on('data', (chunk) => (text += chunk));
            incoming.on('end', () => resolve({ status: incoming.statusCode, errorType: JSON.parse(text).errorType }));
          });
          outgoing.on('error', reject);
          outgoing.end(JSON.stringify({ events }));
        });
        const shutdown = await register(['INVOKE', 'SHUTDOWN']);
        export const handler = async () => ({ shutdown, late: await register(['INVOKE']) });`,
    });
    expect(await pool.invoke({})).toEqual({
      shutdown: { status: 403, errorType: 'Extension.InvalidEventType' },
      late: { status: 403, errorType: 'Extension.RegistrationClosed' },
    });
  });
});
