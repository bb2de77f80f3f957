/**
 * Fault injection for the local stack (LOCAL_FAULTS): wraps functions at the boundary between their
 * trigger (a poller, a schedule, the HTTP front) and the handler, to play what Lambda, SQS and
 * DynamoDB Streams do at their worst: a redelivered batch, two deliveries at once, a crash after
 * part of a batch was applied, a response lost after the work was done. The handlers have no test
 * branches: they only see the events such a fault produces.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describeError } from './retry';
import { isRecord, type LocalFunction } from './types';

export const FAULT_MODES = ['duplicate', 'concurrent-duplicate', 'crash-after-partial', 'lose-response'] as const;
/**
 * The plan key of the edge's real-time log records rather than a function: its one mode, `drop`, loses
 * the every-th record (CloudFront documents real-time logs as best effort), so only the standard-log
 * backfill can count that click.
 */
export const REALTIME_LOG_RECORDS = 'RealtimeLogRecords';
export const REALTIME_LOG_FAULT_MODE = 'drop';
export type FaultMode = (typeof FAULT_MODES)[number] | typeof REALTIME_LOG_FAULT_MODE;

export interface FaultRule {
  readonly mode: FaultMode;
  /** The rule hits the every-th, 2·every-th, … counted invocation of its function. */
  readonly every: number;
  /** At most this many hits; unlimited when absent. */
  readonly times?: number;
}

/** Rules by logical-ID prefix of the function they apply to. */
export type FaultPlan = Readonly<Record<string, readonly FaultRule[]>>;

/** Injected faults so far, by function logical ID and mode. */
export type FaultCounts = Readonly<Record<string, Readonly<Partial<Record<FaultMode, number>>>>>;

/** The error a fault makes the invocation fail with. */
export class InjectedFaultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InjectedFaultError';
  }
}

const modesOf = (prefix: string): readonly FaultMode[] => (prefix === REALTIME_LOG_RECORDS ? [REALTIME_LOG_FAULT_MODE] : FAULT_MODES);

const EXAMPLE = '{"AggregateFunction":[{"mode":"crash-after-partial","every":3}],"EnrichFunction":[{"mode":"duplicate","every":2}]}';

function parseRule(value: unknown, where: string, modes: readonly FaultMode[]): FaultRule {
  const fail = (why: string): never => {
    throw new Error(`LOCAL_FAULTS: ${where} ${why}`);
  };
  if (!isRecord(value)) return fail('must be an object { "mode", "every", "times"? }');
  const unknown = Object.keys(value).filter((key) => !['mode', 'every', 'times'].includes(key));
  if (unknown.length > 0) fail(`has unknown field(s) ${unknown.join(', ')} (allowed: mode, every, times)`);
  const { mode, every, times } = value;
  const known = modes.find((candidate) => candidate === mode);
  if (known === undefined) return fail(`has mode ${JSON.stringify(mode)}: use one of ${modes.join(', ')}`);
  const positiveInteger = (field: string, number: unknown): number =>
    typeof number === 'number' && Number.isInteger(number) && number >= 1
      ? number
      : fail(`has ${field} ${JSON.stringify(number)}: it must be a whole number >= 1`);
  return {
    mode: known,
    every: positiveInteger('every', every),
    ...(times === undefined ? {} : { times: positiveInteger('times', times) }),
  };
}

/** The plan in LOCAL_FAULTS; an empty plan when unset. Throws an error that says what is wrong. */
export function parseFaultPlan(raw: string | undefined): FaultPlan {
  if (raw === undefined || raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new Error(`LOCAL_FAULTS is not valid JSON (${describeError(error)}); expected e.g. ${EXAMPLE}`);
  }
  if (!isRecord(parsed)) throw new Error(`LOCAL_FAULTS must be a JSON object of function logical-ID prefixes to fault lists, e.g. ${EXAMPLE}`);
  const plan: Record<string, FaultRule[]> = {};
  for (const [prefix, rules] of Object.entries(parsed)) {
    if (prefix === '') throw new Error('LOCAL_FAULTS: a function prefix must not be empty');
    if (!Array.isArray(rules)) throw new Error(`LOCAL_FAULTS: "${prefix}" must map to a list of faults, e.g. ${EXAMPLE}`);
    plan[prefix] = rules.map((rule, index) => parseRule(rule, `"${prefix}" fault ${index + 1}`, modesOf(prefix)));
  }
  return plan;
}

