/**
 * The edge in front of the local HTTP front (redirectMode=edge): what CloudFront does on the distribution's
 * default behavior. Each request runs through the viewer-request CloudFront Function (in the sandbox, with
 * the local KeyValueStore); a response it generates is answered here, a request it returns goes on to the
 * origin routes with the headers the function set. With a real-time log config on the behavior, each
 * request also becomes one record in the click stream, as CloudFront would send it (docs/edge.md).
 */
import { randomBytes } from 'node:crypto';
import { EDGE_LOG_FIELDS, formatEdgeLogRecord, FUNCTION_GENERATED_RESPONSE, type EdgeLogValues } from '../../lambdas/domain/edge-log';
import { formatStandardLogLine } from '../../lambdas/domain/standard-log';
import { OWN_PATH_SEGMENTS } from '../../lambdas/domain/short-code';
import { getOrCreate } from '../../lambdas/shared/get-or-create';
import { jsonMessage, type FrontRequest, type FrontResponse, type ViewerStage } from '../http-front';
import { referencedLogicalId, resourcesOfType } from '../template';
import { asRecord, type CfnTemplate, type Stoppable } from '../types';
import {
  CloudFrontFunctionSandbox,
  type CloudFrontRequest,
  type CloudFrontResponse,
  type CloudFrontValue,
  type CloudFrontValues,
  type CloudFrontViewerRequestEvent,
} from './cloudfront-function-sandbox';
import type { KeyValueReader } from './key-value-store';

/**
 * `x-edge-detailed-result-type` of a request the origin answered: the default behavior's cache policy
 * caches nothing, so every such request is a miss.
 */
export const ORIGIN_RESULT_TYPE = 'Miss';
/** Of a request the function failed on, which CloudFront answers with a 503. */
export const FUNCTION_ERROR_RESULT_TYPE = 'FunctionExecutionError';
/** 42 random bytes make 56 base64url characters, the length of CloudFront's own request ids. */
const REQUEST_ID_BYTES = 42;

/** What the template puts on the distribution's default behavior in edge mode. */
export interface EdgeBehavior {
  /** Logical ID and code of the viewer-request CloudFront Function. */
  readonly functionId: string;
  readonly functionCode: string;
  /** Logical ID of the AWS::CloudFront::KeyValueStore associated with the function. */
  readonly keyValueStoreId: string;
  /** Logical ID of the Kinesis stream of the behavior's real-time log config, when it has one. */
  readonly realtimeLogStreamId?: string;
}

/**
 * The default behavior's viewer-request function when it is associated with a KeyValueStore (edge mode);
 * undefined otherwise, so origin mode's front stays as it is. Throws on what is not emulated: more than
 * one distribution, a real-time log config with other fields than the click consumer parses, or one that
 * writes anywhere but a Kinesis stream of the stack.
 */
export function edgeBehaviorFromTemplate(template: CfnTemplate): EdgeBehavior | undefined {
  const distributions = resourcesOfType(template, 'AWS::CloudFront::Distribution');
  if (distributions.length > 1) throw new Error('Only one CloudFront distribution is emulated locally');
  const behavior = asRecord(asRecord(asRecord(distributions[0]?.resource.Properties).DistributionConfig).DefaultCacheBehavior);
  const associations = Array.isArray(behavior.FunctionAssociations) ? behavior.FunctionAssociations : [];
  const viewerRequest = associations.map(asRecord).find((association) => association.EventType === 'viewer-request');
  const functionId = referencedLogicalId(viewerRequest?.FunctionARN);
  const cloudFrontFunction = functionId === undefined ? undefined : template.Resources[functionId];
  if (functionId === undefined || cloudFrontFunction?.Type !== 'AWS::CloudFront::Function') return undefined;
  const properties = asRecord(cloudFrontFunction.Properties);
  const storeAssociations = asRecord(properties.FunctionConfig).KeyValueStoreAssociations;
  const keyValueStoreId = referencedLogicalId(asRecord(Array.isArray(storeAssociations) ? storeAssociations[0] : undefined).KeyValueStoreARN);
  if (keyValueStoreId === undefined || typeof properties.FunctionCode !== 'string') return undefined;

  const logConfigId = referencedLogicalId(behavior.RealtimeLogConfigArn);
  if (logConfigId === undefined) return { functionId, functionCode: properties.FunctionCode, keyValueStoreId };
  const logConfig = asRecord(template.Resources[logConfigId]?.Properties);
  const fields = Array.isArray(logConfig.Fields) ? logConfig.Fields : [];
  // CloudFront writes the fields in its own fixed order whatever the config's: compare them as sets.
  if (fields.length !== EDGE_LOG_FIELDS.length || !EDGE_LOG_FIELDS.every((field) => fields.includes(field))) {
    throw new Error(`Real-time log config ${logConfigId}: only the fields ${EDGE_LOG_FIELDS.join(', ')} are emulated locally`);
  }
  const endPoints = Array.isArray(logConfig.EndPoints) ? logConfig.EndPoints : [];
  const realtimeLogStreamId = referencedLogicalId(asRecord(asRecord(endPoints[0]).KinesisStreamConfig).StreamArn);
  if (endPoints.length !== 1 || realtimeLogStreamId === undefined || template.Resources[realtimeLogStreamId]?.Type !== 'AWS::Kinesis::Stream') {
    throw new Error(`Real-time log config ${logConfigId}: only one Kinesis stream of the stack is emulated as its end point`);
  }
  return { functionId, functionCode: properties.FunctionCode, keyValueStoreId, realtimeLogStreamId };
}

