/**
 * The redirect's buffered click publisher against the real SQS emulator (fauxqs, in-process):
 * batching, the in-flight cap, drop-oldest backpressure, flush, settled, failures that never
 * reject, and a queue that cannot be reached (a port nothing listens on) until it comes back.
 * Then the SQS transport under it (shared with the backfill) on its own: what it reports for a
 * queue that refuses, one that never answers, and a send that was stopped.
 * Sends are held back, when a test needs it, by a gate in the shared SQS client's middleware.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { parseClickMessage, type ClickMessage } from '../../lambdas/domain/click';
import { sqsClient as handlerSqsClient } from '../../lambdas/shared/clients/sqs';
import { ClickPublisher, MAX_BUFFERED_CLICKS } from '../../lambdas/shared/click-publisher';
import type { SendPolicy } from '../../lambdas/transport/click-transport';
import { SqsClickTransport } from '../../lambdas/transport/sqs';
import { type SqsEmulator, startSqs } from '../../local/emulators/sqs';
import { clickMessage } from '../fixtures/clicks';
import { REGION, sqsClient, waitFor, LOCAL_AWS_ENV } from '../fixtures/local/emulators';

jest.setTimeout(60_000);

const MAX_BATCHES_IN_FLIGHT = 8;
const BATCH_SIZE = 10;

let sqsEmulator: SqsEmulator;
let sqs: SQSClient;
const savedEnv = { ...process.env };

/** What the handlers' SQS client sent, and a gate that holds every send until opened. */
const sends = {
  inFlight: 0,
  maxInFlight: 0,
  batchSizes: [] as number[],
  eventIds: [] as string[],
  gate: Promise.resolve(),
  open: (): void => undefined,
  close(): void {
    this.gate = new Promise<void>((resolve) => {
      this.open = resolve;
    });
  },
  reset(): void {
    this.inFlight = 0;
    this.maxInFlight = 0;
    this.batchSizes = [];
    this.eventIds = [];
    this.gate = Promise.resolve();
  },
};

interface BatchInput {
  readonly Entries?: readonly { readonly MessageBody?: string }[];
}

/** The handlers' SQS client for an endpoint nothing listens on: connections are refused at once. */
let unreachableEndpoint: string;

/** Records every send of the handlers' SQS client for the current AWS_ENDPOINT_URL_SQS in `sends`, behind its gate. */
function watchSends(): void {
  handlerSqsClient().middlewareStack.add(
    (next) => async (args) => {
      const entries = (args.input as BatchInput).Entries ?? [];
      sends.inFlight += 1;
      sends.maxInFlight = Math.max(sends.maxInFlight, sends.inFlight);
      sends.batchSizes.push(entries.length);
      try {
        await sends.gate;
        const result = await next(args);
        for (const entry of entries) sends.eventIds.push((JSON.parse(entry.MessageBody ?? '{}') as ClickMessage).eventId);
        return result;
      } finally {
        sends.inFlight -= 1;
      }
    },
    { step: 'initialize', name: 'testSendGate' },
  );
}

/** Runs `body` with the handlers' SQS client pointed at a port nothing listens on. */
async function whileUnreachable<T>(body: () => Promise<T>): Promise<T> {
  process.env.AWS_ENDPOINT_URL_SQS = unreachableEndpoint;
  try {
    return await body();
  } finally {
    process.env.AWS_ENDPOINT_URL_SQS = sqsEmulator.endpoint;
  }
}

beforeAll(async () => {
  sqsEmulator = await startSqs({ region: REGION });
  sqs = sqsClient(sqsEmulator.endpoint);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  unreachableEndpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  Object.assign(process.env, { ...LOCAL_AWS_ENV, AWS_ENDPOINT_URL_SQS: sqsEmulator.endpoint });
  watchSends();
  await whileUnreachable(async () => watchSends());
}, 60_000);

afterAll(async () => {
  await whileUnreachable(async () => handlerSqsClient().destroy());
  handlerSqsClient().destroy();
  sqs?.destroy();
  await sqsEmulator?.stop();
  process.env = savedEnv;
});

beforeEach(() => sends.reset());
afterEach(() => jest.restoreAllMocks());

let queueCount = 0;
async function createQueue(): Promise<string> {
  queueCount += 1;
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `clicks-${queueCount}` }));
  return QueueUrl ?? '';
}

async function queueDepth(queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages);
}

async function receiveAll(queueUrl: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (Messages.length === 0) return bodies;
    bodies.push(...Messages.map((message) => message.Body ?? ''));
  }
}