/** Events with a Records list count only when it has a record (an empty poll is no delivery); any other event always counts. */
function isCounted(event: unknown): boolean {
  return !isRecord(event) || !Array.isArray(event.Records) || event.Records.length > 0;
}

/** The event with the first half of its Records (at least one); an event without Records has no half: it stays whole. */
function firstHalf(event: unknown): { readonly partial: unknown; readonly applied: string } {
  if (!isRecord(event) || !Array.isArray(event.Records)) return { partial: event, applied: 'its whole event' };
  const half = Math.ceil(event.Records.length / 2);
  return { partial: { ...event, Records: event.Records.slice(0, half) }, applied: `${half} of ${event.Records.length} records` };
}

type Report = (line: string) => void;

/** Lambda hands each invocation its own deserialised event: a handler that edits its event cannot affect the other call. */
const invokeWithCopy = (fn: LocalFunction, event: unknown): Promise<unknown> => fn.invoke(structuredClone(event));

/** Runs an invocation whose outcome the fault discards; its failure is only reported. */
async function discarded(fn: LocalFunction, event: unknown, report: Report): Promise<void> {
  try {
    await invokeWithCopy(fn, event);
  } catch (error) {
    report(`[fault] ${fn.name}: the invocation whose outcome is discarded failed: ${describeError(error)}`);
  }
}

type FunctionFaultMode = (typeof FAULT_MODES)[number];

const MODES: Readonly<Record<FunctionFaultMode, (fn: LocalFunction, event: unknown, report: Report) => Promise<unknown>>> = {
  // A redelivery: the same event again once the first delivery is done; the second answer counts.
  duplicate: async (fn, event, report) => {
    await discarded(fn, event, report);
    return invokeWithCopy(fn, event);
  },
  // Two deliveries of the same event at the same time; the first answer counts.
  'concurrent-duplicate': async (fn, event, report) => {
    // Both are awaited, so nothing of this invocation still runs once it has answered.
    const [first] = await Promise.allSettled([invokeWithCopy(fn, event), discarded(fn, event, report)]);
    if (first.status === 'rejected') throw first.reason;
    return first.value;
  },
  // Part of the batch applied, then the function dies: the trigger retries the whole batch. An event
  // without Records (a schedule, an HTTP request) has no part to run: it runs whole, then fails.
  'crash-after-partial': async (fn, event, report) => {
    const { partial, applied } = firstHalf(event);
    await discarded(fn, partial, report);
    throw new InjectedFaultError(`${fn.name} crashed after applying ${applied} (injected crash-after-partial)`);
  },
  // The work is done but the answer never arrives (a timeout): the trigger retries work already done.
  'lose-response': async (fn, event, report) => {
    await discarded(fn, event, report);
    throw new InjectedFaultError(`${fn.name} did its work but its response was lost (injected lose-response)`);
  },
};

export interface InjectFaultsOptions {
  readonly plan: FaultPlan;
  /** Receives the counts after every fault (DATA_DIR/local-faults.json); removed when the plan is empty. */
  readonly countsFile: string;
  /** One `[fault] <function> <mode> invocation <k>` line per injected fault. */
  readonly print: (line: string) => void;
  /** Failures of the discarded invocations and of writing the counts. */
  readonly log: (line: string) => void;
}

/**
 * Wraps each function a plan prefix names. Every invocation of a wrapped function whose event has
 * at least one record (or has no Records at all) is counted, k = 1, 2, …; at invocation k the first
 * rule, in plan order, with k divisible by its `every` and hits left under its `times` is injected.
 * Throws when a prefix names no function or a function is named by two prefixes.
 */