export interface EdgeFrontOptions {
  readonly behavior: EdgeBehavior;
  readonly keyValueStore: KeyValueReader;
  /** Sends one real-time log record to the behavior's stream (PutRecord); absent without a log config. */
  readonly putLogRecord?: (record: string, partitionKey: string) => Promise<void>;
  /** Keeps one request's standard-log line for the log delivery; absent without one. */
  readonly keepStandardLogLine?: (line: string, at: Date) => void;
  /** True for a real-time record a fault loses (CloudFront's real-time logs are best effort); none lost when absent. */
  readonly loseRealtimeRecord?: (requestId: string) => boolean;
  readonly log: (line: string) => void;
}

export interface EdgeFront extends ViewerStage, Stoppable {}

/** The paths the front serves itself or routes to the API; every other one is a short link's, on the default behavior. */
const NOT_SHORT_LINK_PATH = new RegExp(`^/(?:${OWN_PATH_SEGMENTS.api}|${OWN_PATH_SEGMENTS.dashboard}|${OWN_PATH_SEGMENTS.localControl})(?:/|$)`);

/** CloudFront's `{ value, multiValue }` form of a name's values, in the order they came. */
function cloudFrontValue(values: readonly string[]): CloudFrontValue {
  return values.length === 1 ? { value: values[0] } : { value: values[0], multiValue: values.map((value) => ({ value })) };
}

function valuesOf(entry: CloudFrontValue): readonly string[] {
  return entry.multiValue === undefined ? [entry.value] : entry.multiValue.map(({ value }) => value);
}

function grouped(pairs: Iterable<readonly [string, string]>): CloudFrontValues {
  const values = new Map<string, string[]>();
  for (const [name, value] of pairs) getOrCreate(values, name, () => []).push(value);
  return Object.fromEntries([...values].map(([name, list]) => [name, cloudFrontValue(list)]));
}

/** The event CloudFront gives the function: lower-case headers, cookies out of them, the query string still encoded. */
function viewerRequestEvent(request: FrontRequest, requestId: string): CloudFrontViewerRequestEvent {
  const [uri, query = ''] = request.url.split(/\?(.*)/s, 2);
  const headers: [string, string][] = [];
  const cookies: [string, string][] = [];
  for (let index = 0; index < request.rawHeaders.length; index += 2) {
    const name = request.rawHeaders[index].toLowerCase();
    const value = request.rawHeaders[index + 1];
    if (name !== 'cookie') headers.push([name, value]);
    else
      for (const cookie of value.split(';').map((part) => part.trim()).filter(Boolean)) {
        const equals = cookie.indexOf('=');
        cookies.push(equals < 0 ? [cookie, ''] : [cookie.slice(0, equals), cookie.slice(equals + 1)]);
      }
  }
  const parameters = query
    .split('&')
    .filter(Boolean)
    .map((pair): [string, string] => {
      const equals = pair.indexOf('=');
      return equals < 0 ? [pair, ''] : [pair.slice(0, equals), pair.slice(equals + 1)];
    });
  return {
    version: '1.0',
    context: { eventType: 'viewer-request', requestId },
    viewer: { ip: request.sourceIp },
    request: { method: request.method, uri, querystring: grouped(parameters), headers: grouped(headers), cookies: grouped(cookies) },
  };
}

