import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import kinesalite from 'kinesalite';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../lambdas/contract';
import type { Stoppable } from '../types';

/** kinesalite (Kinesis Data Streams emulator) running in this process, streams in memory. */
export interface KinesisEmulator extends Stoppable {
  /** http://127.0.0.1:P — every Kinesis client must be given it as `endpoint`. */
  readonly endpoint: string;
}

export interface KinesisEmulatorOptions {
  /** Default: a free port. */
  readonly port?: number;
}

/** The lowest default shard quota of any region. */
const SHARD_QUOTA = 1_000;

/**
 * Stream ARNs name the region in AWS_REGION (else us-east-1) and the account in AWS_ACCOUNT_ID
 * (else 000000000000), read when the emulator starts: kinesalite has no option for them.
 */
export async function startKinesis(options: KinesisEmulatorOptions): Promise<KinesisEmulator> {
  const server = kinesalite({
    // Streams are ACTIVE at once: the 500 ms kinesalite waits by default would only slow tests and start-up.
    createStreamMs: 0,
    deleteStreamMs: 0,
    updateStreamMs: 0,
    // kinesalite's 10 is an old AWS quota; today's default is 20,000 shards in us-east-1 and 1,000 or
    // 6,000 elsewhere (https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html).
    shardLimit: SHARD_QUOTA,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') {
    server.close();
    throw new Error(`kinesalite did not report a TCP address (got ${String(address)})`);
  }
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        // Keep-alive connections of clients not yet destroyed would hold close() open.
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/**
 * A Kinesis client for the emulator. Its request handler is Node's HTTP/1.1 one: the client's
 * default (HTTP/2, for SubscribeToShard) gets no answer from kinesalite. Every call but
 * SubscribeToShard works over HTTP/1.1 on AWS too, so only the endpoint is local.
 */
export function kinesisClient(endpoint: string): KinesisClient {
  return new KinesisClient({ region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoint, requestHandler: new NodeHttpHandler() });
}
