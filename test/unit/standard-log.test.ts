import fc from 'fast-check';
import {
  EDGE_LOG_FIELDS,
  formatEdgeLogRecord,
  FUNCTION_GENERATED_RESPONSE,
  MAX_EDGE_LOG_RECORD_BYTES,
  parseEdgeLogRecord,
  type EdgeLogField,
} from '../../lambdas/domain/edge-log';
import {
  formatStandardLogLine,
  parseStandardLogLine,
  STANDARD_LOG_FIELDS,
  STANDARD_LOG_SUFFIX_PATH,
  standardLogObjectKey,
} from '../../lambdas/domain/standard-log';
import { EDGE_REDIRECT_FIELDS } from '../fixtures/edge-log';

const code = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/).filter((candidate) => !/^(api|dashboard|_local)$/i.test(candidate));
// Well-formed text, as HTTP headers give it (the UTF-8 round trip replaces lone surrogates).
const clientControlled = fc.oneof(
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }).map((text) => Buffer.from(text, 'utf8').toString('utf8')),
  fc.constantFrom('', '-', '%', '%41'),
);

/** A request's log values as the edge front has them: any status and result type, client-controlled text as sent. */
const requestValues: fc.Arbitrary<Record<EdgeLogField, string>> = fc
  .record({
    ms: fc.integer({ min: 1_000, max: 4_102_444_800_000 }),
    ip: fc.oneof(fc.ipV4(), fc.ipV6(), fc.constant('')),
    status: fc.constantFrom('302', '200', '503', '000'),
    method: fc.constantFrom('GET', 'HEAD', 'POST'),
    stem: fc.oneof(code.map((value) => `/${value}`), fc.webPath()),
    query: fc.option(fc.webQueryParameters(), { nil: undefined }),
    requestId: fc.oneof(fc.base64String({ minLength: 4, maxLength: 128 }), fc.constant('')),
    userAgent: clientControlled,
    referer: fc.oneof(fc.webUrl(), clientControlled),
    resultType: fc.constantFrom(FUNCTION_GENERATED_RESPONSE, 'Miss', 'Hit', 'FunctionExecutionError'),
  })
  .map((request) => ({
    timestamp: (request.ms / 1000).toFixed(3),
    'c-ip': request.ip,
    'sc-status': request.status,
    'cs-method': request.method,
    'cs-uri-stem': request.query === undefined ? request.stem : `${request.stem}?${request.query}`,
    'x-edge-request-id': request.requestId,
    'cs-user-agent': request.userAgent,
    'cs-referer': request.referer,
    'x-edge-detailed-result-type': request.resultType,
  }));

describe('STANDARD_LOG_FIELDS', () => {
  it('name, for each field the click rule reads, its standard-log field (v2), and nothing else', () => {
    expect(STANDARD_LOG_FIELDS).toEqual([
      'timestamp(ms)',
      'c-ip',
      'sc-status',
      'cs-method',
      'cs-uri-stem',
      'x-edge-request-id',
      'cs(User-Agent)',
      'cs(Referer)',
      'x-edge-detailed-result-type',
    ]);
    expect(STANDARD_LOG_FIELDS).toHaveLength(EDGE_LOG_FIELDS.length);
  });
});

