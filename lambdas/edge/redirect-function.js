// CloudFront viewer-request function (runtime cloudfront-js-2.0) for redirectMode=edge.
// A GET or HEAD of /<code> whose code the associated KeyValueStore holds is answered here with the 302 the
// origin redirect would send; every other request goes on to the origin, prepared as the plain viewer
// function prepares it (see VIEWER_REQUEST_CODE in lib/constructs/redirect-edge.ts). Falling through is always
// safe: the origin knows every link and records the click, so any doubt here (a missing key, a store error,
// an odd value) sends the request there. The store's key is the code, its value the destination URL
// (lambdas/domain/edge-redirect.ts writes the entries). Deployed as it is: keep it small and free of
// anything the runtime lacks (local/edge/cloudfront-function-sandbox.ts runs it under those limits).
import cf from 'cloudfront';

var links = cf.kvs();

// The short-code rule of lambdas/domain/short-code.ts, on the raw path: a percent-encoded path never
// matches, and the origin decides what it means.
var CODE_PATH = /^\/([A-Za-z0-9_-]{1,64})$/;
// The shortener's own first path segments (OWN_PATH_SEGMENTS), which no link may take.
var OWN_SEGMENT = /^(api|dashboard|_local)$/i;
// Printable ASCII only, so the value is safe as a header; the entry writer stores nothing else.
var REDIRECT_TARGET = /^https?:\/\/[\x21-\x7e]+$/i;

// The origin redirect's cache-control, so a browser treats an edge and an origin 302 alike.
var NO_STORE = 'private, no-store, max-age=0';

async function handler(event) {
  var request = event.request;
  var code = linkCode(request);
  if (code !== null) {
    var target = null;
    try {
      target = await links.get(code);
    } catch (e) {
      // A missing key rejects (so does any store error): the origin answers.
    }
    if (typeof target === 'string' && REDIRECT_TARGET.test(target)) {
      return {
        statusCode: 302,
        statusDescription: 'Found',
        headers: { location: { value: target }, 'cache-control': { value: NO_STORE } },
      };
    }
  }
  return toOrigin(event);
}

function linkCode(request) {
  if (request.method !== 'GET' && request.method !== 'HEAD') return null;
  var match = CODE_PATH.exec(request.uri);
  if (match === null || OWN_SEGMENT.test(match[1])) return null;
  return match[1];
}

// A viewer-sent x-forwarded-host is dropped, so the API never builds short URLs on a spoofed host; the
// viewer IP travels in true-client-ip, because the origin request policy forwards no CloudFront headers.
function toOrigin(event) {
  var request = event.request;
  delete request.headers['x-forwarded-host'];
  if (request.headers.host) request.headers['x-forwarded-host'] = { value: request.headers.host.value };
  delete request.headers['cloudfront-viewer-address'];
  delete request.headers['true-client-ip'];
  if (event.viewer && event.viewer.ip) request.headers['true-client-ip'] = { value: event.viewer.ip };
  return request;
}
