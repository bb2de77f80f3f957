/**
 * The local stand-in for the HTTP API: routes from the template's
 * AWS::ApiGatewayV2::Route resources, payload format 2.0 events, API Gateway's answers
 * for what never reaches a function (no route, bad escape, oversized body, failure), and an
 * HTTP answer, never a dropped connection, to what HTTP itself rejects (a bad Host, a method
 * nothing routes, CONNECT, a request Node cannot parse). It also serves the dashboard page's
 * files (local/dashboard.ts), as the distribution's dashboard behaviors do on AWS.
 */
import { randomBytes } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
  validateHeaderName,
  validateHeaderValue,
} from 'node:http';
import { type AddressInfo, isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { CONTROL_PATH_PREFIX, type ControlHandler } from './control';
import { isDashboardPath, serveDashboard } from './dashboard';
import { LOCAL_ACCOUNT_ID } from '../lambdas/contract';
import { referencedLogicalId, resourcesOfType } from './template';
import { TokenBucket, type ThrottleLimits } from './throttle';
import { asRecord, isRecord, type CfnTemplate, type LocalFunction, type Stoppable } from './types';

/** API Gateway's payload quota for HTTP APIs. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;
const LOCAL_API_ID = 'local';

type SegmentKind = 'literal' | 'param' | 'greedy';

interface RouteSegment {
  readonly kind: SegmentKind;
  /** Literal text, or the parameter's name. */
  readonly value: string;
}

export interface HttpRoute {
  readonly routeKey: string;
  /** Upper case, or `ANY`. */
  readonly method: string;
  readonly segments: readonly RouteSegment[];
  readonly fn: LocalFunction;
  /** The stage's throttle for this route (its own route settings, else the stage default, shared); none when unset. */
  readonly throttle?: TokenBucket;
}

export function parseRouteKey(routeKey: string, fn: LocalFunction, throttle?: TokenBucket): HttpRoute {
  const [method, path] = routeKey.split(' ');
  if (!method || !path?.startsWith('/')) throw new Error(`Unsupported route key "${routeKey}"`);
  const segments = path
    .split('/')
    .slice(1)
    .filter((segment) => segment !== '')
    .map((segment): RouteSegment => {
      const param = /^\{([^}+]+)(\+?)\}$/.exec(segment);
      if (!param) return { kind: 'literal', value: segment };
      return { kind: param[2] ? 'greedy' : 'param', value: param[1] };
    });
  return { routeKey, method: method.toUpperCase(), segments, fn, ...(throttle === undefined ? {} : { throttle }) };
}

function throttleLimits(settings: unknown): ThrottleLimits | undefined {
  const { ThrottlingRateLimit: rateLimit, ThrottlingBurstLimit: burstLimit } = asRecord(settings);
  return typeof rateLimit === 'number' && typeof burstLimit === 'number' ? { rateLimit, burstLimit } : undefined;
}

/**
 * One bucket per route with its own RouteSettings, and one for all the others under the stage's
 * DefaultRouteSettings: sharing it is at least as strict as AWS, which documents the default per stage.
 */
function stageThrottles(template: CfnTemplate): (routeKey: string) => TokenBucket | undefined {
  const stages = resourcesOfType(template, 'AWS::ApiGatewayV2::Stage');
  if (stages.length > 1) throw new Error('Only one HTTP API stage is emulated locally');
  const properties = asRecord(stages[0]?.resource.Properties);
  const defaultLimits = throttleLimits(properties.DefaultRouteSettings);
  const shared = defaultLimits === undefined ? undefined : new TokenBucket(defaultLimits);
  const routeSettings = asRecord(properties.RouteSettings);
  return (routeKey) => {
    const own = throttleLimits(routeSettings[routeKey]);
    return own === undefined ? shared : new TokenBucket(own);
  };
}

/** Template target `integrations/<id>`: the first Ref anywhere in the (Fn::Join'ed) target. */
function firstRef(value: unknown): string | undefined {
  const direct = referencedLogicalId(value);
  if (direct) return direct;
  if (typeof value !== 'object' || value === null) return undefined;
  for (const item of Object.values(value)) {
    const found = firstRef(item);
    if (found) return found;
  }
  return undefined;
}

