/**
 * The HTTP API as the page calls it, on its own origin, with a bearer token: an owner's key, or a
 * share token that may only read its one link. Every failure is an ApiError the page can explain.
 */

/** @typedef {import('./api-types').StatsResponse} StatsResponse */
/** @typedef {import('./api-types').LinkView} LinkView */
/** @typedef {{ links: LinkView[], next: string | null }} LinksPage */
/** @typedef {import('./api-types').ShareView} ShareView */
/** @typedef {import('./api-types').CreatedShare} CreatedShare */

export class ApiError extends Error {
  /**
   * @param {number} status  HTTP status; 0 when the API could not be reached.
   * @param {string} code  The API's error code (`not_found`, `too_many_requests`, ...).
   * @param {string} message  The API's sentence, for people.
   * @param {number | null} retryAfterSeconds  From Retry-After, on a 429.
   */
  constructor(status, code, message, retryAfterSeconds) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** @param {unknown} value @returns {value is Record<string, unknown>} */
const isObject = (value) => typeof value === 'object' && value !== null;

/** The API's `{ error: { code, message } }`, or API Gateway's own `{ message }` (its throttle's 429). @param {Response} response @param {unknown} body */
function errorOf(response, body) {
  const detail = isObject(body) && isObject(body.error) ? body.error : isObject(body) ? body : {};
  const retryAfter = Number(response.headers.get('retry-after'));
  return new ApiError(
    response.status,
    typeof detail.code === 'string' ? detail.code : 'http_error',
    typeof detail.message === 'string' ? detail.message : `The API answered ${response.status}.`,
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null,
  );
}

/** @param {string} code */
const linkPath = (code) => `/api/links/${encodeURIComponent(code)}`;

/** @param {string} token */
export function apiClient(token) {
  /**
   * @param {string} path @param {AbortSignal} signal @param {{ method?: string, body?: unknown }} [request]
   * @returns {Promise<unknown>} The parsed body; undefined for a 204.
   */
  async function call(path, signal, request = {}) {
    /** @type {Response} */
    let response;
    try {
      response = await fetch(path, {
        method: request.method ?? 'GET',
        signal,
        headers: { authorization: `Bearer ${token}`, ...(request.body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
      });
    } catch (error) {
      if (signal.aborted) throw error;
      throw new ApiError(0, 'unreachable', 'The API could not be reached: check the connection, then try again.', null);
    }
    if (response.status === 204) return undefined;
    /** @type {unknown} */
    const body = await response.json().catch(() => null);
    if (!response.ok) throw errorOf(response, body);
    return body;
  }

  return {
    /** @param {string | null} cursor @param {AbortSignal} signal */
    links: async (cursor, signal) =>
      /** @type {LinksPage} */ (await call(`/api/links?${new URLSearchParams(cursor === null ? {} : { cursor })}`, signal)),
    /** @param {string} code @param {AbortSignal} signal */
    link: async (code, signal) => /** @type {LinkView} */ (await call(linkPath(code), signal)),
    /** A link's statistics, or with `code` null the owner's over all their links. @param {string | null} code @param {URLSearchParams} query @param {AbortSignal} signal */
    stats: async (code, query, signal) =>
      /** @type {StatsResponse} */ (await call(`${code === null ? '/api' : linkPath(code)}/stats?${query}`, signal)),
    /** @param {string} code @param {AbortSignal} signal */
    shares: async (code, signal) => /** @type {{ shares: ShareView[] }} */ (await call(`${linkPath(code)}/shares`, signal)).shares,
    /** @param {string} code @param {string} label @param {AbortSignal} signal */
    createShare: async (code, label, signal) =>
      /** @type {CreatedShare} */ (await call(`${linkPath(code)}/shares`, signal, { method: 'POST', body: label === '' ? {} : { label } })),
    /** @param {string} code @param {string} id @param {AbortSignal} signal */
    revokeShare: async (code, id, signal) => {
      await call(`${linkPath(code)}/shares/${encodeURIComponent(id)}`, signal, { method: 'DELETE' });
    },
  };
}

/** @typedef {ReturnType<typeof apiClient>} Api */
