/**
 * LOCAL_FAULTS: each fault mode does to a function what its name says, only on the invocations
 * `every` and `times` pick, is printed and counted; through a real stream poller, a crash after
 * part of a batch and a lost response are retried as Lambda would; a bad plan stops `npm start`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/emulators/dynamodb-local';
import { type FaultPlan, injectFaults, InjectedFaultError, parseFaultPlan, realtimeLogRecordLoss } from '../../local/faults';
import type { LocalFunction } from '../../local/types';
import { createStreamTable, dynamoClient, recordingFunction, type RecordingFunction, streamsClient, testStreamPoller } from '../fixtures/local/emulators';
import { startLocalStackProcess } from '../fixtures/local/local-stack-process';

jest.setTimeout(30_000);

let scratchDir: string;
beforeAll(() => {
  scratchDir = mkdtempSync(path.join(tmpdir(), 'local-faults-'));
});
afterAll(() => rmSync(scratchDir, { recursive: true, force: true }));

describe('parseFaultPlan', () => {
  it('reads the plan, and an unset or blank LOCAL_FAULTS as no faults', () => {
    expect(
      parseFaultPlan('{ "AggregateFunction": [{ "mode": "crash-after-partial", "every": 3 }], "EnrichFunction": [{ "mode": "duplicate", "every": 2, "times": 5 }] }'),
    ).toEqual({
      AggregateFunction: [{ mode: 'crash-after-partial', every: 3 }],
      EnrichFunction: [{ mode: 'duplicate', every: 2, times: 5 }],
    });
    expect(parseFaultPlan(undefined)).toEqual({});
    expect(parseFaultPlan('  ')).toEqual({});
  });

  it.each([
    ['{"AggregateFunction": [', /LOCAL_FAULTS is not valid JSON/],
    ['[]', /must be a JSON object of function logical-ID prefixes/],
    ['{"": []}', /prefix must not be empty/],
    ['{"AggregateFunction": {"mode": "duplicate", "every": 1}}', /"AggregateFunction" must map to a list of faults/],
    ['{"AggregateFunction": ["duplicate"]}', /"AggregateFunction" fault 1 must be an object/],
    ['{"AggregateFunction": [{"mode": "explode", "every": 1}]}', /fault 1 has mode "explode": use one of duplicate, concurrent-duplicate/],
    ['{"AggregateFunction": [{"mode": "duplicate"}]}', /has every undefined: it must be a whole number >= 1/],
    ['{"AggregateFunction": [{"mode": "duplicate", "every": 1}, {"mode": "duplicate", "every": 0}]}', /fault 2 has every 0/],
    ['{"AggregateFunction": [{"mode": "duplicate", "every": 1.5}]}', /has every 1.5/],
    ['{"AggregateFunction": [{"mode": "duplicate", "every": 2, "times": -1}]}', /has times -1/],
    ['{"AggregateFunction": [{"mode": "duplicate", "every": 2, "often": true}]}', /unknown field\(s\) often/],
    ['{"AggregateFunction": [{"mode": "drop", "every": 2}]}', /has mode "drop": use one of duplicate/],
    ['{"RealtimeLogRecords": [{"mode": "duplicate", "every": 2}]}', /"RealtimeLogRecords" fault 1 has mode "duplicate": use one of drop$/],
  ])('refuses %s', (raw, message) => {
    expect(() => parseFaultPlan(raw)).toThrow(message);
  });
});

describe('realtimeLogRecordLoss', () => {
  it('loses the every-th real-time record up to `times`, printing each, and nothing without a rule', () => {
    const printed: string[] = [];
    const lose = realtimeLogRecordLoss(parseFaultPlan('{"RealtimeLogRecords": [{"mode": "drop", "every": 3, "times": 2}]}'), (line) => printed.push(line));
    if (lose === undefined) throw new Error('a plan with a drop rule loses records');
    expect(Array.from({ length: 12 }, (_, index) => lose(`request-${index}`))).toEqual([false, false, true, false, false, true, false, false, false, false, false, false]);
    expect(printed).toEqual(['[fault] RealtimeLogRecords drop record 3', '[fault] RealtimeLogRecords drop record 6']);
    expect(realtimeLogRecordLoss(parseFaultPlan('{"AggregateFunction": [{"mode": "duplicate", "every": 2}]}'), () => undefined)).toBeUndefined();
  });

  it('is no function prefix: injectFaults leaves the functions alone for it', async () => {
    const fn: LocalFunction = { name: 'Aggregate', timeoutSeconds: 1, invoke: async () => 'ran' };
    const functions = new Map([['AggregateFunction1', fn]]);
    const wrapped = await injectFaults(functions, {
      plan: parseFaultPlan('{"RealtimeLogRecords": [{"mode": "drop", "every": 1}]}'),
      countsFile: path.join(tmpdir(), `faults-${process.pid}-drop.json`),
      print: () => undefined,
      log: () => undefined,
    });
    expect(wrapped.get('AggregateFunction1')).toBe(fn);
  });
});

interface Harness {
  readonly fn: RecordingFunction;
  readonly faulty: LocalFunction;
  readonly printed: string[];
  readonly logged: string[];
  readonly countsFile: string;
  counts(): unknown;
}

let harnessCount = 0;
/** `behaviour` behind injectFaults with `plan` for the recording function (named TestFunction). */
async function harness(plan: FaultPlan, behaviour: (event: unknown, call: number) => Promise<unknown>): Promise<Harness> {
  harnessCount += 1;
  const fn = recordingFunction(behaviour);
  const printed: string[] = [];
  const logged: string[] = [];
  const countsFile = path.join(scratchDir, `faults-${harnessCount}`, 'local-faults.json');
  const functions = await injectFaults(new Map([[fn.name, fn]]), {
    plan,
    countsFile,
    print: (line) => printed.push(line),
    log: (line) => logged.push(line),
  });
  const faulty = functions.get(fn.name);
  if (faulty === undefined) throw new Error('the function went missing');
  return { fn, faulty, printed, logged, countsFile, counts: () => JSON.parse(readFileSync(countsFile, 'utf8')) };
}