export function httpRoutesFromTemplate(
  template: CfnTemplate,
  functions: ReadonlyMap<string, LocalFunction>,
): HttpRoute[] {
  const throttleOf = stageThrottles(template);
  return resourcesOfType(template, 'AWS::ApiGatewayV2::Route').map(({ logicalId, resource }) => {
    const routeKey = resource.Properties?.RouteKey;
    const integrationId = firstRef(resource.Properties?.Target);
    const integration = integrationId ? template.Resources[integrationId] : undefined;
    const functionId = referencedLogicalId(integration?.Properties?.IntegrationUri);
    const fn = functionId ? functions.get(functionId) : undefined;
    if (typeof routeKey !== 'string' || !fn) {
      throw new Error(`Route ${logicalId} does not lead to a Lambda function through a Lambda proxy integration`);
    }
    if (integration?.Properties?.PayloadFormatVersion !== '2.0') {
      throw new Error(`Route ${logicalId}: only payload format 2.0 is emulated locally`);
    }
    return parseRouteKey(routeKey, fn, throttleOf(routeKey));
  });
}

export interface RouteMatch {
  readonly route: HttpRoute;
  /** Still percent-encoded: decoding can fail and is the caller's 400. */
  readonly rawPathParameters: Readonly<Record<string, string>>;
}

const SEGMENT_RANK: Readonly<Record<SegmentKind, number>> = { literal: 2, param: 1, greedy: 0 };

function matchSegments(route: HttpRoute, pathSegments: readonly string[]): Record<string, string> | undefined {
  const parameters: Record<string, string> = {};
  for (const [index, segment] of route.segments.entries()) {
    if (segment.kind === 'greedy') {
      const rest = pathSegments.slice(index);
      if (rest.length === 0) return undefined;
      parameters[segment.value] = rest.join('/');
      return parameters;
    }
    const actual = pathSegments[index];
    if (actual === undefined || actual === '') return undefined;
    if (segment.kind === 'literal' && actual !== segment.value) return undefined;
    if (segment.kind === 'param') parameters[segment.value] = actual;
  }
  return pathSegments.length === route.segments.length ? parameters : undefined;
}

/** Positive when `a` is more specific than `b`: literal > {param} > {proxy+}, segment by segment, then a method over ANY. */
function compareSpecificity(a: HttpRoute, b: HttpRoute): number {
  const length = Math.max(a.segments.length, b.segments.length);
  for (let index = 0; index < length; index += 1) {
    const rankA = a.segments[index] ? SEGMENT_RANK[a.segments[index].kind] : -1;
    const rankB = b.segments[index] ? SEGMENT_RANK[b.segments[index].kind] : -1;
    if (rankA !== rankB) return rankA - rankB;
  }
  return Number(a.method !== 'ANY') - Number(b.method !== 'ANY');
}

/** Picks the most specific route like API Gateway HTTP APIs do. */
export function matchRoute(routes: readonly HttpRoute[], method: string, rawPath: string): RouteMatch | undefined {
  const pathSegments = rawPath.split('/').slice(1);
  if (pathSegments.at(-1) === '') pathSegments.pop();
  let best: RouteMatch | undefined;
  for (const route of routes) {
    if (route.method !== 'ANY' && route.method !== method.toUpperCase()) continue;
    const rawPathParameters = matchSegments(route, pathSegments);
    if (rawPathParameters && (!best || compareSpecificity(route, best.route) > 0)) best = { route, rawPathParameters };
  }
  return best;
}

/** A request as the front received it, before it becomes an event. */
export interface FrontRequest {
  readonly method: string;
  /** Path and query string exactly as sent. */
  readonly url: string;
  /** Alternating names and values, as node's `rawHeaders`. */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
  readonly sourceIp: string;
  readonly httpVersion: string;
  readonly receivedAt: Date;
}

export class BadRequestError extends Error {}

