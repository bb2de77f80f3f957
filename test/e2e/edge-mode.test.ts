/**
 * Edge mode through the local stack (REDIRECT_MODE=edge), over real HTTP and the real emulators: links
 * created through the API reach the KeyValueStore (links stream -> kvs-sync -> the store's API); a visit to
 * a link the store holds is answered by the CloudFront Function and counted from its real-time log record
 * (click stream -> edge enrichment), any other visit by the origin redirect (click queue -> enrichment).
 * A fault loses every third real-time record, as CloudFront's best-effort real-time logs may: those clicks
 * are counted from the standard-log delivery (log bucket -> notification queue -> backfill), which also
 * holds every record the real-time path had. Each visit is counted exactly once, whichever path answered
 * it and however many logs hold it.
 */
import '@aws-sdk/signature-v4a';
import { CloudFrontKeyValueStoreClient, GetKeyCommand, ResourceNotFoundException } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { LOCAL_CREDENTIALS } from '../../lambdas/contract';
import { COUNTING_CLICKS, countingVisits, expectVisitsCountedExactly } from '../fixtures/counting-scenario';
import { countsOf, HOUR_MS, StackClient, tearDownLocalStack } from '../fixtures/stack-client';
import { syntheticVisits, tally, visitorOf, type SyntheticVisit } from '../fixtures/synthetic-traffic';
import { eventually, startLocalStackProcess, type LocalStackProcess } from '../fixtures/local/local-stack-process';

const CONCURRENCY = 16;
/** Every third real-time log record is lost; the standard log has them all. */
const LOST_REALTIME_RECORDS = { RealtimeLogRecords: [{ mode: 'drop', every: 3 }] };
/** Over the 1,024 bytes a store value may hold: the link stays with the origin (docs/edge.md). */
const TOO_LONG_FOR_THE_STORE = `https://example.com/long?${'q'.repeat(1_100)}`;

let stack: LocalStackProcess;
let client: StackClient;
let keyValueStore: CloudFrontKeyValueStoreClient;
let keyValueStoreArn: string;

beforeAll(async () => {
  stack = await startLocalStackProcess({
    env: { REDIRECT_MODE: 'edge', LOCAL_FAULTS: JSON.stringify(LOST_REALTIME_RECORDS), LOCAL_STANDARD_LOG_DELAY_SECONDS: '2' },
  });
  client = new StackClient(stack);
  const described = stack.description.keyValueStore;
  if (described === undefined) throw new Error('The edge-mode stack describes no KeyValueStore');
  keyValueStoreArn = described.arn;
  keyValueStore = new CloudFrontKeyValueStoreClient({
    region: stack.description.region,
    credentials: LOCAL_CREDENTIALS,
    // As lambdas/shared/clients/key-value-store.ts: the endpoint rules would put the account id in front of the host.
    endpointProvider: () => ({ url: new URL(described.endpoint) }),
  });
}, 90_000);

afterAll(async () => {
  keyValueStore?.destroy();
  await tearDownLocalStack(stack, client);
});

/** The store's value for a code, or undefined while it holds none. */
async function storedUrl(code: string): Promise<string | undefined> {
  try {
    return (await keyValueStore.send(new GetKeyCommand({ KvsARN: keyValueStoreArn, Key: code }))).Value;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

const redirectInvocations = (): number => (stack.output().match(/^REPORT RedirectFunction/gm) ?? []).length;
const lostRealtimeRecords = (): number => (stack.output().match(/^\[fault\] RealtimeLogRecords drop record/gm) ?? []).length;
const backfillInvocations = (): number => (stack.output().match(/^REPORT BackfillFunction/gm) ?? []).length;

const truthOf = (visits: readonly SyntheticVisit[]) => tally(visits.map((visit) => ({ human: visit.human, visitor: visitorOf(visit) })));

async function expectCounts(code: string, visits: readonly SyntheticVisit[]): Promise<void> {
  const now = Date.now();
  const range = { granularity: 'hour', from: new Date(now - 2 * HOUR_MS).toISOString(), to: new Date(now + HOUR_MS).toISOString() };
  const truth = truthOf(visits);
  await eventually(async () => expect(countsOf(await client.stats({ link: code }, range))).toEqual(truth), 20_000, 250);
  // Nothing arrives late to push it over (a record counted at the edge and again at the origin): exact, not at least.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  expect(countsOf(await client.stats({ link: code }, range))).toEqual(truth);
}

describe('edge mode through the local stack', () => {
  test('clicks answered at the edge and at the origin are each counted once, real-time records lost or not', async () => {
    const visits = syntheticVisits(300, 11);
    const atEdge = visits.slice(0, 150);
    const atOrigin = visits.slice(150, 230);
    const raced = visits.slice(230, 250);
    const afterSync = visits.slice(250);

    const edgeCode = await client.createLink('https://example.com/edge-landing');
    const originCode = await client.createLink(TOO_LONG_FOR_THE_STORE);
    // Visited at once: whether the store holds it yet is a race, so some of these may reach the origin.
    const racedCode = await client.createLink('https://example.com/raced');
    await client.visitAll(raced.map((visit) => ({ code: racedCode, visit })), CONCURRENCY);

    await eventually(async () => {
      expect(await storedUrl(edgeCode)).toBe('https://example.com/edge-landing');
      expect(await storedUrl(racedCode)).toBe('https://example.com/raced');
    }, 10_000, 100);
    expect(await storedUrl(originCode)).toBeUndefined();

    const invocationsBefore = redirectInvocations();
    await client.visitAll(
      [
        ...atEdge.map((visit) => ({ code: edgeCode, visit })),
        ...atOrigin.map((visit) => ({ code: originCode, visit })),
        ...afterSync.map((visit) => ({ code: racedCode, visit })),
      ],
      CONCURRENCY,
    );
    // Only the link the store cannot hold reached the origin redirect: the others were answered at the edge.
    await eventually(async () => expect(redirectInvocations() - invocationsBefore).toBe(atOrigin.length), 5_000, 100);

    expect(truthOf(atEdge).botClicks).toBeGreaterThan(0);
    // A third of every request's real-time records were lost: at least 50 of the edge's 150 clicks.
    expect(lostRealtimeRecords()).toBeGreaterThanOrEqual(Math.floor(atEdge.length / 3));
    // The three links' waits overlap: each is read on its own.
    await Promise.all([
      expectCounts(edgeCode, atEdge),
      expectCounts(originCode, atOrigin),
      expectCounts(racedCode, [...raced, ...afterSync]),
    ]);
    // The edge's lost records were counted from the standard log.
    expect(backfillInvocations()).toBeGreaterThan(0);
  }, 60_000);

  test("origin mode's counting test (test/e2e/pipeline.test.ts), on a link the edge answers", async () => {
    const code = await client.createLink('https://example.com/landing?campaign=e2e');
    await eventually(async () => expect(await storedUrl(code)).toBe('https://example.com/landing?campaign=e2e'), 10_000, 100);
    const invocationsBefore = redirectInvocations();
    const lostBefore = lostRealtimeRecords();
    await expectVisitsCountedExactly(client, code, countingVisits());
    // Every visit answered at the edge, and a third of their real-time records lost: the backfill made the difference.
    expect(redirectInvocations()).toBe(invocationsBefore);
    expect(lostRealtimeRecords() - lostBefore).toBeGreaterThanOrEqual(Math.floor(COUNTING_CLICKS / 3));
  }, 120_000);
});
