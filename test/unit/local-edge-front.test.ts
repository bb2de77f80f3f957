/**
 * The local edge in front of the HTTP front (edge mode): the template's CloudFront Function answers the
 * links its store holds, the rest reach the origin routes with the headers it set, and every request on
 * the default behavior becomes one real-time log record the click consumer's parser reads. Over real
 * sockets on 127.0.0.1, with the deployed function file and the synthesized templates.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { EDGE_LOG_FIELDS, FUNCTION_GENERATED_RESPONSE, parseEdgeLogRecord } from '../../lambdas/domain/edge-log';
import {
  createEdgeFront,
  edgeBehaviorFromTemplate,
  FUNCTION_ERROR_RESULT_TYPE,
  ORIGIN_RESULT_TYPE,
  type EdgeBehavior,
} from '../../local/edge/edge-front';
import { EdgeKeyValueStore } from '../../local/edge/key-value-store';
import { standardLogDeliveryFromTemplate } from '../../local/edge/standard-log-delivery';
import { parseStandardLogLine, STANDARD_LOG_FIELDS } from '../../lambdas/domain/standard-log';
import { parseRouteKey, startHttpFront, type HttpFront } from '../../local/http-front';
import { synthesizeTemplate } from '../../local/template';
import type { LocalFunction } from '../../local/types';

jest.setTimeout(30_000);

const DESTINATION = 'https://example.com/landing';
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/145.0';
const VIEWER_IP = '203.0.113.45';

const edgeTemplate = synthesizeTemplate({ redirectMode: 'edge' });

describe('edgeBehaviorFromTemplate', () => {
  it("reads the edge template's viewer-request function, its store and the real-time log config's stream", () => {
    const behavior = edgeBehaviorFromTemplate(edgeTemplate);
    expect(behavior).toMatchObject({
      functionId: expect.stringMatching(/^EdgeRedirectFunction/),
      keyValueStoreId: expect.stringMatching(/^RedirectKeyValueStore/),
      realtimeLogStreamId: expect.stringMatching(/^ClickStream/),
    });
    expect(behavior?.functionCode).toContain('cf.kvs()');
  });

  it('finds nothing in origin mode, whose viewer function has no store: the front stays as it is', () => {
    expect(edgeBehaviorFromTemplate(synthesizeTemplate())).toBeUndefined();
  });

  it('refuses a real-time log config with fields the click consumer does not parse', () => {
    const template = structuredClone(edgeTemplate);
    const config = Object.values(template.Resources).find((resource) => resource.Type === 'AWS::CloudFront::RealtimeLogConfig');
    if (config?.Properties === undefined) throw new Error('the edge template has no real-time log config');
    Object.assign(config.Properties, { Fields: [...EDGE_LOG_FIELDS, 'cs-cookie'] });
    expect(() => edgeBehaviorFromTemplate(template)).toThrow(/only the fields timestamp, c-ip/);
  });
});

describe('standardLogDeliveryFromTemplate', () => {
  it("reads the edge template's log bucket and the queue it notifies of new objects; nothing in origin mode", () => {
    expect(standardLogDeliveryFromTemplate(edgeTemplate)).toEqual({
      bucketId: expect.stringMatching(/^AccessLogBucket/),
      queueId: expect.stringMatching(/^AccessLogNotificationQueue/),
    });
    expect(standardLogDeliveryFromTemplate(synthesizeTemplate())).toBeUndefined();
  });

  it.each([
    ['RecordFields', [...STANDARD_LOG_FIELDS, 'cs(Cookie)'], /only the fields timestamp\(ms\), c-ip/],
    ['S3SuffixPath', '{yyyy}/{MM}', /only the suffix path/],
  ])('refuses a delivery with another %s than the backfill reads', (property, value, message) => {
    const template = structuredClone(edgeTemplate);
    const delivery = Object.values(template.Resources).find((resource) => resource.Type === 'AWS::Logs::Delivery');
    if (delivery?.Properties === undefined) throw new Error('the edge template has no log delivery');
    Object.assign(delivery.Properties, { [property]: value });
    expect(() => standardLogDeliveryFromTemplate(template)).toThrow(message);
  });

  it('refuses another output format', () => {
    const template = structuredClone(edgeTemplate);
    const destination = Object.values(template.Resources).find((resource) => resource.Type === 'AWS::Logs::DeliveryDestination');
    if (destination?.Properties === undefined) throw new Error('the edge template has no delivery destination');
    Object.assign(destination.Properties, { OutputFormat: 'w3c' });
    expect(() => standardLogDeliveryFromTemplate(template)).toThrow(/only the json output format/);
  });
});

describe('the edge front', () => {
  const behavior = edgeBehaviorFromTemplate(edgeTemplate) as EdgeBehavior;
  const store = new EdgeKeyValueStore();
  const originEvents: APIGatewayProxyEventV2[] = [];
  const records: { record: string; partitionKey: string }[] = [];
  const standardLines: { line: string; at: Date }[] = [];
  /** Request ids whose real-time record the test has the edge lose. */
  const lost = new Set<string>();
  let loseNext = false;
  const logged: string[] = [];
  const redirect: LocalFunction = {
    name: 'Redirect',
    timeoutSeconds: 3,
    invoke: async (event) => {
      originEvents.push(event as APIGatewayProxyEventV2);
      return { statusCode: 302, headers: { location: 'https://origin.example/' } };
    },
  };
  const api: LocalFunction = { name: 'Api', timeoutSeconds: 3, invoke: async () => ({ statusCode: 200, body: '{}' }) };
  const edgeFront = createEdgeFront({
    behavior,
    keyValueStore: store,
    putLogRecord: async (record, partitionKey) => {
      records.push({ record, partitionKey });
    },
    keepStandardLogLine: (line, at) => standardLines.push({ line, at }),
    loseRealtimeRecord: (requestId) => {
      if (loseNext) lost.add(requestId);
      return loseNext;
    },
    log: (line) => logged.push(line),
  });
  let front: HttpFront;
  let baseUrl: string;

  beforeAll(async () => {
    store.put('atedge', DESTINATION);
    front = await startHttpFront({ port: 0, trustProxy: true, log: (line) => logged.push(line) });
    front.serve([parseRouteKey('GET /{code}', redirect), parseRouteKey('ANY /api/{proxy+}', api)], undefined, edgeFront);
    baseUrl = `http://127.0.0.1:${front.port}`;
  });
  beforeEach(() => {
    originEvents.length = 0;
    records.length = 0;
    standardLines.length = 0;
    loseNext = false;
  });
  afterAll(async () => {
    await front.stop();
    await edgeFront.stop();
  });

  const visit = (path: string, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${baseUrl}${path}`, {
      redirect: 'manual',
      headers: { 'user-agent': USER_AGENT, 'x-forwarded-for': VIEWER_IP, referer: 'https://news.example/item?id=1', ...headers },
    });

  it('answers a link the store holds at the edge, and records it as a click the consumer counts', async () => {
    const response = await visit('/atedge?utm=x');
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(DESTINATION);
    expect(response.headers.get('cache-control')).toBe('private, no-store, max-age=0');
    expect(originEvents).toHaveLength(0);
    await edgeFront.stop();
    expect(records).toHaveLength(1);
    const [{ record, partitionKey }] = records;
    expect(record.split('\t')).toHaveLength(EDGE_LOG_FIELDS.length);
    expect(record.split('\t').at(-1)).toBe(FUNCTION_GENERATED_RESPONSE);
    expect(parseEdgeLogRecord(record)).toEqual({
      click: expect.objectContaining({
        requestId: partitionKey,
        code: 'atedge',
        ip: VIEWER_IP,
        userAgent: USER_AGENT,
        referrerHost: 'news.example',
        method: 'GET',
      }),
    });
  });

  it("keeps every request's standard-log line, read as the same click as its real-time record, even when that record is lost", async () => {
    await visit('/atedge');
    loseNext = true;
    await visit('/atedge');
    await edgeFront.stop();
    expect(records).toHaveLength(1);
    expect(lost.size).toBe(1);
    expect(standardLines).toHaveLength(2);
    const [kept, ofLost] = standardLines.map(({ line }) => parseStandardLogLine(line));
    expect(kept).toEqual(parseEdgeLogRecord(records[0].record));
    expect(ofLost).toEqual({ click: expect.objectContaining({ requestId: [...lost][0], code: 'atedge', ip: VIEWER_IP, userAgent: USER_AGENT }) });
    expect(Date.now() - standardLines[1].at.getTime()).toBeLessThan(10_000);
  });

  it('sends a link the store does not hold to the origin with the headers the function set, recorded as a miss', async () => {
    const response = await visit('/elsewhere?a=1', { 'true-client-ip': '198.51.100.7', 'x-forwarded-host': 'spoofed.example', cookie: 'a=1; b=2' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('https://origin.example/');
    expect(originEvents).toHaveLength(1);
    const [event] = originEvents;
    expect(event.rawPath).toBe('/elsewhere');
    expect(event.rawQueryString).toBe('a=1');
    expect(event.pathParameters).toEqual({ code: 'elsewhere' });
    // The viewer's own copies are dropped: the origin sees the host it was asked for and the viewer's address.
    expect(event.headers['x-forwarded-host']).toBe(`127.0.0.1:${front.port}`);
    expect(event.headers['true-client-ip']).toBe(VIEWER_IP);
    expect(event.headers['user-agent']).toBe(USER_AGENT);
    expect(event.cookies).toEqual(['a=1', 'b=2']);
    await edgeFront.stop();
    expect(records).toHaveLength(1);
    const fields = records[0].record.split('\t');
    expect(fields[EDGE_LOG_FIELDS.indexOf('sc-status')]).toBe('302');
    expect(fields.at(-1)).toBe(ORIGIN_RESULT_TYPE);
    expect(parseEdgeLogRecord(records[0].record)).toEqual({ skip: 'not-answered-at-edge' });
  });

  it('records the status sent for an origin answer that is not a redirect', async () => {
    const response = await visit('/atedge', { 'x-ignored': '1' });
    expect(response.status).toBe(302);
    await fetch(`${baseUrl}/atedge`, { method: 'POST', body: 'x' });
    await edgeFront.stop();
    expect(records.map(({ record }) => record.split('\t')[EDGE_LOG_FIELDS.indexOf('sc-status')])).toEqual(['302', '404']);
    expect(records.map(({ record }) => record.split('\t').at(-1))).toEqual([FUNCTION_GENERATED_RESPONSE, ORIGIN_RESULT_TYPE]);
  });

  it('leaves the API out of the edge: no function, no record', async () => {
    const response = await visit('/api/links');
    expect(response.status).toBe(200);
    await edgeFront.stop();
    expect(records).toHaveLength(0);
  });

  it('gives every request its own id and never prints the viewer address', async () => {
    await Promise.all([visit('/atedge'), visit('/atedge'), visit('/other')]);
    await edgeFront.stop();
    expect(new Set(records.map(({ partitionKey }) => partitionKey)).size).toBe(3);
    expect(logged.join('\n')).not.toContain(VIEWER_IP);
  });
});

describe('the edge front with a failing function', () => {
  it('answers 503 as CloudFront does, sends nothing to the origin and records the failure', async () => {
    const records: string[] = [];
    const logged: string[] = [];
    const behavior = edgeBehaviorFromTemplate(edgeTemplate) as EdgeBehavior;
    const failing = createEdgeFront({
      behavior: { ...behavior, functionCode: "function handler(event) { throw new Error('boom'); }" },
      keyValueStore: new EdgeKeyValueStore(),
      putLogRecord: async (record) => {
        records.push(record);
      },
      log: (line) => logged.push(line),
    });
    const origin: LocalFunction = { name: 'Redirect', timeoutSeconds: 3, invoke: jest.fn() };
    const front = await startHttpFront({ port: 0, trustProxy: false, log: () => undefined });
    front.serve([parseRouteKey('GET /{code}', origin)], undefined, failing);
    try {
      expect((await fetch(`http://127.0.0.1:${front.port}/abc`)).status).toBe(503);
    } finally {
      await front.stop();
      await failing.stop();
    }
    expect(origin.invoke).not.toHaveBeenCalled();
    expect(records.map((record) => record.split('\t').at(-1))).toEqual([FUNCTION_ERROR_RESULT_TYPE]);
    expect(logged.join('\n')).toMatch(/failed for request .*boom/);
  });
});