const TEXT_CONTENT_TYPE = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded)|[^;]*\+(json|xml))/i;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `26/Nov/2026:05:40:07 +0000`, API Gateway's requestContext.time format. */
export function apiGatewayTime(date: Date): string {
  const pad = (value: number): string => String(value).padStart(2, '0');
  return (
    `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}

function decodePathParameters(raw: Readonly<Record<string, string>>): Record<string, string> {
  const decoded: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    try {
      decoded[name] = decodeURIComponent(value);
    } catch {
      throw new BadRequestError(`Malformed percent-encoding in path parameter ${name}`);
    }
  }
  return decoded;
}

function commaJoined(pairs: Iterable<readonly [string, string]>): Record<string, string> {
  const joined: Record<string, string> = {};
  for (const [name, value] of pairs) joined[name] = name in joined ? `${joined[name]},${value}` : value;
  return joined;
}

/** The payload format 2.0 event API Gateway would send for this request. */
export function buildHttpApiEvent(match: RouteMatch, request: FrontRequest): APIGatewayProxyEventV2 {
  const queryStart = request.url.indexOf('?');
  const rawPath = queryStart < 0 ? request.url : request.url.slice(0, queryStart);
  const rawQueryString = queryStart < 0 ? '' : request.url.slice(queryStart + 1);

  const headerPairs: [string, string][] = [];
  const cookies: string[] = [];
  for (let index = 0; index < request.rawHeaders.length; index += 2) {
    const name = request.rawHeaders[index].toLowerCase();
    const value = request.rawHeaders[index + 1];
    // Payload 2.0 moves cookies out of the headers into their own list.
    if (name === 'cookie') cookies.push(...value.split(';').map((cookie) => cookie.trim()).filter(Boolean));
    else headerPairs.push([name, value]);
  }
  const headers = commaJoined(headerPairs);
  const queryPairs = [...new URLSearchParams(rawQueryString)].map(([name, value]): [string, string] => [name, value]);
  const domainName = headers.host ?? 'localhost';
  const hasBody = request.body.length > 0;
  const isBase64Encoded = hasBody && !TEXT_CONTENT_TYPE.test(headers['content-type'] ?? '');

  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: match.route.routeKey,
    rawPath,
    rawQueryString,
    headers,
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: LOCAL_API_ID,
      domainName,
      domainPrefix: domainName.split('.')[0],
      http: {
        method: request.method.toUpperCase(),
        path: rawPath,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomBytes(12).toString('base64'),
      routeKey: match.route.routeKey,
      stage: '$default',
      time: apiGatewayTime(request.receivedAt),
      timeEpoch: request.receivedAt.getTime(),
    },
    isBase64Encoded,
  };
  if (cookies.length > 0) event.cookies = cookies;
  if (queryPairs.length > 0) event.queryStringParameters = commaJoined(queryPairs);
  if (Object.keys(match.rawPathParameters).length > 0) {
    event.pathParameters = decodePathParameters(match.rawPathParameters);
  }
  if (hasBody) event.body = request.body.toString(isBase64Encoded ? 'base64' : 'utf8');
  return event;
}

export interface FrontResponse {
  readonly statusCode: number;
  /** Name/value pairs; a name may repeat (Set-Cookie). */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
}

export function jsonMessage(statusCode: number, message: string, headers: FrontResponse['headers'] = []): FrontResponse {
  return {
    statusCode,
    headers: [['content-type', 'application/json'], ...headers],
    body: Buffer.from(JSON.stringify({ message })),
  };
}

/**
 * The methods an HTTP API route can name (`ANY` stands for these): API Gateway routes no other,
 * and the CloudFront distribution in front allows exactly these.
 */
export const ROUTABLE_METHODS: readonly string[] = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'];

/** Any other method (CONNECT, TRACE, WebDAV's) can reach no function: 405 with Allow (RFC 9110 §15.5.6). */
const methodNotAllowed = (): FrontResponse => jsonMessage(405, 'Method Not Allowed', [['allow', ROUTABLE_METHODS.join(', ')]]);

/** Every value a header was sent with: `headers` keeps only the first Host or Authorization, `rawHeaders` keeps them all. */
function headerValues(rawHeaders: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let index = 0; index < rawHeaders.length; index += 2) {
    if (rawHeaders[index].toLowerCase() === name) values.push(rawHeaders[index + 1]);
  }
  return values;
}

/** RFC 9112 §3.2 `uri-host [ ":" port ]`: an IP-literal in brackets, or a non-empty reg-name (an IPv4 address is one). */
const HOST_FIELD = /^(?:\[[0-9A-Fa-f:.]+\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+)(?::[0-9]*)?$/;

/**
 * RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request with no Host, more than one, or
 * an invalid one. The front relies on it being single: it becomes the event's domainName, which
 * the API builds short URLs from. (HTTP/1.0 may leave Host out.)
 */
function hasValidHost(request: IncomingMessage): boolean {
  const hosts = headerValues(request.rawHeaders, 'host');
  if (hosts.length === 0) return request.httpVersion === '1.0';
  return hosts.length === 1 && HOST_FIELD.test(hosts[0]);
}

function isHeaderValue(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

/**
 * Maps a handler's result the way API Gateway interprets payload format 2.0 responses
 * (`multiValueHeaders` belongs to format 1.0: API Gateway ignores it in 2.0, and so does this).
 * Throws on what API Gateway answers with a 500: a bad status code, a header it cannot send.
 */
export function toFrontResponse(result: unknown): FrontResponse {
  if (typeof result === 'string') {
    // A string result is the body as it is, not JSON-encoded again.
    return { statusCode: 200, headers: [['content-type', 'application/json']], body: Buffer.from(result) };
  }
  if (!isRecord(result) || !('statusCode' in result)) {
    // No statusCode: API Gateway answers 200 with the JSON of whatever came back.
    return {
      statusCode: 200,
      headers: [['content-type', 'application/json']],
      body: Buffer.from(JSON.stringify(result ?? null)),
    };
  }
  const { statusCode, headers, cookies, body, isBase64Encoded } = result;
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
    throw new Error(`Malformed Lambda proxy response: statusCode ${String(statusCode)}`);
  }
  const pairs: [string, string][] = [];
  if (isRecord(headers)) {
    for (const [name, value] of Object.entries(headers)) if (isHeaderValue(value)) pairs.push([name, String(value)]);
  }
  if (Array.isArray(cookies)) for (const cookie of cookies) if (typeof cookie === 'string') pairs.push(['set-cookie', cookie]);
  for (const [name, value] of pairs) {
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch (error) {
      throw new Error(`Malformed Lambda proxy response: header ${JSON.stringify(name)}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const text = typeof body === 'string' ? body : '';
  return { statusCode, headers: pairs, body: Buffer.from(text, isBase64Encoded === true ? 'base64' : 'utf8') };
}

export interface HttpFrontOptions {
  readonly port: number;
  readonly trustProxy: boolean;
  readonly log: (line: string) => void;
}

/**
 * What stands in front of the routes for the paths it handles, as CloudFront's default behavior does in
 * edge mode (local/edge/edge-front.ts): it answers a request itself or passes it, changed, to `origin`.
 */
export interface ViewerStage {
  handles(rawPath: string): boolean;
  serve(request: FrontRequest, origin: (request: FrontRequest) => Promise<FrontResponse>): Promise<FrontResponse>;
}

export interface HttpFront extends Stoppable {
  readonly port: number;
  /**
   * Starts routing to functions, /_local/ paths to `control`, and the paths `viewerStage` handles through it;
   * until then every request gets a 503.
   */
  serve(routes: readonly HttpRoute[], control?: ControlHandler, viewerStage?: ViewerStage): void;
}

interface Served {
  readonly routes: readonly HttpRoute[];
  readonly control?: ControlHandler;
  readonly viewerStage?: ViewerStage;
}

/**
 * API Gateway's sourceIp is always an IP address: a first X-Forwarded-For entry that is not one
 * (garbage, `unknown`, a host name) is ignored and the socket's address is used instead.
 */
export function sourceIpOf(request: Pick<IncomingMessage, 'headers' | 'socket'>, trustProxy: boolean): string {
  const forwarded = request.headers['x-forwarded-for'];
  const firstForwarded = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
  if (trustProxy && firstForwarded && isIP(firstForwarded) !== 0) return firstForwarded.replace(/^::ffff:(?=\d+\.)/i, '');
  return (request.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
}

/** How long a connection closed after an answer keeps discarding what the client still sends. */
const LINGER_MS = 2_000;

/**
 * Closing a socket the client may still be writing to resets the connection, and the client can
 * then lose the answer before reading it. So close the way web servers linger: send FIN,
 * `discard` what still arrives, and close when the client does or after LINGER_MS.
 */
function lingeringClose(socket: Duplex, discard: () => void): void {
  socket.end();
  const close = (): void => {
    clearTimeout(timer);
    socket.destroy();
  };
  const timer = setTimeout(close, LINGER_MS);
  socket.once('end', close);
  socket.once('close', () => clearTimeout(timer));
  discard();
}

/**
 * A body left unread (a 413) cannot be skipped to reach the next request: the connection closes
 * after the answer. Node closes such a socket as soon as the answer is written (`destroySoon`),
 * with body bytes still arriving: a reset. So it lingers instead.
 */
function closeAfterAnswer(request: IncomingMessage, response: ServerResponse): void {
  response.setHeader('connection', 'close');
  const socket = request.socket;
  socket.destroySoon = (): void =>
    lingeringClose(socket, () => {
      // Flowing with no 'data' listener: the rest of the body is read and dropped, never buffered.
      request.removeAllListeners('data');
      request.resume();
    });
}

/**
 * Node stops parsing a connection at the head of a request asking to upgrade (`Upgrade` with
 * `Connection: upgrade`); with no 'upgrade' listener it serves that request as a plain one but
 * loses whatever the client pipelined behind it. So that connection closes after the answer.
 */
function asksToUpgrade(request: IncomingMessage): boolean {
  return request.headers.upgrade !== undefined && /(?:^|,)\s*upgrade\s*(?:,|$)/i.test(request.headers.connection ?? '');
}

/** For what Node gives no ServerResponse for (CONNECT, a request it cannot parse): the answer written on the socket, which then closes. */
function answerOnSocket(socket: Duplex, front: FrontResponse): void {
  const head = [
    `HTTP/1.1 ${front.statusCode} ${STATUS_CODES[front.statusCode] ?? ''}`,
    ...front.headers.map(([name, value]) => `${name}: ${value}`),
    `content-length: ${front.body.length}`,
    'connection: close',
    '',
    '',
  ].join('\r\n');
  // Node has taken its own error listener off a CONNECT socket: a client reset must not become an uncaught error.
  socket.on('error', () => socket.destroy());
  socket.write(Buffer.concat([Buffer.from(head, 'latin1'), front.body]));
  lingeringClose(socket, () => socket.resume());
}

/** The statuses Node's own 'clientError' handler answers with (400 for any other error), as the front's JSON messages. */
const CLIENT_ERROR_ANSWERS: Readonly<Record<string, readonly [number, string]>> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'Request Entity Too Large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout'],
};

