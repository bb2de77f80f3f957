/**
 * The dashboard's files on the local front, over real sockets on 127.0.0.1: what is served, with which
 * headers, and that no path reaches a file outside the site.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DASHBOARD_CSP, DASHBOARD_SECURITY_HEADERS } from '../../lib/dashboard-files';
import { parseRouteKey, startHttpFront, type HttpFront } from '../../local/http-front';
import type { LocalFunction } from '../../local/types';
import { bodyOf, headerOf, rawExchange, statusLine } from './helpers/raw-http';

const ROOT = path.resolve(__dirname, '../..');

interface Reply {
  readonly status: number;
  readonly header: (name: string) => string | undefined;
  readonly body: Buffer;
}

const redirected: string[] = [];
const redirect: LocalFunction = {
  name: 'Redirect',
  timeoutSeconds: 3,
  invoke: async (event) => {
    redirected.push((event as { rawPath: string }).rawPath);
    return { statusCode: 404, body: '' };
  },
};

let front: HttpFront;

/** Sent as raw HTTP, the path exactly as given (fetch would resolve `..` first). */
async function get(rawPath: string, method = 'GET'): Promise<Reply> {
  const { response } = await rawExchange(front.port, `${method} ${rawPath} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  return {
    status: Number(statusLine(response).split(' ')[1]),
    header: (name) => headerOf(response, name),
    body: Buffer.from(bodyOf(response), 'latin1'),
  };
}

beforeAll(async () => {
  front = await startHttpFront({ port: 0, trustProxy: false, log: () => undefined });
  front.serve([parseRouteKey('GET /{code}', redirect)]);
});

afterAll(() => front.stop());

describe('the dashboard on the local front', () => {
  it.each(['/dashboard', '/dashboard/', '/dashboard/?tab=links'])('answers %s with the index page and the security headers', async (rawPath) => {
    const reply = await get(rawPath);
    expect(reply.status).toBe(200);
    expect(reply.header('content-type')).toBe('text/html; charset=utf-8');
    expect(reply.body.equals(readFileSync(path.join(ROOT, 'dashboard/index.html')))).toBe(true);
    expect(reply.header('content-security-policy')).toBe(DASHBOARD_CSP);
    for (const [name, value] of Object.entries(DASHBOARD_SECURITY_HEADERS)) expect(reply.header(name)).toBe(value);
  });

  it('serves the page files with their types, and uPlot from node_modules under vendor/', async () => {
    expect((await get('/dashboard/app.js')).header('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await get('/dashboard/dashboard.css')).header('content-type')).toBe('text/css; charset=utf-8');
    const uplot = await get('/dashboard/vendor/uPlot.esm.js');
    expect([uplot.status, uplot.header('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect(uplot.body.equals(readFileSync(path.join(ROOT, 'node_modules/uplot/dist/uPlot.esm.js')))).toBe(true);
    expect((await get('/dashboard/vendor/uPlot.min.css')).header('content-type')).toBe('text/css; charset=utf-8');
  });

  it("answers HEAD with GET's headers and no body", async () => {
    const reply = await get('/dashboard/', 'HEAD');
    expect(reply.status).toBe(200);
    expect(Number(reply.header('content-length'))).toBe(readFileSync(path.join(ROOT, 'dashboard/index.html')).length);
    expect(reply.body.length).toBe(0);
  });

  it.each(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'])('refuses %s with 405 and Allow: GET, HEAD', async (method) => {
    const reply = await get('/dashboard/index.html', method);
    expect([reply.status, reply.header('allow')]).toEqual([405, 'GET, HEAD']);
  });

  it.each([
    '/dashboard/../package.json',
    '/dashboard/%2e%2e/package.json',
    '/dashboard/..%2fpackage.json',
    '/dashboard/vendor/../../package.json',
    '/dashboard//etc/passwd',
    '/dashboard/%2fetc%2fpasswd',
    '/dashboard/tsconfig.json',
    '/dashboard/vendor/uPlot.esm.d.ts',
    '/dashboard/vendor/uPlot.cjs.js',
    '/dashboard/missing.js',
  ])('answers %s with 404: only the files of the site are reachable', async (rawPath) => {
    const reply = await get(rawPath);
    expect(reply.status).toBe(404);
    expect(reply.body.toString()).not.toContain('"name"');
  });

  it('answers a malformed escape with 400', async () => {
    expect((await get('/dashboard/%zz')).status).toBe(400);
  });

  it('leaves codes that only start with "dashboard" to the redirect', async () => {
    redirected.length = 0;
    await get('/dashboard2');
    await get('/dashboards');
    expect(redirected).toEqual(['/dashboard2', '/dashboards']);
  });
});
