import fc from 'fast-check';
import { clickMessageBody, MAX_USER_AGENT_LENGTH, parseClickMessage, type ClickMessage } from '../../lambdas/domain/click';
import {
  CLICK_LOG_MESSAGES,
  EDGE_MS,
  formatClickLogLine,
  parseClickLogLine,
  parseInstant,
  REPLAY_RETENTION_MS,
  replayDecision,
} from '../../lambdas/domain/click-log';
import { clickMessage } from '../fixtures/clicks';

const CLICK = clickMessage();

/** The redirect's Powertools line for a click (logger.info('click', { click })), or the publisher's failure line. */
function powertoolsLine(click: unknown = CLICK, message = 'click', extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    level: message === 'click' ? 'INFO' : 'ERROR',
    message,
    timestamp: '2026-11-26T05:40:07.130Z',
    service: 'redirect',
    sampling_rate: 0,
    ...extra,
    click,
  });
}

/** An `aws logs filter-log-events --output json` event, on one line. */
function filterLogEventsLine(logLine: string): string {
  return JSON.stringify({
    logStreamName: '2026/11/26/[$LATEST]0123456789abcdef0123456789abcdef',
    timestamp: 1795671607130,
    message: `${logLine}\n`,
    ingestionTime: 1795671607200,
    eventId: '38917512312312312312312312312312312312312312312312312312',
  });
}

describe('parseClickLogLine', () => {
  it.each([
    ['the Powertools JSON line', powertoolsLine()],
    ['a "click not queued" line', powertoolsLine(CLICK, 'click not queued', { error: 'AWS.SimpleQueueService.NonExistentQueue: gone' })],
    ['a timestamp prefix (aws logs tail --format short, S3 exports)', `2026-11-26T05:40:07.130Z ${powertoolsLine()}`],
    [
      'aws logs tail --format detailed (time and log stream)',
      `2026-11-26T05:40:07.130000+00:00 2026/11/26/[$LATEST]0123456789abcdef ${powertoolsLine()}`,
    ],
    ['a tab-separated Lambda runtime prefix', `2026-11-26T05:40:07.130Z\t5f0c8a6e-0d4b-4b1e-9f3c-2f3b1c9d7e21\tINFO\t${powertoolsLine()}`],
    ['a filter-log-events event', filterLogEventsLine(powertoolsLine())],
    ['a filter-log-events event of a prefixed line', filterLogEventsLine(`2026-11-26T05:40:07.130Z\tINFO\t${powertoolsLine()}`)],
    ['Windows line ending and spaces around', `  ${powertoolsLine()}  \r`],
    ['a byte order mark at the start of a file', `\uFEFF${powertoolsLine()}`],
    ['a prefix holding a brace', `{prefix} ${powertoolsLine()}`],
    ["the line as a JSON string (jq '.events[].message')", JSON.stringify(`${powertoolsLine()}\n`)],
  ])('reads a click from %s', (_shape, line) => {
    expect(parseClickLogLine(line)).toEqual({ kind: 'click', click: CLICK });
  });

  it('returns the click exactly as parseClickMessage reads it: known fields only, time canonical', () => {
    const line = powertoolsLine({ ...CLICK, ts: '2026-11-26T05:40:07Z', extra: 'dropped' });
    const result = parseClickLogLine(line);
    expect(result).toEqual({ kind: 'click', click: { ...CLICK, ts: '2026-11-26T05:40:07.000Z' } });
    expect(result.kind === 'click' && Object.keys(result.click)).toEqual(Object.keys(CLICK));
  });

  it('reads each of the messages that carry a click, and no other', () => {
    expect(CLICK_LOG_MESSAGES).toEqual(['click', 'click not queued']);
    for (const message of ['click dropped: publisher buffer full', 'click not recorded', 'Click', 'clicks']) {
      expect(parseClickLogLine(powertoolsLine(CLICK, message))).toEqual({ kind: 'other' });
    }
  });

  it.each([
    ['an empty line', ''],
    ['a blank line', ' \t '],
    ['plain text', 'click-analytics local stack ready at http://127.0.0.1:3000'],
    ['a local stack line', '[local] poller ClickQueue: batch of 10'],
    ['a Lambda platform line', 'START RequestId: 5f0c8a6e-0d4b-4b1e-9f3c-2f3b1c9d7e21 Version: $LATEST'],
    ['another service line', JSON.stringify({ level: 'INFO', message: 'batch written', service: 'enrich', items: 100 })],
    ['a JSON line without a message', JSON.stringify({ level: 'INFO', click: CLICK })],
    ['a JSON array', JSON.stringify([CLICK])],
    ['a JSON string of another line', JSON.stringify('[local] ready')],
    ['a JSON number', '42'],
    ['a filter-log-events event of another line', filterLogEventsLine(JSON.stringify({ level: 'WARN', message: 'slow', service: 'redirect' }))],
    ['a filter-log-events event of a platform line', filterLogEventsLine('END RequestId: 5f0c8a6e-0d4b-4b1e-9f3c-2f3b1c9d7e21')],
    ['broken JSON that is not a click line', '{"level":"INFO","message":"batch'],
  ])('returns other for %s', (_shape, line) => {
    expect(parseClickLogLine(line)).toEqual({ kind: 'other' });
  });

  it('does not unwrap messages without end', () => {
    // A click line wrapped three times is not what CloudWatch produces.
    const thrice = filterLogEventsLine(filterLogEventsLine(filterLogEventsLine(powertoolsLine())));
    expect(parseClickLogLine(thrice)).toEqual({ kind: 'other' });
    expect(parseClickLogLine(filterLogEventsLine(filterLogEventsLine(powertoolsLine())))).toEqual({ kind: 'click', click: CLICK });
  });

  it.each([
    ['a click line without a click', JSON.stringify({ level: 'INFO', message: 'click', service: 'redirect' }), 'a "click" line without a click object'],
    ['a click that is a string', powertoolsLine(JSON.stringify(CLICK)), 'a "click" line without a click object'],
    ['a click that is null', powertoolsLine(null, 'click not queued'), 'a "click not queued" line without a click object'],
    ['a click that is an array', powertoolsLine([CLICK]), 'a "click" line without a click object'],
    ['a click of another version', powertoolsLine({ ...CLICK, v: 2 }), 'click v must be 1'],
    ['a click without an event id', powertoolsLine({ ...CLICK, eventId: undefined }), 'click eventId must be a lower-case UUID'],
    ['a click with an impossible time', powertoolsLine({ ...CLICK, ts: '2026-02-30T05:40:07.123Z' }), 'click ts must be an ISO 8601 UTC time'],
    ['a click with a full IP address', powertoolsLine({ ...CLICK, ipPrefix: '203.0.113.77' }), 'click ipPrefix must be null or an IPv4 /24 or IPv6 /48 network address'],
    ['a click without an owner', powertoolsLine({ ...CLICK, owner: undefined }), 'click owner must be 1 to 128 characters of letters, digits and ._@+-'],
    ['a click too large for the queue', powertoolsLine({ ...CLICK, purpose: 'x'.repeat(5000) }), 'click body is larger than 4096 bytes'],
    ['an invalid click in a filter-log-events event', filterLogEventsLine(powertoolsLine({ ...CLICK, method: 'POST' })), 'click method must be GET or HEAD'],
    ['a click line cut short', powertoolsLine().slice(0, 200), 'a click line that is not valid JSON (cut short?)'],
    ['a prefixed click line cut short', `2026-11-26T05:40:07.130Z ${powertoolsLine().slice(0, 150)}`, 'a click line that is not valid JSON (cut short?)'],
    ['a filter-log-events event cut short', filterLogEventsLine(powertoolsLine()).slice(0, 300), 'a click line that is not valid JSON (cut short?)'],
  ])('returns invalid for %s, with the reason', (_shape, line, reason) => {
    expect(parseClickLogLine(line)).toEqual({ kind: 'invalid', reason });
  });

  it('reads what the redirect logs for every kind of click', () => {
    const clicks: ClickMessage[] = [
      clickMessage({ ipPrefix: '2001:db8:1::', referrerHost: null, method: 'HEAD', purpose: 'prefetch' }),
      clickMessage({ ipPrefix: null, userAgent: '' }),
      clickMessage({ userAgent: 'Mozilla/5.0 \u{1F600} \uFFFF "quoted" \\ back\tslash' }),
    ];
    for (const click of clicks) expect(parseClickLogLine(powertoolsLine(click))).toEqual({ kind: 'click', click });
  });
});

