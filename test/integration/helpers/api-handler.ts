/** The api function in-process on DynamoDB Local: every table it reads, and the events of its route. */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { type DynamoForHandlers, httpApiEvent, startDynamoForHandlers } from '../../fixtures/local/emulators';
import { API_TABLES, createApiTables } from './api-tables';
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