function send(response: ServerResponse, front: FrontResponse, isHead: boolean): void {
  response.statusCode = front.statusCode;
  const grouped = new Map<string, string[]>();
  for (const [name, value] of front.headers) grouped.set(name.toLowerCase(), [...(grouped.get(name.toLowerCase()) ?? []), value]);
  for (const [name, values] of grouped) response.setHeader(name, name === 'set-cookie' ? values : values.join(','));
  // A function that already left HEAD's body out gives no GET length to announce, and a HEAD
  // answer must not announce a length other than GET's (RFC 9110 §8.6): none, then.
  const lengthUnknown = isHead && front.body.length === 0;
  if (!grouped.has('content-length') && !lengthUnknown) response.setHeader('content-length', front.body.length);
  response.end(isHead ? undefined : front.body);
}

/**
 * What is refused from the request head alone, before any body is read (the connection then
 * closes after the answer): a bad Host, a method nothing routes, a declared Content-Length over
 * API Gateway's limit. Node itself already refuses a repeated Content-Length, or one beside
 * Transfer-Encoding, as unparseable.
 */
function refusedFromHead(request: IncomingMessage): FrontResponse | undefined {
  if (!hasValidHost(request)) return jsonMessage(400, 'Bad Request');
  if (!ROUTABLE_METHODS.includes(request.method ?? '')) return methodNotAllowed();
  const declared = request.headers['content-length'];
  if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) return jsonMessage(413, 'Request Entity Too Large');
  return undefined;
}

