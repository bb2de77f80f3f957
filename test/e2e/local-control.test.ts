/**
 * `POST /_local/schedules/{logicalIdPrefix}/run?runs=N&at=ISO` on the local HTTP front: guarded by the
 * admin key, runs the schedule now (N runs at once) and answers when they are done; and the same
 * route, with LOCAL_FAULTS, through `npm start`.
 */
import { controlHandler } from '../../local/control';
import { type HttpFront, parseRouteKey, startHttpFront } from '../../local/http-front';
import { Scheduler } from '../../local/scheduler';
import { recordingFunction } from '../fixtures/local/emulators';
import {
  faultCounts,
  type LocalStackProcess,
  removeDataDir,
  runSchedule,
  startLocalStackProcess,
  TEST_API_KEY,
} from '../fixtures/local/local-stack-process';

jest.setTimeout(90_000);

const API_KEY = 'control-test-key';
const authorised = { authorization: `Bearer ${API_KEY}` };

describe('the local control route', () => {
  let front: HttpFront;
  let scheduler: Scheduler;
  let baseUrl: string;
  /** How many runs of the rollup are under way, and the most there were at once. */
  let running = 0;
  let mostAtOnce = 0;
  let finished = 0;
  const rollup = recordingFunction(async (_event, call) => {
    running += 1;
    mostAtOnce = Math.max(mostAtOnce, running);
    // Long enough for runs started together to overlap, and for an early answer to show.
    await new Promise((resolve) => setTimeout(resolve, 200));
    running -= 1;
    finished += 1;
    if (call === 5) throw new Error('rollup run 5 failed');
    return { rolledUp: call };
  });
  const trends = recordingFunction(async () => undefined);
  const echo = recordingFunction(async () => ({ statusCode: 200, body: 'from the template route' }));

  beforeAll(async () => {
    front = await startHttpFront({ port: 0, trustProxy: false, log: () => undefined });
    baseUrl = `http://127.0.0.1:${front.port}`;
    scheduler = new Scheduler({
      schedules: [
        { name: 'RollupSchedule1233A153/Target0', expression: 'rate(5 minutes)', fn: { ...rollup, name: 'RollupFunction6A99D0EB' } },
        { name: 'TrendsRuleA/Target0', expression: 'cron(0 3 * * ? *)', fn: trends, input: { job: 'trends' } },
        { name: 'TrendsRuleB/Target0', expression: 'cron(0 4 * * ? *)', fn: trends },
      ],
    });
    front.serve([parseRouteKey('ANY /{proxy+}', echo)], controlHandler({ apiKey: API_KEY, scheduler }));
  });

  afterAll(async () => {
    await front?.stop();
    await scheduler?.stop();
  });

  const post = (pathAndQuery: string, headers: Record<string, string> = authorised): Promise<Response> =>
    fetch(`${baseUrl}${pathAndQuery}`, { method: 'POST', headers });

  it('answers 401 without the admin key, and runs nothing', async () => {
    const withoutTheKey: Record<string, string>[] = [{}, { authorization: 'Bearer wrong' }, { authorization: API_KEY }];
    for (const headers of withoutTheKey) {
      const response = await post('/_local/schedules/RollupSchedule/run', headers);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      expect(await response.json()).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    }
    expect(rollup.events).toHaveLength(0);
  });

  it('answers 404 for an unknown schedule or local route, 405 for another method, 400 for a bad count or an ambiguous prefix', async () => {
    const unknown = await post('/_local/schedules/NoSuchSchedule/run');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: { code: 'not_found', message: expect.stringContaining('"NoSuchSchedule"') } });
    expect((await post('/_local/queues/ClickQueue/purge')).status).toBe(404);
    const get = await fetch(`${baseUrl}/_local/schedules/RollupSchedule/run`, { headers: authorised });
    expect({ status: get.status, allow: get.headers.get('allow') }).toEqual({ status: 405, allow: 'POST' });
    for (const runs of ['0', '11', 'two', '1.5', '']) {
      expect({ runs, status: (await post(`/_local/schedules/RollupSchedule/run?runs=${runs}`)).status }).toEqual({ runs, status: 400 });
    }
    const ambiguous = await post('/_local/schedules/TrendsRule/run');
    expect(ambiguous.status).toBe(400);
    expect(((await ambiguous.json()) as { error: { message: string } }).error.message).toMatch(/TrendsRuleA\/Target0, TrendsRuleB\/Target0/);
    expect(rollup.events).toHaveLength(0);
    expect(trends.events).toHaveLength(0);
  });

  it('runs a schedule once by default, with a Scheduled Event, or its target\'s constant input', async () => {
    const response = await post('/_local/schedules/RollupSchedule/run');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ runs: [{ ok: true }] });
    expect(rollup.events).toEqual([
      expect.objectContaining({ 'detail-type': 'Scheduled Event', source: 'aws.events', resources: [expect.stringMatching(/:rule\/RollupSchedule1233A153\/Target0$/)] }),
    ]);
    expect((await post('/_local/schedules/TrendsRuleA/run')).status).toBe(200);
    expect(trends.events).toEqual([{ job: 'trends' }]);
  });

  it('runs N at once, by the prefix of the schedule or of its function, and answers when all have finished', async () => {
    const [started, finishedBefore] = [rollup.events.length, finished];
    mostAtOnce = 0;
    const response = await post('/_local/schedules/RollupFunction/run?runs=3');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ runs: [{ ok: true }, { ok: true }, { ok: true }] });
    expect(rollup.events.length - started).toBe(3);
    expect(finished - finishedBefore).toBe(3);
    expect(mostAtOnce).toBe(3);
  });

  it('reports a failed run beside the others', async () => {
    // The rollup's fifth call fails.
    const response = await post('/_local/schedules/RollupSchedule1233A153/run?runs=2');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ runs: [{ ok: false, error: 'rollup run 5 failed' }, { ok: true }] });
  });

  it('gives the runs the scheduled time asked for, and answers 400 for one that is not an ISO time with a zone', async () => {
    const before = rollup.events.length;
    for (const at of ['tomorrow', '2026-12-03', '2026-12-03T00:00:00', '2026-13-03T00:00:00Z', '1764720000000', '']) {
      expect({ at, status: (await post(`/_local/schedules/RollupSchedule/run?at=${encodeURIComponent(at)}`)).status }).toEqual({ at, status: 400 });
    }
    expect(rollup.events.length).toBe(before);
    const response = await post(`/_local/schedules/RollupSchedule/run?runs=2&at=${encodeURIComponent('2026-12-03T01:30:00+01:30')}`);
    expect(await response.json()).toEqual({ runs: [{ ok: true }, { ok: true }] });
    expect(rollup.events.slice(before)).toEqual([
      expect.objectContaining({ 'detail-type': 'Scheduled Event', time: '2026-12-03T00:00:00Z' }),
      expect.objectContaining({ 'detail-type': 'Scheduled Event', time: '2026-12-03T00:00:00Z' }),
    ]);
  });

  it('leaves every other path to the template routes', async () => {
    const response = await fetch(`${baseUrl}/_localish/schedules`);
    expect(await response.text()).toBe('from the template route');
  });
});