/** Valid clicks with hostile text where the redirect copies the request's: any User-Agent and purpose, referrer hosts. */
const clicks: fc.Arbitrary<ClickMessage> = fc
  .record({
    eventId: fc.uuid({ version: 4 }),
    code: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
    ts: fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2099, 11, 31) }).map((ms) => new Date(ms).toISOString()),
    userAgent: fc.string({ unit: 'binary', maxLength: MAX_USER_AGENT_LENGTH }).filter((text) => text.length <= MAX_USER_AGENT_LENGTH),
    referrerHost: fc.option(fc.domain(), { nil: null }),
    method: fc.constantFrom('GET' as const, 'HEAD' as const),
    purpose: fc.option(fc.string({ unit: 'grapheme', maxLength: 32 }).filter((text) => text.length <= 32), { nil: null }),
  })
  .map((changes) => clickMessage(changes));

describe('formatClickLogLine', () => {
  it('writes one line that parseClickLogLine reads back as the same click, alone or behind a CloudWatch prefix', () => {
    fc.assert(
      fc.property(clicks, (click) => {
        const line = formatClickLogLine(click);
        expect(line.endsWith('\n')).toBe(true);
        expect(line.slice(0, -1)).not.toMatch(/[\n\r]/);
        expect(parseClickLogLine(line)).toEqual({ kind: 'click', click });
        expect(parseClickLogLine(`2026-11-26T05:40:07.130Z ${line}`)).toEqual({ kind: 'click', click });
        expect(parseClickLogLine(filterLogEventsLine(line.trimEnd()))).toEqual({ kind: 'click', click });
      }),
    );
  });

  it('holds the click and its message only: far shorter than the Powertools line it replaces', () => {
    const line = formatClickLogLine(CLICK);
    expect(JSON.parse(line)).toEqual({ message: 'click', click: CLICK });
    const powertools = powertoolsLine(CLICK, 'click', {
      cold_start: false,
      function_arn: 'arn:aws:lambda:us-east-1:123456789012:function:ClickAnalytics-EdgeRedirectFunction7849A310-AbCdEfGhIjKl',
      function_memory_size: '512',
      function_name: 'ClickAnalytics-EdgeRedirectFunction7849A310-AbCdEfGhIjKl',
      function_request_id: '5f0c8a6e-0d4b-4b1e-9f3c-2f3b1c9d7e21',
      xray_trace_id: '1-6745a8b7-0123456789abcdef01234567',
    });
    expect(line.length).toBeLessThan(powertools.length - 300);
  });
});

