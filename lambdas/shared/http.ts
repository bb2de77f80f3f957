/** Results for API Gateway HTTP API (payload 2.0) handlers. */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export type HttpResult = APIGatewayProxyStructuredResultV2 & { statusCode: number };
export type Headers = Readonly<Record<string, string>>;

export function json(statusCode: number, body: unknown, headers: Headers = {}): HttpResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(body),
  };
}

/** Error codes clients can switch on; the message is for people. */
export type ProblemCode =
  | 'invalid_request'
  | 'unauthorized'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'payload_too_large'
  | 'internal_error'
  | 'service_unavailable';

export function problem(statusCode: number, code: ProblemCode, message: string, headers: Headers = {}): HttpResult {
  return json(statusCode, { error: { code, message } }, { 'cache-control': 'no-store', ...headers });
}
