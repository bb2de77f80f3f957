/** The API handler called in-process with the event API Gateway's `ANY /api/{proxy+}` route would give it. */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { handler as api } from '../../../lambdas/handlers/api';
import { httpApiEvent } from '../../fixtures/local/emulators';

export interface ApiAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Record<string, unknown> & { error?: { code: string; message: string } };
}

/** A request with the bearer key given (none when null); a string body is sent as it is, anything else as JSON. */
export async function callApi(method: string, path: string, key: string | null, options: { body?: unknown; query?: Record<string, string> } = {}): Promise<ApiAnswer> {
  const event: APIGatewayProxyEventV2 = {
    ...httpApiEvent({
      method,
      path,
      routeKey: 'ANY /api/{proxy+}',
      headers: key === null ? {} : { authorization: `Bearer ${key}` },
      query: options.query,
      pathParameters: { proxy: path.replace(/^\/api\//, '') },
      sourceIp: '203.0.113.9',
    }),
    ...(options.body === undefined ? {} : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
  };
  const result = await api(event);
  const text = String(result.body ?? '');
  return {
    status: result.statusCode ?? 0,
    headers: Object.fromEntries(Object.entries(result.headers ?? {}).map(([name, value]) => [name, String(value)])),
    body: text === '' ? {} : (JSON.parse(text) as ApiAnswer['body']),
  };
}