export async function injectFaults(
  functions: ReadonlyMap<string, LocalFunction>,
  options: InjectFaultsOptions,
): Promise<ReadonlyMap<string, LocalFunction>> {
  const { plan, countsFile } = options;
  const rulesByFunction = new Map<string, { readonly fn: LocalFunction; readonly rules: readonly FaultRule[] }>();
  for (const [prefix, rules] of Object.entries(plan)) {
    if (prefix === REALTIME_LOG_RECORDS) continue;
    const named = [...functions].filter(([logicalId]) => logicalId.startsWith(prefix));
    if (named.length === 0) {
      throw new Error(`LOCAL_FAULTS: "${prefix}" is the start of no function's logical ID (functions: ${[...functions.keys()].join(', ')})`);
    }
    for (const [logicalId, fn] of named) {
      if (rulesByFunction.has(logicalId)) throw new Error(`LOCAL_FAULTS: function ${logicalId} is named by more than one prefix`);
      rulesByFunction.set(logicalId, { fn, rules });
    }
  }
  if (rulesByFunction.size === 0) {
    // A file left by an earlier run with faults would claim faults this run never injected.
    await rm(countsFile, { force: true });
    return functions;
  }

  const faultCounts: Record<string, Partial<Record<FaultMode, number>>> = {};
  let writes: Promise<void> = Promise.resolve();
  const saveCounts = (): Promise<void> => {
    const content = `${JSON.stringify(faultCounts, null, 2)}\n`;
    const write = async (): Promise<void> => {
      await mkdir(path.dirname(countsFile), { recursive: true });
      const temporary = `${countsFile}.${process.pid}.tmp`;
      await writeFile(temporary, content);
      await rename(temporary, countsFile);
    };
    writes = writes.then(write, write);
    return writes;
  };
  const wrapped = new Map(functions);
  for (const [logicalId, { fn, rules }] of rulesByFunction) {
    const functionCounts: Partial<Record<FaultMode, number>> = Object.fromEntries(rules.map((rule) => [rule.mode, 0]));
    faultCounts[logicalId] = functionCounts;
    const hits = rules.map(() => 0);
    let counted = 0;
    wrapped.set(logicalId, {
      name: fn.name,
      timeoutSeconds: fn.timeoutSeconds,
      invoke: async (event) => {
        if (!isCounted(event)) return fn.invoke(event);
        const k = (counted += 1);
        const index = rules.findIndex((rule, at) => k % rule.every === 0 && (rule.times === undefined || hits[at] < rule.times));
        if (index < 0) return fn.invoke(event);
        const rule = rules[index];
        hits[index] += 1;
        functionCounts[rule.mode] = (functionCounts[rule.mode] ?? 0) + 1;
        options.print(`[fault] ${fn.name} ${rule.mode} invocation ${k}`);
        // Written before the fault plays out, so a test that sees its effect also sees it counted.
        await saveCounts().catch((error: unknown) => options.log(`writing ${countsFile} failed: ${describeError(error)}`));
        // A function's rules hold function modes only (modesOf).
        return MODES[rule.mode as FunctionFaultMode](fn, event, options.log);
      },
    });
  }
  await saveCounts();
  return wrapped;
}

/**
 * Whether the edge loses a request's real-time log record, by the plan's REALTIME_LOG_RECORDS rules:
 * records are counted k = 1, 2, …, and record k is lost when a rule's `every` divides k and it has hits
 * left. Undefined when the plan loses none.
 */
export function realtimeLogRecordLoss(plan: FaultPlan, print: (line: string) => void): ((requestId: string) => boolean) | undefined {
  const rules = plan[REALTIME_LOG_RECORDS];
  if (rules === undefined || rules.length === 0) return undefined;
  const hits = rules.map(() => 0);
  let counted = 0;
  return () => {
    const k = (counted += 1);
    const index = rules.findIndex((rule, at) => k % rule.every === 0 && (rule.times === undefined || hits[at] < rule.times));
    if (index < 0) return false;
    hits[index] += 1;
    // Names the record's place alone: the record holds the viewer's address.
    print(`[fault] ${REALTIME_LOG_RECORDS} ${REALTIME_LOG_FAULT_MODE} record ${k}`);
    return true;
  };
}