/**
 * Reads the body up to the limit; undefined as soon as it passes the limit (the caller answers
 * 413 at once: the rest is never read, and the connection closes after the answer).
 */
function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) {
        chunks.push(chunk);
        return;
      }
      // Stop buffering; the stream keeps flowing with no listener, so what still arrives is discarded.
      chunks.length = 0;
      request.off('data', onData);
      resolve(undefined);
    };
    request.on('data', onData);
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

async function handle(request: IncomingMessage, served: Served | undefined, options: HttpFrontOptions): Promise<FrontResponse> {
  const receivedAt = new Date();
  const method = request.method ?? 'GET';
  const url = request.url ?? '/';
  const refused = refusedFromHead(request);
  if (refused) return refused;
  const body = await readBody(request);
  if (!body) return jsonMessage(413, 'Request Entity Too Large');
  if (!served) return jsonMessage(503, 'Service Unavailable');
  if (served.control && url.startsWith(CONTROL_PATH_PREFIX)) {
    // The front checks this key itself: two could pass here on the first and fail elsewhere on the other.
    const authorization = headerValues(request.rawHeaders, 'authorization');
    if (authorization.length > 1) return jsonMessage(400, 'Bad Request');
    return toFrontResponse(await served.control({ method, url, authorization: authorization[0] }));
  }
  const rawPath = url.split('?')[0];
  // CloudFront's dashboard behaviors on AWS: these paths never reach the HTTP API.
  if (isDashboardPath(rawPath)) return toFrontResponse(await serveDashboard(method, rawPath));
  const frontRequest: FrontRequest = {
    method,
    url,
    rawHeaders: request.rawHeaders,
    body,
    sourceIp: sourceIpOf(request, options.trustProxy),
    httpVersion: request.httpVersion,
    receivedAt,
  };
  const { viewerStage } = served;
  if (viewerStage?.handles(rawPath)) return viewerStage.serve(frontRequest, (forwarded) => originResponse(served.routes, forwarded, options));
  return originResponse(served.routes, frontRequest, options);
}

