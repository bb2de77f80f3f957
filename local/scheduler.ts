import { randomUUID } from 'node:crypto';
import { LOCAL_ACCOUNT_ID } from '../lambdas/contract';
import type { LocalFunction, Stoppable } from './types';

/**
 * EventBridge schedules for the local stack: `rate(...)` and `cron(...)` (UTC, six fields:
 * minutes hours day-of-month month day-of-week year; `*`, `?`, numbers, names, lists, ranges,
 * steps; no L, W or #).
 */

export interface ScheduleDefinition {
  readonly name: string;
  readonly expression: string;
  readonly fn: LocalFunction;
  /** Sent instead of the Scheduled Event, like a target's constant input. */
  readonly input?: unknown;
}

export interface SchedulerOptions {
  readonly schedules: readonly ScheduleDefinition[];
}

/** When a schedule fires next, strictly after `after`; null when it never will. */
export type NextRun = (after: Date) => Date | null;

const MINUTE_MS = 60_000;
const RATE_UNIT_MS: Readonly<Record<string, number>> = {
  minute: MINUTE_MS,
  minutes: MINUTE_MS,
  hour: 60 * MINUTE_MS,
  hours: 60 * MINUTE_MS,
  day: 24 * 60 * MINUTE_MS,
  days: 24 * 60 * MINUTE_MS,
};

/**
 * Parses a schedule expression. A rate counts from `origin` (when the schedule was created), as
 * EventBridge does; a cron is fixed to the UTC clock.
 */
export function parseScheduleExpression(expression: string, origin: Date = new Date()): NextRun {
  const rate = /^rate\(\s*(\d+)\s+([a-z]+)\s*\)$/.exec(expression.trim());
  if (rate) {
    const count = Number(rate[1]);
    const unitMs = RATE_UNIT_MS[rate[2] ?? ''];
    if (unitMs === undefined || count < 1) {
      throw new Error(`Invalid rate expression "${expression}": expected rate(N minute(s)|hour(s)|day(s)) with N >= 1`);
    }
    const periodMs = count * unitMs;
    return (after) => {
      const periods = Math.floor((after.getTime() - origin.getTime()) / periodMs) + 1;
      return new Date(origin.getTime() + Math.max(periods, 1) * periodMs);
    };
  }
  const cron = /^cron\((.*)\)$/.exec(expression.trim());
  if (cron) return parseCron(cron[1] ?? '', expression);
  throw new Error(`Invalid schedule expression "${expression}": expected rate(...) or cron(...)`);
}

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface CronField {
  readonly label: string;
  readonly min: number;
  readonly max: number;
  /** Names for min, min + 1, ... */
  readonly names?: readonly string[];
}

const CRON_FIELDS: readonly CronField[] = [
  { label: 'minutes', min: 0, max: 59 },
  { label: 'hours', min: 0, max: 23 },
  { label: 'day-of-month', min: 1, max: 31 },
  { label: 'month', min: 1, max: 12, names: MONTH_NAMES },
  // EventBridge numbers days 1 (SUN) to 7 (SAT).
  { label: 'day-of-week', min: 1, max: 7, names: DAY_NAMES },
  { label: 'year', min: 1970, max: 2199 },
];

/** The allowed values of one field; null for `?`. */
function parseCronField(text: string, field: CronField, expression: string): ReadonlySet<number> | null {
  if (text === '?') return null;
  const fail = (why: string): never => {
    throw new Error(`Invalid cron expression "${expression}": ${field.label} "${text}" ${why}`);
  };
  const toNumber = (token: string): number => {
    const nameIndex = field.names?.indexOf(token.toUpperCase()) ?? -1;
    const value = nameIndex >= 0 ? field.min + nameIndex : /^\d+$/.test(token) ? Number(token) : fail('is not a number');
    if (value < field.min || value > field.max) fail(`is out of range ${field.min}-${field.max}`);
    return value;
  };
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const [range = '', stepText, ...extra] = part.split('/');
    if (extra.length > 0) fail('has more than one step');
    const step = stepText === undefined ? 1 : /^\d+$/.test(stepText) && Number(stepText) > 0 ? Number(stepText) : fail('has an invalid step');
    let first: number;
    let last: number;
    if (range === '*') {
      [first, last] = [field.min, field.max];
    } else if (range.includes('-')) {
      const [from = '', to = '', ...rest] = range.split('-');
      if (rest.length > 0) fail('has an invalid range');
      [first, last] = [toNumber(from), toNumber(to)];
      if (first > last) fail('has a range that runs backwards');
    } else {
      first = toNumber(range);
      // `5/15` means from 5 to the end, every 15.
      last = stepText === undefined ? first : field.max;
    }
    for (let value = first; value <= last; value += step) values.add(value);
  }
  return values;
}