/**
 * The request the origin gets: the function's path and headers (its cookies back in one Cookie header).
 * The viewer's query string goes on as sent: the redirect function never changes it.
 */
function originRequest(viewer: FrontRequest, returned: CloudFrontRequest): FrontRequest {
  const queryStart = viewer.url.indexOf('?');
  const rawHeaders = Object.entries(returned.headers).flatMap(([name, entry]) => valuesOf(entry).flatMap((value) => [name, value]));
  const cookies = Object.entries(returned.cookies).flatMap(([name, entry]) => valuesOf(entry).map((value) => `${name}=${value}`));
  if (cookies.length > 0) rawHeaders.push('cookie', cookies.join('; '));
  return { ...viewer, url: queryStart < 0 ? returned.uri : `${returned.uri}${viewer.url.slice(queryStart)}`, rawHeaders };
}

function functionResponse(response: CloudFrontResponse): FrontResponse {
  const headers = Object.entries(response.headers ?? {}).flatMap(([name, entry]) => valuesOf(entry).map((value): [string, string] => [name, value]));
  for (const [name, cookie] of Object.entries(response.cookies ?? {})) {
    headers.push(['set-cookie', `${name}=${cookie.value}${cookie.attributes === undefined ? '' : `; ${cookie.attributes}`}`]);
  }
  const { body } = response;
  const content = body === undefined ? Buffer.alloc(0) : typeof body === 'string' ? Buffer.from(body) : Buffer.from(body.data, body.encoding === 'base64' ? 'base64' : 'utf8');
  return { statusCode: response.statusCode, headers, body: content };
}

function headerValue(rawHeaders: readonly string[], name: string): string {
  for (let index = 0; index < rawHeaders.length; index += 2) if (rawHeaders[index].toLowerCase() === name) return rawHeaders[index + 1];
  return '';
}

export function createEdgeFront(options: EdgeFrontOptions): EdgeFront {
  const sandbox = new CloudFrontFunctionSandbox(options.behavior.functionCode, {
    keyValueStore: options.keyValueStore,
    filename: options.behavior.functionId,
  });
  /** Records on their way to the stream: CloudFront sends them after the answer, and a stop waits for them. */
  const pending = new Set<Promise<void>>();

  const writeRecord = (request: FrontRequest, requestId: string, statusCode: number, resultType: string): void => {
    const values: EdgeLogValues = {
      timestamp: (request.receivedAt.getTime() / 1000).toFixed(3),
      'c-ip': request.sourceIp,
      'sc-status': String(statusCode),
      'cs-method': request.method,
      'cs-uri-stem': request.url,
      'x-edge-request-id': requestId,
      'cs-user-agent': headerValue(request.rawHeaders, 'user-agent'),
      'cs-referer': headerValue(request.rawHeaders, 'referer'),
      'x-edge-detailed-result-type': resultType,
    };
    // The standard log has every request, including those whose real-time record is lost.
    options.keepStandardLogLine?.(formatStandardLogLine(values), request.receivedAt);
    if (options.putLogRecord === undefined || options.loseRealtimeRecord?.(requestId) === true) return;
    const put = options
      .putLogRecord(formatEdgeLogRecord(values), requestId)
      // The record holds the viewer's address: the message names the request alone.
      .catch((error: unknown) => options.log(`Real-time log record of request ${requestId} not sent: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => pending.delete(put));
    pending.add(put);
  };

  return {
    handles: (rawPath) => !NOT_SHORT_LINK_PATH.test(rawPath),
    async serve(request, origin) {
      const requestId = randomBytes(REQUEST_ID_BYTES).toString('base64url');
      const outcome = await sandbox.run(viewerRequestEvent(request, requestId));
      if (outcome.kind === 'error') {
        options.log(`CloudFront Function ${options.behavior.functionId} failed for request ${requestId}: ${outcome.error}`);
        writeRecord(request, requestId, outcome.statusCode, FUNCTION_ERROR_RESULT_TYPE);
        return jsonMessage(outcome.statusCode, 'Service Unavailable');
      }
      if (outcome.kind === 'response') {
        const response = functionResponse(outcome.response);
        writeRecord(request, requestId, response.statusCode, FUNCTION_GENERATED_RESPONSE);
        return response;
      }
      const response = await origin(originRequest(request, outcome.request));
      writeRecord(request, requestId, response.statusCode, ORIGIN_RESULT_TYPE);
      return response;
    },
    stop: async () => {
      await Promise.all([...pending]);
    },
  };
}
