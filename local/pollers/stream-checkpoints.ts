/** Where a stream event source mapping stands in each shard, kept in a file so that a restart resumes there. */
import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isRecord } from '../types';

export interface ShardCheckpoint {
  /** Everything up to and including this record is done. */
  readonly sequenceNumber?: string;
  /** Closed shard read to its end. */
  readonly finished?: boolean;
}

interface CheckpointFileContent {
  readonly streamArn: string;
  readonly shards: Readonly<Record<string, ShardCheckpoint>>;
}

export class CheckpointFile {
  private checkpoints: Record<string, ShardCheckpoint> = {};
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly streamArn: string,
    private readonly log: (message: string) => void,
  ) {}

  get(shardId: string): ShardCheckpoint | undefined {
    return this.checkpoints[shardId];
  }

  /**
   * Reads the positions saved by the last run. A file that is not a checkpoint file (a crash
   * mid-write outside this code, a hand edit) is moved aside as `<file>.corrupt-<time>` and the
   * mapping starts over from its starting position, as a new event source mapping would.
   * Throws only when the file cannot be read at all (a folder in its place, no permission).
   */
  load(startingPosition: string): void {
    this.checkpoints = { ...this.read(startingPosition) };
  }

  private read(startingPosition: string): Readonly<Record<string, ShardCheckpoint>> {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw error;
    }
    let content: unknown;
    try {
      content = JSON.parse(text);
    } catch {
      content = undefined;
    }
    if (!isCheckpointFileContent(content)) {
      const aside = `${this.file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      renameSync(this.file, aside);
      this.log(
        `checkpoint file ${this.file} is not a valid checkpoint file: moved it to ${aside} and reading the stream from ` +
          `${startingPosition} (records already processed there are delivered again)`,
      );
      return {};
    }
    // A recreated stream is a new stream: positions in the old one mean nothing there.
    return content.streamArn === this.streamArn ? content.shards : {};
  }

  /** Writes are chained (never two at once) and atomic (temporary file, then rename). */
  save(shardId: string, checkpoint: ShardCheckpoint): Promise<void> {
    this.checkpoints[shardId] = checkpoint;
    const content: CheckpointFileContent = { streamArn: this.streamArn, shards: { ...this.checkpoints } };
    const write = async (): Promise<void> => {
      mkdirSync(path.dirname(this.file), { recursive: true });
      const temporary = `${this.file}.${process.pid}.tmp`;
      await writeFile(temporary, JSON.stringify(content, null, 2));
      await rename(temporary, this.file);
    };
    this.writes = this.writes.then(write, write);
    return this.writes;
  }

  /** Waits for the writes under way; a failed one was already reported to the caller that made it. */
  async settled(): Promise<void> {
    await this.writes.catch(() => undefined);
  }
}

function isShardCheckpoint(value: unknown): value is ShardCheckpoint {
  if (!isRecord(value)) return false;
  const { sequenceNumber, finished } = value;
  return (sequenceNumber === undefined || typeof sequenceNumber === 'string') && (finished === undefined || typeof finished === 'boolean');
}

function isCheckpointFileContent(value: unknown): value is CheckpointFileContent {
  if (!isRecord(value)) return false;
  const { streamArn, shards } = value;
  return typeof streamArn === 'string' && isRecord(shards) && Object.values(shards).every(isShardCheckpoint);
}