describe('npm start with LOCAL_FAULTS', () => {
  let stack: LocalStackProcess | undefined;

  afterAll(async () => {
    await stack?.kill();
    if (stack) await removeDataDir(stack.dataDir);
  });

  it('injects the planned faults, prints and counts them; the control route runs the real schedule', async () => {
    stack = await startLocalStackProcess({
      env: {
        LOCAL_FAULTS: JSON.stringify({
          RedirectFunction: [{ mode: 'lose-response', every: 1, times: 1 }],
          RollupFunction: [{ mode: 'lose-response', every: 2 }],
        }),
      },
    });
    const { baseUrl, dataDir } = stack;
    // The redirect's first response is lost: API Gateway answers 500; the next one is a redirect.
    expect((await fetch(`${baseUrl}/demo`, { redirect: 'manual' })).status).toBe(500);
    expect((await fetch(`${baseUrl}/demo`, { redirect: 'manual' })).status).toBe(302);

    const unauthorised = await fetch(`${baseUrl}/_local/schedules/RollupSchedule/run`, { method: 'POST' });
    expect(unauthorised.status).toBe(401);
    const unknown = await fetch(`${baseUrl}/_local/schedules/NoSuchSchedule/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_API_KEY}` },
    });
    expect(unknown.status).toBe(404);
    // Two runs at once: the second counted invocation of the rollup loses its response.
    expect(await runSchedule(baseUrl, 'RollupSchedule', 2)).toEqual([
      { ok: true },
      { ok: false, error: expect.stringContaining('response was lost') },
    ]);

    const counts = await faultCounts(dataDir);
    expect(Object.entries(counts).map(([logicalId, modes]) => [logicalId.replace(/[0-9A-F]{8}$/, ''), modes]).sort()).toEqual([
      ['RedirectFunction', { 'lose-response': 1 }],
      ['RollupFunction', { 'lose-response': 1 }],
    ]);
    expect(stack.output()).toMatch(/^\[fault\] RedirectFunction[0-9A-F]{8} lose-response invocation 1$/m);
    expect(stack.output()).toMatch(/^\[fault\] RollupFunction[0-9A-F]{8} lose-response invocation 2$/m);
    await expect(stack.stop('SIGINT')).resolves.toBe(0);
  });
});
