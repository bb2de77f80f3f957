/**
 * Requests to the API handler in-process, as API Gateway's `ANY /api/{proxy+}` route delivers them.
 * Every answer, errors included, is checked against the OpenAPI document before the test sees it.
 */
import { handler as api } from '../../../lambdas/handlers/api';
import { httpApiEvent } from '../../fixtures/local/emulators';
import { expectDocumentedResponse, type ObservedResponse } from '../../fixtures/openapi';

export interface ApiAnswer extends ObservedResponse {
  /** Header names in lower case, as the handler writes them. */
  readonly headers: Readonly<Record<string, string>>;
  /** '' when there is none. */
  readonly body: string;
}

/** `body`: a string is sent as it is, anything else as JSON. `key` null sends no Authorization header. */
export async function requestApi(
  method: string,
  path: string,
  key: string | null,
  options: { readonly body?: unknown; readonly query?: Record<string, string> } = {},
): Promise<ApiAnswer> {
  const event = {
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
  const answer: ApiAnswer = {
    method,
    path,
    status: result.statusCode ?? 0,
    headers: Object.fromEntries(Object.entries(result.headers ?? {}).map(([name, value]) => [name, String(value)])),
    body: String(result.body ?? ''),
  };
  expectDocumentedResponse(answer);
  return answer;
}
