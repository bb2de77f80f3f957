import { parseScheduleExpression, Scheduler } from '../../local/scheduler';
import type { LocalFunction } from '../../local/types';

const at = (iso: string): Date => new Date(iso);
const next = (expression: string, after: string): string | undefined => parseScheduleExpression(expression)(at(after))?.toISOString();

describe('cron expressions (UTC, six fields)', () => {
  it('fires at a fixed time every day', () => {
    expect(next('cron(15 2 * * ? *)', '2026-03-10T01:00:00Z')).toBe('2026-03-10T02:15:00.000Z');
    expect(next('cron(15 2 * * ? *)', '2026-03-10T02:15:00Z')).toBe('2026-03-11T02:15:00.000Z');
  });

  it('crosses month and year ends', () => {
    expect(next('cron(0 0 1 * ? *)', '2026-12-31T23:59:30Z')).toBe('2027-01-01T00:00:00.000Z');
    expect(next('cron(30 23 31 * ? *)', '2026-04-01T00:00:00Z')).toBe('2026-05-31T23:30:00.000Z');
  });

  it('supports steps from * and from a start value', () => {
    expect(next('cron(*/15 * * * ? *)', '2026-03-10T10:16:00Z')).toBe('2026-03-10T10:30:00.000Z');
    expect(next('cron(5/20 * * * ? *)', '2026-03-10T10:26:00Z')).toBe('2026-03-10T10:45:00.000Z');
    expect(next('cron(5/20 * * * ? *)', '2026-03-10T10:45:00Z')).toBe('2026-03-10T11:05:00.000Z');
  });

  it('supports lists and ranges', () => {
    expect(next('cron(0 8,12,18 * * ? *)', '2026-03-10T12:00:00Z')).toBe('2026-03-10T18:00:00.000Z');
    expect(next('cron(0 9-11 * * ? *)', '2026-03-10T11:30:00Z')).toBe('2026-03-11T09:00:00.000Z');
    expect(next('cron(0 0 1-10/3 * ? *)', '2026-03-02T00:00:00Z')).toBe('2026-03-04T00:00:00.000Z');
  });

  it('numbers days of the week from 1 = Sunday and accepts names', () => {
    // 2026-03-10 is a Tuesday.
    expect(next('cron(0 6 ? * 2 *)', '2026-03-10T00:00:00Z')).toBe('2026-03-16T06:00:00.000Z');
    expect(next('cron(0 6 ? * MON-FRI *)', '2026-03-13T07:00:00Z')).toBe('2026-03-16T06:00:00.000Z');
    expect(next('cron(0 6 ? * SUN *)', '2026-03-10T00:00:00Z')).toBe('2026-03-15T06:00:00.000Z');
  });

  it('honours months and years, and ends when the years run out', () => {
    expect(next('cron(0 0 1 JAN,JUL ? *)', '2026-02-01T00:00:00Z')).toBe('2026-07-01T00:00:00.000Z');
    expect(next('cron(0 0 1 1 ? 2028)', '2026-02-01T00:00:00Z')).toBe('2028-01-01T00:00:00.000Z');
    expect(next('cron(0 0 1 1 ? 2025)', '2026-02-01T00:00:00Z')).toBeUndefined();
  });

  it('finds a rare date (29 February) without giving up', () => {
    expect(next('cron(0 12 29 2 ? *)', '2026-03-01T00:00:00Z')).toBe('2028-02-29T12:00:00.000Z');
  });

  it.each([
    ['cron(0 0 * * * *)', /exactly one of day-of-month and day-of-week/],
    ['cron(0 0 ? * ? *)', /exactly one of day-of-month and day-of-week/],
    ['cron(0 0 * *)', /expected 6 fields/],
    ['cron(60 0 * * ? *)', /minutes "60" is out of range 0-59/],
    ['cron(0 0 L * ? *)', /day-of-month "L" is not a number/],
    ['cron(0 0 ? * 2#1 *)', /day-of-week "2#1" is not a number/],
    ['cron(0 10-8 * * ? *)', /runs backwards/],
    ['cron(*/0 * * * ? *)', /invalid step/],
    ['rate(0 minutes)', /N >= 1/],
    ['rate(5 weeks)', /rate\(N minute/],
    ['every 5 minutes', /expected rate\(...\) or cron\(...\)/],
  ])('rejects %s with a clear message', (expression, message) => {
    expect(() => parseScheduleExpression(expression)).toThrow(message);
  });
});

describe('rate expressions', () => {
  it('fires every period counted from the origin', () => {
    const origin = at('2026-03-10T10:00:30Z');
    const everyFive = parseScheduleExpression('rate(5 minutes)', origin);
    expect(everyFive(origin)?.toISOString()).toBe('2026-03-10T10:05:30.000Z');
    expect(everyFive(at('2026-03-10T10:05:30Z'))?.toISOString()).toBe('2026-03-10T10:10:30.000Z');
    expect(parseScheduleExpression('rate(1 hour)', origin)(at('2026-03-10T12:00:00Z'))?.toISOString()).toBe('2026-03-10T12:00:30.000Z');
    expect(parseScheduleExpression('rate(2 days)', origin)(origin)?.toISOString()).toBe('2026-03-12T10:00:30.000Z');
  });
});

describe('Scheduler', () => {
  afterEach(() => jest.useRealTimers());

  /** A function that records the events it gets and then behaves as told. */
  function recordingFunction(behaviour: (event: unknown) => Promise<unknown>): LocalFunction & { events: unknown[] } {
    const events: unknown[] = [];
    return {
      name: 'Rollup',
      timeoutSeconds: 60,
      events,
      invoke: (event) => {
        events.push(event);
        return behaviour(event);
      },
    };
  }

  it('invokes with a Scheduled Event, goes on after a failure and never overlaps runs', async () => {
    jest.useFakeTimers({ now: at('2026-03-10T10:00:30Z') });
    let release: () => void = () => undefined;
    let calls = 0;
    const fn = recordingFunction(async () => {
      calls += 1;
      if (calls === 1) throw new Error('boom');
      if (calls === 2) await new Promise<void>((resolve) => (release = resolve));
    });
    const errors = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const warnings = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const scheduler = new Scheduler({ schedules: [{ name: 'daily-rollup', expression: 'cron(* * * * ? *)', fn }] });
    scheduler.start();

    await jest.advanceTimersByTimeAsync(30_000); // 10:01 — fails
    await jest.advanceTimersByTimeAsync(60_000); // 10:02 — hangs
    await jest.advanceTimersByTimeAsync(60_000); // 10:03 — skipped, 10:02 still running
    expect(fn.events).toHaveLength(2);
    expect(errors).toHaveBeenCalledWith(expect.stringContaining('daily-rollup failed'), expect.any(Error));
    expect(warnings).toHaveBeenCalledWith(expect.stringContaining('previous run is still going'));
    release();
    await jest.advanceTimersByTimeAsync(60_000); // 10:04
    expect(fn.events).toHaveLength(3);
    expect(fn.events[2]).toEqual({
      version: '0',
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '000000000000',
      time: '2026-03-10T10:04:00Z',
      region: expect.any(String),
      resources: [expect.stringMatching(/^arn:aws:events:.+:rule\/daily-rollup$/)],
      detail: {},
    });
    await scheduler.stop();
    await jest.advanceTimersByTimeAsync(120_000);
    expect(fn.events).toHaveLength(3);
  });

  it('sends the configured input instead of the Scheduled Event', async () => {
    jest.useFakeTimers({ now: at('2026-03-10T10:00:00Z') });
    const fn = recordingFunction(async () => undefined);
    const scheduler = new Scheduler({ schedules: [{ name: 'trends', expression: 'rate(1 minute)', fn, input: { job: 'trends' } }] });
    scheduler.start();
    await jest.advanceTimersByTimeAsync(60_000);
    await scheduler.stop();
    expect(fn.events).toEqual([{ job: 'trends' }]);
  });

  it('fails at construction on a bad expression', () => {
    const fn = recordingFunction(async () => undefined);
    expect(() => new Scheduler({ schedules: [{ name: 'bad', expression: 'cron(0 0 * * * *)', fn }] })).toThrow(/day-of-week/);
  });
});