function publisherFor(queueUrl: string, flushDelayMs = 0) {
  const logger = new Logger({ serviceName: 'publisher-test' });
  const infos = jest.spyOn(logger, 'info').mockImplementation(() => undefined);
  const warnings = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  const errors = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
  const metrics = new Metrics({ namespace: 'ClickAnalytics', serviceName: 'publisher-test' });
  const counted: [string, number][] = [];
  jest.spyOn(metrics, 'singleMetric').mockImplementation(() => {
    const single = new Metrics({ namespace: 'ClickAnalytics', singleMetric: true });
    jest.spyOn(single, 'addMetric').mockImplementation((name, _unit, value) => {
      counted.push([name, value]);
      return single;
    });
    return single;
  });
  const publisher = new ClickPublisher({ transport: new SqsClickTransport(queueUrl), flushDelayMs, logger, metrics });
  return { publisher, infos, warnings, errors, counted };
}

const clicks = (count: number): ClickMessage[] => Array.from({ length: count }, () => clickMessage({ eventId: randomUUID() }));
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const messagesOf = (mock: jest.SpyInstance): unknown[] => mock.mock.calls.map(([message]) => message);

/** How long `promise` took to settle, in ms. */
async function timed(promise: Promise<unknown>): Promise<number> {
  const started = Date.now();
  await promise;
  return Date.now() - started;
}

