/**
 * The api function in-process on DynamoDB Local: every table it reads, the events of its route, and calls
 * through it. Every answer a call gets, errors included, is checked against the OpenAPI document before
 * the test sees it (test/fixtures/openapi.ts).
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { handler as api } from '../../../lambdas/handlers/api';
import { type DynamoForHandlers, httpApiEvent, startDynamoForHandlers } from '../../fixtures/local/emulators';
import { expectDocumentedResponse, type ObservedResponse } from '../../fixtures/openapi';
import { API_TABLES, createApiTables, createOwnerKey } from './api-tables';
import { createStatisticsTables, STATISTICS_TABLES } from './statistics-tables';

/** DynamoDB Local with the API's own tables and the statistics levels, the handler's environment pointing at them (reporting zone UTC). */
export async function startApiOnDynamo(adminKey: string, requestsPerMinutePerKey: number): Promise<DynamoForHandlers> {
  const local = await startDynamoForHandlers({
    ...STATISTICS_TABLES,
    ...API_TABLES,
    CLICKS_API_KEY: adminKey,
    REPORTING_TIME_ZONE: 'UTC',
    API_KEY_REQUESTS_PER_MINUTE: String(requestsPerMinutePerKey),
  });
  await Promise.all([createApiTables(local.dynamo), createStatisticsTables(local.dynamo)]);
  return local;
}

/** A request to `ANY /api/{proxy+}` as API Gateway hands it over, with the key (if any) as its bearer token. */
function apiEvent(method: string, path: string, key: string | null, query?: Record<string, string>, body?: string): APIGatewayProxyEventV2 {
  return {
    ...httpApiEvent({
      method,
      path,
      routeKey: 'ANY /api/{proxy+}',
      headers: key === null ? {} : { authorization: `Bearer ${key}` },
      query,
      pathParameters: { proxy: path.replace(/^\/api\//, '') },
      sourceIp: '203.0.113.9',
    }),
    ...(body === undefined ? {} : { body }),
  };
}

/** A key for each owner named, in that order. */
export async function ownerKeys(local: DynamoForHandlers, owners: readonly string[]): Promise<string[]> {
  const keys: string[] = [];
  for (const owner of owners) keys.push((await createOwnerKey(local.dynamo, owner)).key);
  return keys;
}

export interface ApiRequestOptions {
  /** A string is sent as it is, anything else as JSON. */
  readonly body?: unknown;
  readonly query?: Record<string, string>;
}

/** An answer with its body as the handler wrote it: for CSV and NDJSON, and for tests of the document itself. */
export interface ApiTextAnswer extends ObservedResponse {
  /** Header names in lower case, as the handler writes them. */
  readonly headers: Readonly<Record<string, string>>;
  /** '' when there is none. */
  readonly body: string;
}

/** A request with the bearer key given (none when null), its answer checked against the OpenAPI document. */
export async function requestApi(method: string, path: string, key: string | null, options: ApiRequestOptions = {}): Promise<ApiTextAnswer> {
  const body = options.body === undefined || typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const result = await api(apiEvent(method, path, key, options.query, body));
  const answer: ApiTextAnswer = {
    method,
    path,
    status: result.statusCode ?? 0,
    headers: Object.fromEntries(Object.entries(result.headers ?? {}).map(([name, value]) => [name, String(value)])),
    body: String(result.body ?? ''),
  };
  expectDocumentedResponse(answer);
  return answer;
}

export interface ApiAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The JSON body parsed; {} when there is none. */
  readonly body: Record<string, unknown> & { error?: { code: string; message: string } };
}

/** requestApi, for the JSON routes: the body parsed. */
export async function callApi(method: string, path: string, key: string | null, options: ApiRequestOptions = {}): Promise<ApiAnswer> {
  const { status, headers, body } = await requestApi(method, path, key, options);
  return { status, headers, body: body === '' ? {} : (JSON.parse(body) as ApiAnswer['body']) };
}