function parseCron(body: string, expression: string): NextRun {
  const texts = body.trim().split(/\s+/);
  if (texts.length !== CRON_FIELDS.length) {
    throw new Error(`Invalid cron expression "${expression}": expected 6 fields (minutes hours day-of-month month day-of-week year)`);
  }
  const [minutes, hours, daysOfMonth, months, daysOfWeek, years] = texts.map((text, index) =>
    parseCronField(text, CRON_FIELDS[index] as CronField, expression),
  );
  if ((daysOfMonth === null) === (daysOfWeek === null)) {
    throw new Error(`Invalid cron expression "${expression}": exactly one of day-of-month and day-of-week must be "?"`);
  }
  if (minutes === null || hours === null || months === null || years === null) {
    throw new Error(`Invalid cron expression "${expression}": "?" is only allowed in day-of-month or day-of-week`);
  }
  // Exactly one of the two is null ("?"): the other one decides.
  const dayMatches = (date: Date): boolean =>
    daysOfMonth?.has(date.getUTCDate()) ?? daysOfWeek?.has(date.getUTCDay() + 1) ?? false;
  const lastYear = Math.max(...years);

  return (after) => {
    const candidate = new Date(Math.floor(after.getTime() / MINUTE_MS) * MINUTE_MS + MINUTE_MS);
    // Skips whole years, months, days and hours that cannot match, so this takes few steps.
    while (candidate.getUTCFullYear() <= lastYear) {
      if (!years.has(candidate.getUTCFullYear())) {
        candidate.setUTCFullYear(candidate.getUTCFullYear() + 1, 0, 1);
        candidate.setUTCHours(0, 0, 0, 0);
      } else if (!months.has(candidate.getUTCMonth() + 1)) {
        candidate.setUTCMonth(candidate.getUTCMonth() + 1, 1);
        candidate.setUTCHours(0, 0, 0, 0);
      } else if (!dayMatches(candidate)) {
        candidate.setUTCDate(candidate.getUTCDate() + 1);
        candidate.setUTCHours(0, 0, 0, 0);
      } else if (!hours.has(candidate.getUTCHours())) {
        candidate.setUTCHours(candidate.getUTCHours() + 1, 0, 0, 0);
      } else if (!minutes.has(candidate.getUTCMinutes())) {
        candidate.setUTCMinutes(candidate.getUTCMinutes() + 1, 0, 0);
      } else {
        return candidate;
      }
    }
    return null;
  };
}

/** Node timers overflow past 2^31 - 1 ms (about 24.8 days): longer waits are done in steps. */
const MAX_TIMER_MS = 2_147_483_647;

/** How one on-demand run ended. */
export type ScheduleRunResult = { readonly ok: true } | { readonly ok: false; readonly error: string };

/** runNow's prefix named no schedule, or more than one. */
export class ScheduleLookupError extends Error {
  constructor(
    message: string,
    readonly found: 'none' | 'several',
  ) {
    super(message);
    this.name = 'ScheduleLookupError';
  }
}

interface RunningSchedule {
  readonly definition: ScheduleDefinition;
  readonly nextRun: NextRun;
  timer?: NodeJS.Timeout;
  run?: Promise<void>;
}