describe('ClickPublisher on fauxqs', () => {
  it('sends every click exactly once, 10 to a batch under load, with never more than 8 sends in flight', async () => {
    const queueUrl = await createQueue();
    const { publisher, errors } = publisherFor(queueUrl);
    const sent = clicks(208);
    sends.close();
    for (const click of sent) publisher.enqueue(click);
    await tick();
    // The first clicks went at once, one per send; the rest wait for a free slot.
    expect(sends.inFlight).toBe(MAX_BATCHES_IN_FLIGHT);
    expect(sends.batchSizes).toEqual(new Array(MAX_BATCHES_IN_FLIGHT).fill(1));

    sends.open();
    await publisher.flush();
    expect(sends.inFlight).toBe(0);
    expect(sends.maxInFlight).toBe(MAX_BATCHES_IN_FLIGHT);
    expect(sends.batchSizes.slice(MAX_BATCHES_IN_FLIGHT)).toEqual(new Array(20).fill(BATCH_SIZE));
    expect(errors).not.toHaveBeenCalled();

    const received = (await receiveAll(queueUrl)).map((body) => parseClickMessage(body).eventId);
    expect(received.sort()).toEqual(sent.map((click) => click.eventId).sort());
  });

  it(`drops the oldest waiting clicks past ${MAX_BUFFERED_CLICKS}, counts and logs each, and sends the rest`, async () => {
    const queueUrl = await createQueue();
    const { publisher, warnings, counted } = publisherFor(queueUrl);
    const sent = clicks(MAX_BATCHES_IN_FLIGHT + MAX_BUFFERED_CLICKS + 5);
    sends.close();
    for (const click of sent) publisher.enqueue(click);
    const dropped = sent.slice(MAX_BATCHES_IN_FLIGHT, MAX_BATCHES_IN_FLIGHT + 5).map((click) => click.eventId);
    expect(warnings.mock.calls.map(([message, extra]) => [message, (extra as { eventId: string }).eventId])).toEqual(
      dropped.map((eventId) => ['click dropped: publisher buffer full', eventId]),
    );
    expect(counted).toEqual(dropped.map(() => ['ClicksDropped', 1]));

    sends.open();
    await publisher.flush();
    const expected = sent.map((click) => click.eventId).filter((eventId) => !dropped.includes(eventId));
    expect([...sends.eventIds].sort()).toEqual(expected.sort());
    expect(await queueDepth(queueUrl)).toBe(expected.length);
  });

  it('waits out the flush delay before sending a partial batch, and flush sends it at once', async () => {
    const queueUrl = await createQueue();
    const delayed = publisherFor(queueUrl, 200);
    delayed.publisher.enqueue(clickMessage({ eventId: randomUUID() }));
    delayed.publisher.enqueue(clickMessage({ eventId: randomUUID() }));
    await tick();
    expect(sends.batchSizes).toEqual([]);
    await waitFor(async () => (await queueDepth(queueUrl)) === 2, 5_000);
    expect(sends.batchSizes).toEqual([2]);

    const flushed = publisherFor(queueUrl, 60_000);
    for (const click of clicks(3)) flushed.publisher.enqueue(click);
    await flushed.publisher.flush();
    expect(sends.batchSizes).toEqual([2, 3]);
    expect(sends.inFlight).toBe(0);
    expect(await queueDepth(queueUrl)).toBe(5);
  });

  it('flush resolves only once every send in flight has finished', async () => {
    const queueUrl = await createQueue();
    const { publisher } = publisherFor(queueUrl);
    sends.close();
    for (const click of clicks(25)) publisher.enqueue(click);
    let flushed = false;
    const flushing = publisher.flush().then(() => {
      flushed = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(flushed).toBe(false);
    sends.open();
    await flushing;
    expect(await queueDepth(queueUrl)).toBe(25);
  });

  it('never rejects: clicks the queue refuses (a missing queue) are logged with their event id and counted, not retried', async () => {
    const missingQueue = `${await createQueue()}-missing`;
    const { publisher, errors, counted } = publisherFor(missingQueue);
    const sent = clicks(3);
    for (const click of sent) publisher.enqueue(click);
    await expect(publisher.flush()).resolves.toBeUndefined();
    expect(errors.mock.calls.map(([message, extra]) => [message, (extra as { click: ClickMessage }).click.eventId])).toEqual(
      sent.map((click) => ['click not queued', click.eventId]),
    );
    expect(counted.reduce((sum, [name, value]) => sum + (name === 'ClicksNotQueued' ? value : 0), 0)).toBe(3);
    expect(publisher.buffered).toBe(0);
  });

  it('keeps the clicks of a send the queue never answered, sends nothing while it fails, and sends them all once it is back', async () => {
    const queueUrl = await createQueue();
    const { publisher, infos, warnings, errors } = publisherFor(queueUrl);
    const sent = clicks(13);
    await whileUnreachable(async () => {
      for (const click of sent.slice(0, 3)) publisher.enqueue(click);
      // settled() ends as soon as the queue is marked failing, long before its budget.
      expect(await timed(publisher.settled(10_000))).toBeLessThan(5_000);
      // The other two sends, one click each, fail as well.
      await waitFor(() => publisher.buffered === 3 && sends.inFlight === 0, 5_000);
      expect(messagesOf(warnings)).toEqual(['click queue unreachable: clicks kept for a retry']);
      const attempts = sends.batchSizes.length;
      for (const click of sent.slice(3)) publisher.enqueue(click);
      await tick();
      expect(sends.batchSizes).toHaveLength(attempts);
      expect(await timed(publisher.settled(10_000))).toBeLessThan(50);
    });

    // The retry timer finds the queue again, without another enqueue.
    await waitFor(async () => (await queueDepth(queueUrl)) === sent.length, 10_000);
    expect(publisher.buffered).toBe(0);
    expect(errors).not.toHaveBeenCalled();
    expect(messagesOf(infos)).toEqual(['click queue reachable again']);
    const received = (await receiveAll(queueUrl)).map((body) => parseClickMessage(body).eventId);
    expect(received.sort()).toEqual(sent.map((click) => click.eventId).sort());
  });

  it('puts the clicks of a failed send back at the front, so they are the oldest when the bound drops clicks', async () => {
    const queueUrl = await createQueue();
    const { publisher, warnings, counted } = publisherFor(queueUrl);
    const sent = clicks(MAX_BUFFERED_CLICKS + 2);
    await whileUnreachable(async () => {
      for (const click of sent.slice(0, 3)) publisher.enqueue(click);
      await waitFor(() => publisher.buffered === 3 && sends.inFlight === 0, 5_000);
      for (const click of sent.slice(3)) publisher.enqueue(click);
    });
    const dropped = sent.slice(0, 2).map((click) => click.eventId);
    const drops = warnings.mock.calls.filter(([message]) => message === 'click dropped: publisher buffer full');
    expect(drops.map(([, extra]) => (extra as { eventId: string }).eventId)).toEqual(dropped);
    expect(counted).toEqual(dropped.map(() => ['ClicksDropped', 1]));
    expect(publisher.buffered).toBe(MAX_BUFFERED_CLICKS);

    await publisher.flush();
    expect(await queueDepth(queueUrl)).toBe(MAX_BUFFERED_CLICKS);
  });

  it('flush tries a failing queue once more and keeps what it still cannot send', async () => {
    const queueUrl = await createQueue();
    const { publisher, errors } = publisherFor(queueUrl);
    const sent = clicks(25);
    await whileUnreachable(async () => {
      for (const click of sent) publisher.enqueue(click);
      await waitFor(() => publisher.buffered === sent.length && sends.inFlight === 0, 5_000);
      const attempts = sends.batchSizes.length;
      await expect(publisher.flush()).resolves.toBeUndefined();
      expect(sends.batchSizes.length).toBeGreaterThan(attempts);
      expect(publisher.buffered).toBe(sent.length);
    });
    await publisher.flush();
    expect(publisher.buffered).toBe(0);
    expect(errors).not.toHaveBeenCalled();
    expect(await queueDepth(queueUrl)).toBe(sent.length);
  });

  it('settled waits for the sends in flight, within its budget, and resolves at once when nothing is left', async () => {
    const queueUrl = await createQueue();
    const { publisher } = publisherFor(queueUrl);
    expect(await timed(publisher.settled(10_000))).toBeLessThan(50);

    sends.close();
    for (const click of clicks(12)) publisher.enqueue(click);
    const budgetSpent = await timed(publisher.settled(200));
    expect(budgetSpent).toBeGreaterThanOrEqual(190);
    expect(budgetSpent).toBeLessThan(1_000);

    let settled = false;
    const settling = publisher.settled(10_000).then(() => {
      settled = true;
    });
    await sleep(100);
    expect(settled).toBe(false);
    sends.open();
    await settling;
    expect(await queueDepth(queueUrl)).toBe(12);
  });

  it('queues a click whose User-Agent holds characters SQS refuses in a message body, unchanged', async () => {
    const queueUrl = await createQueue();
    const { publisher, errors } = publisherFor(queueUrl);
    // U+FFFF and U+FFFE are outside what SQS accepts; fauxqs also refuses characters beyond U+FFFF.
    const click = clickMessage({ eventId: randomUUID(), userAgent: 'Mozilla/5.0 \uFFFF\uFFFE 😀 é \u0001' });
    publisher.enqueue(click);
    await publisher.flush();
    expect(errors).not.toHaveBeenCalled();
    const [body] = await receiveAll(queueUrl);
    expect(parseClickMessage(body)).toEqual(click);
  });
});

describe('SqsClickTransport on fauxqs', () => {
  const ONCE: SendPolicy = { attempts: 1, retryUnanswered: false };

  it('sends up to 10 clicks in one request', async () => {
    const queueUrl = await createQueue();
    const transport = new SqsClickTransport(queueUrl);
    const sent = clicks(transport.maxBatch);
    expect(await transport.send(sent, ONCE)).toEqual([]);
    expect(sends.batchSizes).toEqual([BATCH_SIZE]);
    expect((await receiveAll(queueUrl)).map((body) => parseClickMessage(body).eventId).sort()).toEqual(sent.map(({ eventId }) => eventId).sort());
  });

  it('reports every click of a request the queue refuses (a missing queue) as refused, without trying again', async () => {
    const transport = new SqsClickTransport(`${await createQueue()}-missing`);
    const sent = clicks(3);
    const notSent = await transport.send(sent, { attempts: 6, retryUnanswered: true, backoffMs: () => 0 });
    expect(sends.batchSizes).toEqual([3]);
    expect(notSent.map(({ click, kind }) => [click, kind])).toEqual(sent.map((click) => [click, 'refused']));
  });

  it('gives back the clicks of a request that got no answer at once, or tries it again when the policy says so', async () => {
    const transport = new SqsClickTransport(await createQueue());
    const sent = clicks(2);
    await whileUnreachable(async () => {
      const once = await transport.send(sent, ONCE);
      expect(once.map(({ click, kind }) => [click, kind])).toEqual(sent.map((click) => [click, 'unanswered']));
      expect(sends.batchSizes).toEqual([2]);

      const backoffs: number[] = [];
      const retried = await transport.send(sent, {
        attempts: 3,
        retryUnanswered: true,
        backoffMs: (attempt) => {
          backoffs.push(attempt);
          return 0;
        },
      });
      expect(retried.map(({ kind }) => kind)).toEqual(['unanswered', 'unanswered']);
      expect(sends.batchSizes).toEqual([2, 2, 2, 2]);
      expect(backoffs).toEqual([2, 3]);
    });
  });

  it('sends nothing once the signal is aborted, and says so', async () => {
    const transport = new SqsClickTransport(await createQueue());
    const sent = clicks(2);
    const notSent = await transport.send(sent, { ...ONCE, signal: AbortSignal.abort() });
    expect(sends.batchSizes).toEqual([]);
    expect(notSent).toEqual(sent.map((click) => ({ click, kind: 'unanswered', reason: 'not sent: sending was stopped' })));
  });
});