/** What the HTTP API answers: the matching route's function, or API Gateway's own answer. */
async function originResponse(routes: readonly HttpRoute[], request: FrontRequest, options: HttpFrontOptions): Promise<FrontResponse> {
  const { method } = request;
  const rawPath = request.url.split('?')[0];
  const match = matchRoute(routes, method, rawPath);
  if (!match) return jsonMessage(404, 'Not Found');
  if (match.route.throttle?.take() === false) return jsonMessage(429, 'Too Many Requests');
  let event: APIGatewayProxyEventV2;
  try {
    event = buildHttpApiEvent(match, request);
  } catch (error) {
    if (error instanceof BadRequestError) return jsonMessage(400, 'Bad Request');
    throw error;
  }
  try {
    return toFrontResponse(await match.route.fn.invoke(event));
  } catch (error) {
    options.log(`${match.route.fn.name} failed for ${method} ${event.rawPath}: ${error instanceof Error ? error.message : String(error)}`);
    return jsonMessage(500, 'Internal Server Error');
  }
}

/** Bound to 127.0.0.1 only. Port 0 picks a free port; the real one is on the result. */
export async function startHttpFront(options: HttpFrontOptions): Promise<HttpFront> {
  let served: Served | undefined;
  let stopped: Promise<void> | undefined;
  // Host is checked by refusedFromHead, so that its 400 has the front's JSON body like every other.
  const server: Server = createServer({ requireHostHeader: false }, (request, response) => {
    handle(request, served, options)
      .catch((error: unknown) => {
        // A client that hung up mid-request is nobody's error: there is no one left to answer.
        if (!request.destroyed) options.log(`HTTP front error: ${error instanceof Error ? error.message : String(error)}`);
        return jsonMessage(500, 'Internal Server Error');
      })
      .then((front) => {
        if (!request.complete || asksToUpgrade(request)) closeAfterAnswer(request, response);
        send(response, front, request.method === 'HEAD');
      })
      .catch(() => response.destroy());
  });
  // `Expect: 100-continue` on a request refused from its head: the refusal, instead of inviting the body.
  server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    const refused = refusedFromHead(request);
    if (refused) {
      closeAfterAnswer(request, response);
      send(response, refused, request.method === 'HEAD');
      return;
    }
    response.writeContinue();
    server.emit('request', request, response);
  });
  // Without a listener Node destroys the socket of a CONNECT request: API Gateway tunnels nothing, so 405.
  server.on('connect', (_request: IncomingMessage, socket: Duplex) => answerOnSocket(socket, methodNotAllowed()));
  // No 'upgrade' listener on purpose: Node then serves a request asking to upgrade (websocket, h2c)
  // as a plain one, which is what API Gateway does: an HTTP API never switches protocols
  // (WebSocket APIs are a separate kind of API), it routes the request and answers normally.
  // The connection then closes (asksToUpgrade).

  // A request Node cannot parse (an unknown method, a repeated Content-Length...): Node's own
  // statuses, with the front's JSON body. A socket already reset or answered on is only closed.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (socket.writableEnded) return;
    if (error.code === 'ECONNRESET' || !socket.writable || ('bytesWritten' in socket && socket.bytesWritten !== 0)) {
      socket.destroy();
      return;
    }
    const [status, message] = CLIENT_ERROR_ANSWERS[error.code ?? ''] ?? [400, 'Bad Request'];
    answerOnSocket(socket, jsonMessage(status, message));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    serve: (routes, control, viewerStage) => {
      served = { routes, control, viewerStage };
    },
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        // In-flight requests finish; idle keep-alive sockets close now, stragglers after a grace period.
        const forceClose = setTimeout(() => server.closeAllConnections(), 5_000);
        server.close(() => {
          clearTimeout(forceClose);
          resolve();
        });
        server.closeIdleConnections();
      })),
  };
}