export class Scheduler implements Stoppable {
  private readonly schedules: readonly RunningSchedule[];
  private running = false;
  /** Runs started by runNow, awaited by stop() like the timed ones. */
  private readonly onDemand = new Set<Promise<unknown>>();

  constructor(options: SchedulerOptions) {
    // Parsing here makes a bad expression fail at startup, not at the first run.
    this.schedules = options.schedules.map((definition) => ({
      definition,
      nextRun: parseScheduleExpression(definition.expression),
    }));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (const schedule of this.schedules) this.arm(schedule, new Date());
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const schedule of this.schedules) clearTimeout(schedule.timer);
    await Promise.all([...this.schedules.map((schedule) => schedule.run), ...this.onDemand]);
  }

  /**
   * Runs the one schedule whose name (its logical ID) or function's logical ID starts with
   * `prefix`, `runs` times at once, now, besides its timed runs (which go on as usual); resolves
   * when every run has finished. Their Scheduled Event carries `scheduledAt` as its `time` (default
   * now), as a run EventBridge delivers late carries the time it was due. Throws ScheduleLookupError
   * when the prefix names none or several.
   */
  async runNow(prefix: string, runs: number, scheduledAt = new Date()): Promise<ScheduleRunResult[]> {
    if (!Number.isInteger(runs) || runs < 1) throw new RangeError(`runs must be a whole number >= 1, got ${runs}`);
    const matches = this.schedules.filter(
      ({ definition }) => definition.name.startsWith(prefix) || definition.fn.name.startsWith(prefix),
    );
    const [schedule] = matches;
    if (schedule === undefined) throw new ScheduleLookupError(`No schedule or scheduled function's logical ID starts with "${prefix}"`, 'none');
    if (matches.length > 1) {
      const names = matches.map(({ definition }) => definition.name).join(', ');
      throw new ScheduleLookupError(`"${prefix}" starts more than one schedule's logical ID: ${names}`, 'several');
    }
    const { definition } = schedule;
    const all = Promise.all(
      Array.from({ length: runs }, () =>
        definition.fn.invoke(eventFor(definition, scheduledAt)).then(
          (): ScheduleRunResult => ({ ok: true }),
          (error: unknown): ScheduleRunResult => ({ ok: false, error: error instanceof Error ? error.message : String(error) }),
        ),
      ),
    );
    this.onDemand.add(all);
    try {
      return await all;
    } finally {
      this.onDemand.delete(all);
    }
  }

  private arm(schedule: RunningSchedule, after: Date): void {
    const due = schedule.nextRun(after);
    if (due === null || !this.running) return;
    const delay = due.getTime() - Date.now();
    schedule.timer = setTimeout(
      () => {
        if (Date.now() < due.getTime()) {
          this.arm(schedule, after);
          return;
        }
        this.fire(schedule, due);
        this.arm(schedule, due);
      },
      Math.min(Math.max(delay, 0), MAX_TIMER_MS),
    );
  }

  private fire(schedule: RunningSchedule, due: Date): void {
    const { name, fn } = schedule.definition;
    if (schedule.run !== undefined) {
      console.warn(`[scheduler] ${name}: the previous run is still going, skipping the run due at ${due.toISOString()}`);
      return;
    }
    schedule.run = fn
      .invoke(eventFor(schedule.definition, due))
      .then(
        () => undefined,
        (error: unknown) => console.error(`[scheduler] ${name} failed (the schedule goes on):`, error),
      )
      .finally(() => {
        schedule.run = undefined;
      });
  }
}

/** The target's constant input, else EventBridge's Scheduled Event. */
function eventFor({ name, input }: ScheduleDefinition, due: Date): unknown {
  return input !== undefined ? input : scheduledEvent(name, due);
}

function scheduledEvent(name: string, due: Date): Readonly<Record<string, unknown>> {
  const region = process.env.AWS_REGION ?? 'us-east-1';
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: LOCAL_ACCOUNT_ID,
    // EventBridge gives the scheduled time to the second.
    time: due.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [`arn:aws:events:${region}:${LOCAL_ACCOUNT_ID}:rule/${name}`],
    detail: {},
  };
}