describe('parseStandardLogLine', () => {
  it("reads a request's line as the real-time rule reads its record: same click (same event id and time) or same skip", () => {
    fc.assert(
      fc.property(requestValues, (values) => {
        expect(parseStandardLogLine(formatStandardLogLine(values))).toEqual(parseEdgeLogRecord(formatEdgeLogRecord(values)));
      }),
      { numRuns: 1_000 },
    );
  });

  it('counts the edge redirect of the fixture, with its time from epoch milliseconds', () => {
    const parsed = parseStandardLogLine(JSON.stringify({ ...lineOf(EDGE_REDIRECT_FIELDS), 'timestamp(ms)': '1764135607123' }));
    expect(parsed).toMatchObject({ click: { code: 'abc123', at: new Date(1_764_135_607_123), method: 'GET', referrerHost: 'news.ycombinator.com' } });
  });

  it('takes whole numbers and null (for none) where JSON may give them, and ignores fields it does not read', () => {
    const line = { ...lineOf(EDGE_REDIRECT_FIELDS), 'timestamp(ms)': 1_764_135_607_123, 'sc-status': 302, 'cs(Referer)': null, 'x-edge-location': 'FRA56-P1' };
    expect(parseStandardLogLine(JSON.stringify(line))).toMatchObject({ click: { at: new Date(1_764_135_607_123), referrerHost: null } });
  });

  it.each([
    ['not JSON', 'timestamp\tc-ip'],
    ['an array', '[1,2]'],
    ['null', 'null'],
    ['a field missing', JSON.stringify({ ...lineOf(EDGE_REDIRECT_FIELDS), 'c-ip': undefined })],
    ['a field of the wrong type', JSON.stringify({ ...lineOf(EDGE_REDIRECT_FIELDS), 'cs-method': ['GET'] })],
    ['a negative number', JSON.stringify({ ...lineOf(EDGE_REDIRECT_FIELDS), 'sc-status': -302 })],
    ['a line break in a value', JSON.stringify({ ...lineOf(EDGE_REDIRECT_FIELDS), 'cs-uri-stem': '/abc\n123' })],
    ['over the size bound', JSON.stringify({ ...lineOf(EDGE_REDIRECT_FIELDS), padding: 'x'.repeat(MAX_EDGE_LOG_RECORD_BYTES) })],
  ])('skips %s as a malformed record', (_what, line) => {
    expect(parseStandardLogLine(line)).toEqual({ skip: 'malformed-record' });
  });

  it('skips a time that is not epoch milliseconds', () => {
    for (const time of ['1764135607.123', '12', 'soon', '']) {
      expect(parseStandardLogLine(JSON.stringify({ ...lineOf(EDGE_REDIRECT_FIELDS), 'timestamp(ms)': time }))).toEqual({ skip: 'malformed-timestamp' });
    }
  });

  it('never throws, and anything it counts is bounded as a real-time click is', () => {
    const hostileObject = fc.dictionary(fc.constantFrom(...STANDARD_LOG_FIELDS, 'other'), fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.object()));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 20_000 }), hostileObject.map((object) => JSON.stringify({ ...lineOf(EDGE_REDIRECT_FIELDS), ...object }))), (line) => {
        const parsed = parseStandardLogLine(line);
        if ('click' in parsed) {
          expect(parsed.click.userAgent.length).toBeLessThanOrEqual(512);
          expect((parsed.click.referrerHost ?? '').length).toBeLessThanOrEqual(253);
          expect(parsed.click.code.length).toBeLessThanOrEqual(64);
        }
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('standardLogObjectKey', () => {
  it("puts an object under the account's CloudFront prefix and the suffix path of its hour, ending in .gz", () => {
    expect(STANDARD_LOG_SUFFIX_PATH).toBe('{DistributionId}/{yyyy}/{MM}/{dd}/{HH}');
    expect(standardLogObjectKey('123456789012', 'E2ABCDEF', new Date('2026-03-04T05:59:59Z'), 'a1b2')).toBe(
      'AWSLogs/123456789012/CloudFront/E2ABCDEF/2026/03/04/05/E2ABCDEF.2026-03-04-05.a1b2.gz',
    );
  });
});

/** The fixture's real-time values (already as logged) under their standard-log names, as the delivery writes a line. */
function lineOf(values: Readonly<Record<EdgeLogField, string>>): Record<string, unknown> {
  return Object.fromEntries(
    EDGE_LOG_FIELDS.map((name, index) => [STANDARD_LOG_FIELDS[index], name === 'timestamp' ? values.timestamp.replace('.', '') : values[name]]),
  );
}
