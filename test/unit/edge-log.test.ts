import fc from 'fast-check';
import { MAX_USER_AGENT_LENGTH } from '../../lambdas/domain/click';
import {
  EDGE_LOG_FIELDS,
  edgeEventId,
  formatEdgeLogRecord,
  FUNCTION_GENERATED_RESPONSE,
  nameBasedUuid,
  parseEdgeLogRecord,
  percentDecode,
  type EdgeClick,
  type EdgeLogRecord,
} from '../../lambdas/domain/edge-log';
import { MAX_REFERRER_HOST_LENGTH, referrerHost } from '../../lambdas/domain/referrer';
import { EDGE_REDIRECT_FIELDS, edgeLogLine } from '../fixtures/edge-log';
import { USER_AGENTS } from '../fixtures/user-agents';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function clickOf(record: EdgeLogRecord): EdgeClick {
  if (!('click' in record)) throw new Error(`expected a click, got skip ${record.skip}`);
  return record.click;
}

/** Every real-time log field, in the fixed order CloudFront writes them in (docs/edge.md, Clicks from the edge). */
const AWS_FIELD_ORDER = (
  'timestamp c-ip time-to-first-byte sc-status sc-bytes cs-method cs-protocol cs-host cs-uri-stem cs-bytes x-edge-location ' +
  'x-edge-request-id x-host-header time-taken cs-protocol-version c-ip-version cs-user-agent cs-referer cs-cookie cs-uri-query ' +
  'x-edge-response-result-type x-forwarded-for ssl-protocol ssl-cipher x-edge-result-type fle-encrypted-fields fle-status ' +
  'sc-content-type sc-content-len sc-range-start sc-range-end c-port x-edge-detailed-result-type c-country cs-accept-encoding ' +
  'cs-accept cache-behavior-path-pattern cs-headers cs-header-names cs-headers-count'
).split(' ');

describe('EDGE_LOG_FIELDS', () => {
  it('are real-time log fields, in the order CloudFront writes them, so a record splits by position', () => {
    const positions = EDGE_LOG_FIELDS.map((field) => AWS_FIELD_ORDER.indexOf(field));
    expect(positions).not.toContain(-1);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  });

  it('ask for what a click needs and nothing that would only add personal data', () => {
    expect(new Set(EDGE_LOG_FIELDS).size).toBe(EDGE_LOG_FIELDS.length);
    expect(EDGE_LOG_FIELDS).toHaveLength(9);
    for (const unwanted of ['cs-cookie', 'cs-headers', 'x-forwarded-for', 'cs-uri-query', 'c-country']) expect(EDGE_LOG_FIELDS).not.toContain(unwanted);
  });
});

