/** The api function in-process on DynamoDB Local: every table it reads, the events of its route, and calls through it. */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { handler as api } from '../../../lambdas/handlers/api';
import { type DynamoForHandlers, httpApiEvent, startDynamoForHandlers } from '../../fixtures/local/emulators';
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
export function apiEvent(method: string, path: string, key: string | null, query?: Record<string, string>, body?: string): APIGatewayProxyEventV2 {
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

export interface ApiAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Record<string, unknown> & { error?: { code: string; message: string } };
}

/** A request with the bearer key given (none when null); a string body is sent as it is, anything else as JSON. */
export async function callApi(method: string, path: string, key: string | null, options: { body?: unknown; query?: Record<string, string> } = {}): Promise<ApiAnswer> {
  const body = options.body === undefined || typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const result = await api(apiEvent(method, path, key, options.query, body));
  const text = String(result.body ?? '');
  return {
    status: result.statusCode ?? 0,
    headers: Object.fromEntries(Object.entries(result.headers ?? {}).map(([name, value]) => [name, String(value)])),
    body: text === '' ? {} : (JSON.parse(text) as ApiAnswer['body']),
  };
}