const batch = (...ids: string[]): { Records: { id: string }[] } => ({ Records: ids.map((id) => ({ id })) });
const idsIn = (event: unknown): string[] => (event as ReturnType<typeof batch>).Records.map((record) => record.id);
const answerWithCall = async (_event: unknown, call: number): Promise<unknown> => ({ call });

describe('injectFaults', () => {
  it('refuses a prefix that names no function, and a function two prefixes name', async () => {
    const fn = recordingFunction(answerWithCall);
    const options = { countsFile: path.join(scratchDir, 'unused.json'), print: () => undefined, log: () => undefined };
    await expect(injectFaults(new Map([[fn.name, fn]]), { ...options, plan: { AggregateFunction: [] } })).rejects.toThrow(
      /"AggregateFunction" is the start of no function's logical ID \(functions: TestFunction\)/,
    );
    const twice: FaultPlan = { Test: [{ mode: 'duplicate', every: 1 }], TestFunction: [{ mode: 'lose-response', every: 1 }] };
    await expect(injectFaults(new Map([[fn.name, fn]]), { ...options, plan: twice })).rejects.toThrow(/TestFunction is named by more than one prefix/);
  });

  it('leaves the functions alone and removes an old counts file when the plan is empty', async () => {
    const first = await harness({ TestFunction: [{ mode: 'duplicate', every: 1 }] }, answerWithCall);
    const fn = recordingFunction(answerWithCall);
    const functions = new Map([[fn.name, fn]]);
    const result = await injectFaults(functions, { plan: {}, countsFile: first.countsFile, print: () => undefined, log: () => undefined });
    expect(result.get(fn.name)).toBe(fn);
    expect(() => readFileSync(first.countsFile)).toThrow(/ENOENT/);
  });

  it('hits the every-th counted invocation up to `times`, skips empty batches, prints and counts each fault', async () => {
    const h = await harness({ TestFunction: [{ mode: 'lose-response', every: 2, times: 2 }] }, answerWithCall);
    expect(h.counts()).toEqual({ TestFunction: { 'lose-response': 0 } });
    const outcomes: string[] = [];
    for (const event of [batch('1'), batch(), batch('2'), batch('3'), batch(), batch('4'), batch('5'), batch('6'), batch('7')]) {
      outcomes.push(await h.faulty.invoke(event).then(() => 'ok', (error: unknown) => (error instanceof InjectedFaultError ? 'fault' : 'other')));
    }
    // Counted invocations 2 and 4 (records 2 and 4); 6 would be the third hit.
    expect(outcomes).toEqual(['ok', 'ok', 'fault', 'ok', 'ok', 'fault', 'ok', 'ok', 'ok']);
    expect(h.printed).toEqual(['[fault] TestFunction lose-response invocation 2', '[fault] TestFunction lose-response invocation 4']);
    expect(h.counts()).toEqual({ TestFunction: { 'lose-response': 2 } });
  });

  it('counts every invocation of an event without Records, and applies the first rule due', async () => {
    const h = await harness(
      { TestFunction: [{ mode: 'duplicate', every: 3 }, { mode: 'lose-response', every: 2 }] },
      answerWithCall,
    );
    const outcomes: unknown[] = [];
    for (let run = 1; run <= 6; run += 1) {
      outcomes.push(await h.faulty.invoke({ source: 'aws.events' }).catch((error: unknown) => (error as Error).name));
    }
    // 2 and 4 lose their response; 3 and 6 are duplicated (6 is also due for lose-response: the first rule wins).
    expect(outcomes).toEqual([{ call: 1 }, 'InjectedFaultError', { call: 4 }, 'InjectedFaultError', { call: 6 }, { call: 8 }]);
    expect(h.counts()).toEqual({ TestFunction: { duplicate: 2, 'lose-response': 2 } });
  });

  it('duplicate: runs the same event twice in a row and answers with the second run', async () => {
    let running = 0;
    const h = await harness({ TestFunction: [{ mode: 'duplicate', every: 1 }] }, async (_event, call) => {
      running += 1;
      const overlapped = running > 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
      running -= 1;
      return { call, overlapped };
    });
    const event = batch('a', 'b');
    expect(await h.faulty.invoke(event)).toEqual({ call: 2, overlapped: false });
    expect(h.fn.events).toEqual([event, event]);
    // Each run gets its own copy, as each Lambda invocation deserialises its own event.
    expect(h.fn.events[0]).not.toBe(h.fn.events[1]);
  });

  it('duplicate: a failed first run changes nothing but a log line', async () => {
    const h = await harness({ TestFunction: [{ mode: 'duplicate', every: 1 }] }, async (_event, call) => {
      if (call === 1) throw new Error('first run failed');
      return { call };
    });
    expect(await h.faulty.invoke(batch('a'))).toEqual({ call: 2 });
    expect(h.logged).toEqual([expect.stringContaining('first run failed')]);
  });

  it('concurrent-duplicate: runs the same event twice at the same time and answers with the first', async () => {
    let started = 0;
    let bothRunning = false;
    const h = await harness({ TestFunction: [{ mode: 'concurrent-duplicate', every: 1 }] }, async (_event, call) => {
      started += 1;
      // Each run waits for the other to start: run one after the other, the first would time out.
      const deadline = Date.now() + 2_000;
      while (started < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      bothRunning ||= started === 2;
      if (call === 2) throw new Error('the second run fails');
      return { call };
    });
    const event = batch('a');
    expect(await h.faulty.invoke(event)).toEqual({ call: 1 });
    expect(bothRunning).toBe(true);
    expect(h.fn.events).toEqual([event, event]);
    expect(h.logged).toEqual([expect.stringContaining('the second run fails')]);
  });

  it('crash-after-partial: runs the first half of the records, then fails; without Records, the whole event', async () => {
    const h = await harness({ TestFunction: [{ mode: 'crash-after-partial', every: 1 }] }, answerWithCall);
    await expect(h.faulty.invoke({ ...batch('a', 'b', 'c'), shardId: 'shard-1' })).rejects.toThrow(
      /TestFunction crashed after applying 2 of 3 records/,
    );
    await expect(h.faulty.invoke(batch('z'))).rejects.toThrow(/1 of 1 records/);
    await expect(h.faulty.invoke({ source: 'aws.events' })).rejects.toThrow(/crashed after applying its whole event/);
    // The half batch keeps the event's other fields (a tumbling window's shardId, say).
    expect(h.fn.events).toEqual([{ ...batch('a', 'b'), shardId: 'shard-1' }, batch('z'), { source: 'aws.events' }]);
  });

  it('lose-response: runs the whole event, then fails', async () => {
    const h = await harness({ TestFunction: [{ mode: 'lose-response', every: 1 }] }, answerWithCall);
    await expect(h.faulty.invoke(batch('a', 'b'))).rejects.toThrow(/did its work but its response was lost/);
    expect(h.fn.events.map(idsIn)).toEqual([['a', 'b']]);
  });
});

describe('faults under a real stream poller', () => {
  let dynamoLocal: DynamoDbLocal;
  let dynamo: DynamoDBClient;
  let streams: DynamoDBStreamsClient;
  let tableCount = 0;

  beforeAll(async () => {
    dynamoLocal = await startDynamoDbLocal({});
    dynamo = dynamoClient(dynamoLocal.endpoint);
    streams = streamsClient(dynamoLocal.endpoint);
  }, 60_000);

  afterAll(async () => {
    dynamo?.destroy();
    streams?.destroy();
    await dynamoLocal?.stop();
  });
  afterEach(() => jest.restoreAllMocks());

  /** Four records through a poller (one batch, tumbling window on) to `faulty`; returns the ids of each event the handler saw. */
  async function runBatch(plan: FaultPlan): Promise<{ ids: string[][]; shardIds: unknown[]; printed: string[] }> {
    tableCount += 1;
    const tableName = `faults-${tableCount}`;
    const streamArn = await createStreamTable(dynamo, tableName);
    for (const id of ['a', 'b', 'c', 'd']) await dynamo.send(new PutItemCommand({ TableName: tableName, Item: { id: { S: id } } }));
    const h = await harness(plan, async () => ({ state: {}, batchItemFailures: [] }));
    jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const poller = testStreamPoller({
      streams,
      streamArn,
      fn: h.faulty,
      maxBatchingWindowSeconds: 1,
      tumblingWindowSeconds: 900,
      checkpointFile: path.join(scratchDir, `${tableName}.json`),
    });
    poller.start();
    expect(await poller.drain(10_000)).toBe(true);
    await poller.stop();
    const events = h.fn.events as DynamoDBStreamEvent[];
    return {
      ids: events.map((event) => event.Records.map((record) => record.dynamodb?.Keys?.id?.S ?? '?')),
      shardIds: events.map((event) => (event as unknown as { shardId: unknown }).shardId),
      printed: h.printed,
    };
  }

  it('crash-after-partial: the handler sees half the batch, then the whole batch again on the retry', async () => {
    const { ids, shardIds, printed } = await runBatch({ TestFunction: [{ mode: 'crash-after-partial', every: 1, times: 1 }] });
    expect(ids).toEqual([
      ['a', 'b'],
      ['a', 'b', 'c', 'd'],
    ]);
    expect(shardIds[0]).toEqual(expect.stringContaining('shard'));
    expect(shardIds[1]).toBe(shardIds[0]);
    expect(printed).toEqual(['[fault] TestFunction crash-after-partial invocation 1']);
  });

  it('lose-response: the handler sees the whole batch twice', async () => {
    const { ids } = await runBatch({ TestFunction: [{ mode: 'lose-response', every: 1, times: 1 }] });
    expect(ids).toEqual([
      ['a', 'b', 'c', 'd'],
      ['a', 'b', 'c', 'd'],
    ]);
  });

  it('duplicate: the handler sees the batch twice and the poller moves on', async () => {
    const { ids } = await runBatch({ TestFunction: [{ mode: 'duplicate', every: 1 }] });
    expect(ids).toEqual([
      ['a', 'b', 'c', 'd'],
      ['a', 'b', 'c', 'd'],
    ]);
  });
});

describe('npm start with LOCAL_FAULTS', () => {
  it('stops at once on an invalid plan, saying what is wrong', async () => {
    await expect(
      startLocalStackProcess({
        dataDir: path.join(scratchDir, 'invalid-plan'),
        env: { LOCAL_FAULTS: '{"AggregateFunction": [{"mode": "explode", "every": 1}]}' },
      }),
    ).rejects.toThrow(/exited with code 1 before it was ready[\s\S]*LOCAL_FAULTS: "AggregateFunction" fault 1 has mode "explode"/);
  });
});