describe('parseEdgeLogRecord', () => {
  it('reads a redirect the edge function answered, decoding the User-Agent and reducing the referrer to its host', () => {
    expect(clickOf(parseEdgeLogRecord(`${edgeLogLine()}\n`))).toEqual({
      requestId: EDGE_REDIRECT_FIELDS['x-edge-request-id'],
      eventId: edgeEventId(EDGE_REDIRECT_FIELDS['x-edge-request-id']),
      code: 'abc123',
      at: new Date('2025-11-26T05:40:07.123Z'),
      ip: '203.0.113.45',
      userAgent: USER_AGENTS.firefoxLinux,
      referrerHost: 'news.ycombinator.com',
      method: 'GET',
      purpose: null,
    });
  });

  it('reads a percent-encoded referrer, a HEAD, a query string after the code, an IPv6 client and a CRLF ending', () => {
    const click = clickOf(
      parseEdgeLogRecord(
        `${edgeLogLine({
          'cs-referer': 'https%3A%2F%2Fwww.Example.org%2Fpath%3Fq%3D1',
          'cs-method': 'HEAD',
          'cs-uri-stem': '/Xy_9-z?utm_source=mail',
          'c-ip': '2001:db8:85a3::8a2e:370:7334',
        })}\r\n`,
      ),
    );
    expect(click).toMatchObject({ referrerHost: 'www.example.org', method: 'HEAD', code: 'Xy_9-z', ip: '2001:db8:85a3::8a2e:370:7334' });
  });

  it("reads '-' as an empty User-Agent and no referrer", () => {
    expect(clickOf(parseEdgeLogRecord(edgeLogLine({ 'cs-user-agent': '-', 'cs-referer': '-' })))).toMatchObject({ userAgent: '', referrerHost: null });
  });

  it('reads timestamps in whole seconds and with fewer than three decimals exactly', () => {
    expect(clickOf(parseEdgeLogRecord(edgeLogLine({ timestamp: '1764135607' }))).at.toISOString()).toBe('2025-11-26T05:40:07.000Z');
    expect(clickOf(parseEdgeLogRecord(edgeLogLine({ timestamp: '1764135607.5' }))).at.toISOString()).toBe('2025-11-26T05:40:07.500Z');
    expect(clickOf(parseEdgeLogRecord(edgeLogLine({ timestamp: '1764135607.999' }))).at.toISOString()).toBe('2025-11-26T05:40:07.999Z');
  });

  it.each([
    ['a response from the origin (cache miss)', { 'x-edge-detailed-result-type': 'Miss' }, 'not-answered-at-edge'],
    ['a cached response', { 'x-edge-detailed-result-type': 'Hit' }, 'not-answered-at-edge'],
    ['an origin error', { 'x-edge-detailed-result-type': 'OriginConnectError', 'sc-status': '502' }, 'not-answered-at-edge'],
    ['an HTTP-to-HTTPS redirect', { 'x-edge-detailed-result-type': 'Redirect', 'sc-status': '301' }, 'not-answered-at-edge'],
    ['a result type in another case', { 'x-edge-detailed-result-type': 'functiongeneratedresponse' }, 'not-answered-at-edge'],
    ['a function response that is not the redirect', { 'sc-status': '503' }, 'not-a-redirect'],
    ['a function redirect the viewer hung up on', { 'sc-status': '000' }, 'not-a-redirect'],
    ['a POST', { 'cs-method': 'POST' }, 'not-a-redirect'],
    ['a reserved path', { 'cs-uri-stem': '/api' }, 'not-a-short-link'],
    ['a nested path', { 'cs-uri-stem': '/abc/def' }, 'not-a-short-link'],
    ['a percent-encoded code', { 'cs-uri-stem': '/abc%31' }, 'not-a-short-link'],
    ['the root', { 'cs-uri-stem': '/' }, 'not-a-short-link'],
    ['a timestamp that is not epoch seconds', { timestamp: '2025-11-26T05:40:07Z' }, 'malformed-timestamp'],
    ['a timestamp past year 9999', { timestamp: '999999999999.000' }, 'malformed-timestamp'],
    ['a negative timestamp', { timestamp: '-1.000' }, 'malformed-timestamp'],
    ['a client address that is not one', { 'c-ip': '-' }, 'malformed-client-ip'],
    ['a host name as client address', { 'c-ip': 'example.com' }, 'malformed-client-ip'],
    ['no request id', { 'x-edge-request-id': '-' }, 'malformed-request-id'],
    ['a request id with spaces', { 'x-edge-request-id': 'a b' }, 'malformed-request-id'],
    ['a request id too long', { 'x-edge-request-id': 'a'.repeat(129) }, 'malformed-request-id'],
  ] as const)('skips %s', (_name, changes, reason) => {
    expect(parseEdgeLogRecord(edgeLogLine(changes))).toEqual({ skip: reason });
  });

  it('skips records that do not have one value per requested field, or hold more than one line', () => {
    const line = edgeLogLine();
    expect(parseEdgeLogRecord('')).toEqual({ skip: 'malformed-record' });
    expect(parseEdgeLogRecord(`${line}\textra`)).toEqual({ skip: 'malformed-record' });
    expect(parseEdgeLogRecord(line.split('\t').slice(1).join('\t'))).toEqual({ skip: 'malformed-record' });
    expect(parseEdgeLogRecord(`${line}\n${line}`)).toEqual({ skip: 'malformed-record' });
    expect(parseEdgeLogRecord(`${line}\n\n`)).toEqual({ skip: 'malformed-record' });
  });

  it('skips a record over the size bound without reading it', () => {
    expect(parseEdgeLogRecord(edgeLogLine({ 'cs-user-agent': 'a'.repeat(20_000) }))).toEqual({ skip: 'malformed-record' });
  });

  it('bounds the User-Agent as the origin does and drops a referrer host too long to be one', () => {
    const click = clickOf(parseEdgeLogRecord(edgeLogLine({ 'cs-user-agent': '%41'.repeat(2_000), 'cs-referer': `https://${'a'.repeat(300)}.com/` })));
    expect(click.userAgent).toBe('A'.repeat(MAX_USER_AGENT_LENGTH));
    expect(click.referrerHost).toBeNull();
  });

  it('keeps a referrer that is not an http(s) URL out', () => {
    expect(clickOf(parseEdgeLogRecord(edgeLogLine({ 'cs-referer': 'javascript%3Aalert(1)' }))).referrerHost).toBeNull();
  });

  it('never throws and keeps every field within its bound, whatever the line', () => {
    const fieldValue = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('-', '%', '%E0%A4%A', '%FF%FE', '%00', '%0A'));
    const lines = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 400 }),
      fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes).toString('utf8')),
      // Well-formed edge redirects whose client-controlled fields are hostile.
      fc.record({ ua: fieldValue, referer: fieldValue, stem: fieldValue }).map(({ ua, referer, stem }) =>
        edgeLogLine({ 'cs-user-agent': ua.replace(/[\t\r\n]/g, ''), 'cs-referer': referer.replace(/[\t\r\n]/g, ''), 'cs-uri-stem': `/abc123?${stem.replace(/[\t\r\n]/g, '')}` }),
      ),
    );
    fc.assert(
      fc.property(lines, (line) => {
        const record = parseEdgeLogRecord(line);
        if ('skip' in record) return;
        const { click } = record;
        expect(click.userAgent.length).toBeLessThanOrEqual(MAX_USER_AGENT_LENGTH);
        expect(click.referrerHost === null || click.referrerHost.length <= MAX_REFERRER_HOST_LENGTH).toBe(true);
        expect(click.referrerHost ?? '').not.toMatch(/[\s/?#@\\]/);
        expect(click.eventId).toMatch(UUID);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('formatEdgeLogRecord', () => {
  it('writes the fields in EDGE_LOG_FIELDS order, tab-separated, with the User-Agent and Referer URL-encoded', () => {
    const line = formatEdgeLogRecord({
      ...EDGE_REDIRECT_FIELDS,
      'cs-user-agent': 'Mozilla/5.0 (X11; Linux x86_64)\tü',
      'cs-referer': '',
    });
    expect(line.split('\t')).toEqual([
      ...EDGE_LOG_FIELDS.slice(0, 6).map((name) => EDGE_REDIRECT_FIELDS[name]),
      'Mozilla/5.0%20(X11;%20Linux%20x86_64)%09%C3%BC',
      '-',
      FUNCTION_GENERATED_RESPONSE,
    ]);
  });

  it('refuses a value that would split the record', () => {
    expect(() => formatEdgeLogRecord({ ...EDGE_REDIRECT_FIELDS, 'cs-uri-stem': '/a\nb' })).toThrow(/cs-uri-stem/);
  });

  it('is read back by parseEdgeLogRecord as the click it records', () => {
    const code = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/).filter((candidate) => !/^(api|dashboard|_local)$/i.test(candidate));
    // Well-formed text, as HTTP headers give it (the UTF-8 round trip replaces lone surrogates).
    const clientControlled = fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }).map((text) => Buffer.from(text, 'utf8').toString('utf8')), fc.constantFrom('', '-', '%', '%41'));
    fc.assert(
      fc.property(
        fc.record({
          ms: fc.integer({ min: 0, max: 4_102_444_800_000 }),
          ip: fc.oneof(fc.ipV4(), fc.ipV6()),
          method: fc.constantFrom('GET', 'HEAD'),
          code,
          query: fc.option(fc.webQueryParameters(), { nil: undefined }),
          requestId: fc.base64String({ minLength: 4, maxLength: 128 }).filter((id) => id.length > 0),
          userAgent: clientControlled,
          referer: fc.oneof(fc.webUrl(), clientControlled),
        }),
        ({ ms, ip, method, code: shortCode, query, requestId, userAgent, referer }) => {
          const line = formatEdgeLogRecord({
            timestamp: (ms / 1000).toFixed(3),
            'c-ip': ip,
            'sc-status': '302',
            'cs-method': method,
            'cs-uri-stem': query === undefined ? `/${shortCode}` : `/${shortCode}?${query}`,
            'x-edge-request-id': requestId,
            'cs-user-agent': userAgent,
            'cs-referer': referer,
            'x-edge-detailed-result-type': FUNCTION_GENERATED_RESPONSE,
          });
          expect(parseEdgeLogRecord(line)).toEqual({
            click: {
              requestId,
              eventId: edgeEventId(requestId),
              code: shortCode,
              at: new Date(ms),
              ip,
              userAgent: userAgent.slice(0, MAX_USER_AGENT_LENGTH),
              referrerHost: referer === '' ? null : referrerHost(referer),
              method,
              purpose: null,
            },
          });
        },
      ),
      { numRuns: 1_000 },
    );
  });
});

describe('edgeEventId', () => {
  it('is a stable version 5 UUID of the request id, distinct per request id', () => {
    const id = edgeEventId('wj_DjzBPnoeRdlTPkcrS8ZB1DLDqc7W5ngJheEq4ZrEzbWwapzd1DA==');
    expect(id).toMatch(UUID);
    expect(edgeEventId('wj_DjzBPnoeRdlTPkcrS8ZB1DLDqc7W5ngJheEq4ZrEzbWwapzd1DA==')).toBe(id);
    expect(edgeEventId('wj_DjzBPnoeRdlTPkcrS8ZB1DLDqc7W5ngJheEq4ZrEzbWwapzd1DB==')).not.toBe(id);
  });

  it('follows RFC 9562 name-based hashing', () => {
    // RFC 9562 Appendix A.4: UUIDv5 of "www.example.com" in the DNS namespace.
    expect(nameBasedUuid('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });
});

describe('percentDecode', () => {
  it('decodes UTF-8 percent-escapes and leaves broken ones as text', () => {
    expect(percentDecode('caf%C3%A9%20%E2%9C%93')).toBe('café ✓');
    expect(percentDecode('100%')).toBe('100%');
    expect(percentDecode('%zz%4')).toBe('%zz%4');
    expect(percentDecode('%FF')).toBe('\uFFFD');
    expect(percentDecode('a+b')).toBe('a+b');
    expect(percentDecode('ü%20x')).toBe('ü x');
  });
});