describe('clickMessageBody', () => {
  it('is the click as JSON, field for field as the redirect builds it', () => {
    expect(clickMessageBody(CLICK)).toBe(JSON.stringify(CLICK));
    expect(parseClickMessage(clickMessageBody(CLICK))).toEqual(CLICK);
  });

  it('escapes every character SQS could refuse, and reads back as the same click', () => {
    const click = clickMessage({ userAgent: 'Bot \u{1F600} \uFFFF \u0001 \uFFFE end' });
    const body = clickMessageBody(click);
    expect(body).not.toMatch(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD]/);
    expect(body).toContain('\\ud83d\\ude00');
    expect(body).toContain('\\uffff');
    expect(body).toContain('\\u0001');
    expect(parseClickMessage(body)).toEqual(click);
  });
});

describe('parseInstant', () => {
  it.each([
    ['2026-11-26', Date.UTC(2026, 10, 26)],
    ['2026-11-26T05:40Z', Date.UTC(2026, 10, 26, 5, 40)],
    ['2026-11-26T05:40:07Z', Date.UTC(2026, 10, 26, 5, 40, 7)],
    ['2026-11-26T05:40:07.123Z', Date.UTC(2026, 10, 26, 5, 40, 7, 123)],
    ['2026-11-26T05:40:07+01:00', Date.UTC(2026, 10, 26, 4, 40, 7)],
    ['2026-11-26T23:30:00-05:00', Date.UTC(2026, 10, 27, 4, 30)],
    ['2026-11-26T05:40:07+0530', Date.UTC(2026, 10, 26, 0, 10, 7)],
    ['2028-02-29', Date.UTC(2028, 1, 29)],
  ])('reads %s', (text, ms) => {
    expect(parseInstant(text)).toBe(ms);
  });

  it.each([
    ['a time without a zone', '2026-11-26T05:40:07'],
    ['a non-ISO date', '11/26/2026'],
    ['a word', 'yesterday'],
    ['an empty string', ''],
    ['a rolled-over date', '2026-02-30'],
    ['a rolled-over date with a time', '2026-02-30T05:00:00Z'],
    ['a date in no leap year', '2026-02-29'],
    ['an impossible hour', '2026-11-26T25:00:00Z'],
    ['a lower-case zone', '2026-11-26t05:40:07z'],
    ['epoch milliseconds', '1795671607130'],
  ])('rejects %s', (_what, text) => {
    expect(parseInstant(text)).toBeUndefined();
  });
});

describe('replayDecision', () => {
  const now = Date.UTC(2026, 10, 26, 12);
  const hour = 3_600_000;

  it('keeps clicks with since <= ts < until', () => {
    const window = { sinceMs: now - 2 * hour, untilMs: now };
    expect(replayDecision(now - 2 * hour, window, now)).toBe('replay');
    expect(replayDecision(now - 1, window, now)).toBe('replay');
    expect(replayDecision(now - 2 * hour - 1, window, now)).toBe('outside');
    expect(replayDecision(now, window, now)).toBe('outside');
  });

  it('has no bound where none is given', () => {
    expect(replayDecision(now + 24 * hour, {}, now)).toBe('replay');
    expect(replayDecision(now - 80 * 24 * hour, { untilMs: now }, now)).toBe('replay');
    expect(replayDecision(now + 24 * hour, { sinceMs: now }, now)).toBe('replay');
  });

  it('skips clicks past the 90-day quarter-hour retention, and flags those within two days of it', () => {
    expect(REPLAY_RETENTION_MS).toBe(90 * 24 * hour);
    expect(EDGE_MS).toBe(48 * hour);
    expect(replayDecision(now - REPLAY_RETENTION_MS - 1, {}, now)).toBe('expired');
    expect(replayDecision(now - REPLAY_RETENTION_MS, {}, now)).toBe('edge');
    expect(replayDecision(now - REPLAY_RETENTION_MS + EDGE_MS - 1, {}, now)).toBe('edge');
    expect(replayDecision(now - REPLAY_RETENTION_MS + EDGE_MS, {}, now)).toBe('replay');
  });

  it('counts a click outside the window as outside, however old', () => {
    expect(replayDecision(now - 100 * 24 * hour, { sinceMs: now - hour }, now)).toBe('outside');
  });
});
