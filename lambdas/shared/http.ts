/** Results for API Gateway HTTP API (payload 2.0) handlers, and the bearer token of a request. */
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
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'payload_too_large'
  | 'too_many_requests'
  | 'internal_error'
  | 'service_unavailable';

export function problem(statusCode: number, code: ProblemCode, message: string, headers: Headers = {}): HttpResult {
  return json(statusCode, { error: { code, message } }, { 'cache-control': 'no-store', ...headers });
}

/** A response to HEAD carries the status and headers a GET would, without the body (RFC 9110 §9.3.2). */
export function withoutBodyFor(method: string, result: APIGatewayProxyStructuredResultV2): APIGatewayProxyStructuredResultV2 {
  if (method !== 'HEAD') return result;
  const { body: _body, ...rest } = result;
  return rest;
}

/** The token of an `Authorization: Bearer <token>` header, or null for any other header or none. */
export function bearerToken(authorization: string | undefined): string | null {
  return /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1] ?? null;
}
