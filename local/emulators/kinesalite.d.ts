/** The part of kinesalite (no typings of its own) that local/emulators/kinesis.ts uses. */
declare module 'kinesalite' {
  import type { Server } from 'node:http';

  interface KinesaliteOptions {
    /** How long a stream stays CREATING, DELETING or UPDATING (default 500 ms each). */
    readonly createStreamMs?: number;
    readonly deleteStreamMs?: number;
    readonly updateStreamMs?: number;
    /** Shards the account may have open at once (default 10). */
    readonly shardLimit?: number;
  }

  /** An HTTP server speaking the Kinesis API; without a `path` option it keeps its streams in memory. */
  function kinesalite(options?: KinesaliteOptions): Server;
  export = kinesalite;
}
