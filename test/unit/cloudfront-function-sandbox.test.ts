import {
  CloudFrontFunctionSandbox,
  FunctionLoadError,
  MAX_FUNCTION_BYTES,
  type FunctionOutcome,
  type SandboxOptions,
} from '../../local/edge/cloudfront-function-sandbox';
import { EdgeKeyValueStore } from '../../local/edge/key-value-store';
import { viewerRequestEvent } from './helpers/cloudfront-events';

const event = viewerRequestEvent({ uri: '/spring' });

function run(source: string, options: SandboxOptions = {}): Promise<FunctionOutcome> {
  return new CloudFrontFunctionSandbox(source, options).run(event);
}

/** A handler answering 200 with `expression` (evaluated per request) as its body. */
function answering(expression: string, preamble = ''): string {
  return `${preamble}\nasync function handler(event) {\n  return { statusCode: 200, body: String(${expression}) };\n}\n`;
}

async function bodyOf(run: Promise<FunctionOutcome>): Promise<unknown> {
  const outcome = await run;
  expect(outcome).toMatchObject({ kind: 'response' });
  return outcome.kind === 'response' ? outcome.response.body : undefined;
}

async function expectFunctionError(run: Promise<FunctionOutcome>, error: RegExp): Promise<void> {
  expect(await run).toMatchObject({ kind: 'error', statusCode: 503, error: expect.stringMatching(error) });
}

describe('the CloudFront Function sandbox: loading', () => {
  it('runs a plain script function, as today’s viewer function is', async () => {
    expect(await run('function handler(event) { return event.request; }')).toMatchObject({ kind: 'request', request: { uri: '/spring', method: 'GET' } });
  });

  it('takes code up to 10 KB, counted in UTF-8 bytes, and refuses more', async () => {
    const handler = 'function handler(event) { return event.request; }\n';
    const filler = (bytes: number): string => `//${'é'.repeat(Math.floor(bytes / 2))}${bytes % 2 === 1 ? 'x' : ''}\n`;
    const exactly = handler + filler(MAX_FUNCTION_BYTES - Buffer.byteLength(handler) - 3);
    expect(Buffer.byteLength(exactly)).toBe(MAX_FUNCTION_BYTES);
    expect(() => new CloudFrontFunctionSandbox(exactly)).not.toThrow();
    expect(() => new CloudFrontFunctionSandbox(`${exactly} `)).toThrow(FunctionLoadError);
    // Fewer characters than bytes: the limit is on bytes.
    expect(exactly.length).toBeLessThan(MAX_FUNCTION_BYTES);
  });

  it.each(['fs', 'node:fs', 'http', 'child_process', 'cloudfront/extra', ''])('refuses to import "%s"', async (module) => {
    expect(() => new CloudFrontFunctionSandbox(`import m from '${module}';\n${answering('1')}`)).toThrow(FunctionLoadError);
  });

  it.each([
    ['a named import', "import { Buffer } from 'buffer';"],
    ['a namespace import', "import * as crypto from 'crypto';"],
    ['a bare import', "import 'crypto';"],
    ['an export', 'export const x = 1;'],
  ])('refuses %s, which the one rewrite does not cover', async (_form, line) => {
    expect(() => new CloudFrontFunctionSandbox(`${line}\n${answering('1')}`)).toThrow(FunctionLoadError);
  });

  it('refuses code that does not parse, or defines no handler', async () => {
    expect(() => new CloudFrontFunctionSandbox('function handler(event) {')).toThrow(/does not parse/);
    expect(() => new CloudFrontFunctionSandbox('function other(event) { return event.request; }')).toThrow(/no handler/);
    expect(() => new CloudFrontFunctionSandbox('var handler = 1;')).toThrow(/no handler/);
  });

  it('refuses top-level code that throws or runs past the time limit', async () => {
    expect(() => new CloudFrontFunctionSandbox(`throw new Error('boom');\n${answering('1')}`)).toThrow(/top-level code failed: boom/);
    expect(() => new CloudFrontFunctionSandbox(`for (;;) {}\n${answering('1')}`, { timeLimitMs: 300 })).toThrow(/timed out/);
  });

  it('keeps line numbers through the import rewrite', async () => {
    const source = "import cf from 'cloudfront';\n\nasync function handler(event) {\n  return { statusCode: 200, body: new Error('here').stack };\n}\n";
    const body = await bodyOf(run(source, { keyValueStore: new EdgeKeyValueStore(), filename: 'edge.js' }));
    expect(body).toMatch(/edge\.js:4:/);
  });
});

describe('the CloudFront Function sandbox: what the runtime lacks', () => {
  it.each([
    ['require', "require('fs')"],
    ['process', 'process.env'],
    ['setTimeout', 'setTimeout(function () {}, 0)'],
    ['setInterval', 'setInterval(function () {}, 10)'],
    ['setImmediate', 'setImmediate(function () {})'],
    ['queueMicrotask', 'queueMicrotask(function () {})'],
    ['fetch', "fetch('https://example.com/')"],
    ['the global Buffer', "Buffer.from('a')"],
    ['module', 'module.exports'],
  ])('fails a request that reaches for %s', async (_global, expression) => {
    await expectFunctionError(run(answering(expression)), /ReferenceError/);
  });

  it.each([
    ['eval', "eval('1 + 1')"],
    ['new Function', "new Function('return 1')()"],
    ['a constructor reached from a function', "(function () {}).constructor('return 1')()"],
    ['a constructor reached from the event', "event.constructor.constructor('return process')()"],
    ['a constructor reached from the store handle', "cf.kvs().get.constructor('return process')"],
  ])('fails a request that evaluates code from a string: %s', async (_how, expression) => {
    const outcome = run(answering(expression, "import cf from 'cloudfront';"), { keyValueStore: new EdgeKeyValueStore() });
    await expectFunctionError(outcome, /EvalError/);
  });

  it('fails a request that imports a module at run time', async () => {
    await expectFunctionError(run(answering("await import('fs')")), /.+/);
  });

  it('fails a request that runs past the time limit, and runs the next one', async () => {
    const sandbox = new CloudFrontFunctionSandbox(
      'function handler(event) { if (event.request.uri === "/slow") { for (;;) {} } return event.request; }',
      { timeLimitMs: 300 },
    );
    await expectFunctionError(sandbox.run(viewerRequestEvent({ uri: '/slow' })), /timed out after 300ms/);
    expect(await sandbox.run(viewerRequestEvent({ uri: '/fast' }))).toMatchObject({ kind: 'request' });
  });

  it('bounds an async handler up to its first await', async () => {
    await expectFunctionError(run('async function handler(event) { for (;;) {} }', { timeLimitMs: 300 }), /timed out/);
  });

  it('fails a request whose handler never settles, rather than wait for it', async () => {
    await expectFunctionError(run('async function handler() { await new Promise(function () {}); }'), /never settled/);
  });

  it('fails a request whose handler throws or rejects, with what it threw', async () => {
    await expectFunctionError(run('function handler() { throw new TypeError("bad input"); }'), /^TypeError: bad input$/);
    await expectFunctionError(run('async function handler() { throw "a string"; }'), /^thrown: a string$/);
  });
});

describe('the CloudFront Function sandbox: modules it has', () => {
  it('offers the crypto digests the runtime has, and no others', async () => {
    const crypto = "import crypto from 'crypto';";
    expect(await bodyOf(run(answering("crypto.createHash('sha256').update('a').digest('hex')", crypto)))).toBe(
      'ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb',
    );
    expect(await bodyOf(run(answering("crypto.createHmac('sha1', 'key').update('a').digest('base64')", crypto)))).toEqual(expect.any(String));
    await expectFunctionError(run(answering("crypto.createHash('sha512').update('a').digest('hex')", crypto)), /not available: sha512/);
  });

  it('offers querystring and buffer', async () => {
    expect(await bodyOf(run(answering("querystring.parse('a=1&b=2').b", "import querystring from 'querystring';")))).toBe('2');
    expect(await bodyOf(run(answering("buffer.Buffer.from('hi').toString('base64')", "import buffer from 'buffer';")))).toBe('aGk=');
  });

  it('logs what console.log writes, for this request only', async () => {
    const sandbox = new CloudFrontFunctionSandbox('function handler(event) { console.log("uri", event.request.uri, 1); return event.request; }');
    expect((await sandbox.run(viewerRequestEvent({ uri: '/one' }))).logs).toEqual(['uri /one 1']);
    expect((await sandbox.run(viewerRequestEvent({ uri: '/two' }))).logs).toEqual(['uri /two 1']);
  });

  it('hands the function its own copy of the event', async () => {
    const original = viewerRequestEvent({ uri: '/spring' });
    await new CloudFrontFunctionSandbox('function handler(event) { event.request.headers.host.value = "x"; return event.request; }').run(original);
    expect(original.request.headers.host?.value).toBe('sho.rt');
  });
});

describe('the CloudFront Function sandbox: the key value store', () => {
  const storeHolding = (key: string, value: string): EdgeKeyValueStore => {
    const store = new EdgeKeyValueStore();
    store.put(key, value);
    return store;
  };
  const kvs = "import cf from 'cloudfront';\nvar kvs = cf.kvs();";

  it('reads a stored value as a string, or parsed as JSON', async () => {
    expect(await bodyOf(run(answering("await kvs.get('spring')", kvs), { keyValueStore: storeHolding('spring', 'https://example.com/') }))).toBe(
      'https://example.com/',
    );
    const json = run(answering("(await kvs.get('flags', { format: 'json' })).edge", kvs), { keyValueStore: storeHolding('flags', '{"edge":true}') });
    expect(await bodyOf(json)).toBe('true');
  });

  it('rejects get for a missing key, as the real store does, with an error of the function’s own realm', async () => {
    const probe = "await kvs.get('missing').then(function () { return 'found'; }, function (e) { return (e instanceof Error) + ' ' + e.message; })";
    expect(await bodyOf(run(answering(probe, kvs), { keyValueStore: new EdgeKeyValueStore() }))).toBe('true Key not found: missing');
  });

  it('rejects get when the store cannot be read, without the host error reaching the function', async () => {
    const failing = {
      get: (): string => {
        throw new Error('host secret');
      },
    };
    const probe = "await kvs.get('spring').then(function () { return 'found'; }, function (e) { return e.message; })";
    expect(await bodyOf(run(answering(probe, kvs), { keyValueStore: failing }))).toBe('The key value store could not be read.');
  });

  it('rejects formats it does not emulate', async () => {
    const outcome = run(answering("await kvs.get('spring', { format: 'bytes' })", kvs), { keyValueStore: storeHolding('spring', 'x') });
    await expectFunctionError(outcome, /Format not emulated: bytes/);
  });

  it('refuses cf.kvs() when no store is associated with the function', async () => {
    expect(() => new CloudFrontFunctionSandbox(answering('1', kvs))).toThrow(/No key value store is associated/);
  });
});

describe('the CloudFront Function sandbox: what a handler may return', () => {
  const returning = (literal: string): Promise<FunctionOutcome> => run(`function handler(event) { var request = event.request; return ${literal}; }`);

  it.each([
    ['undefined', 'undefined'],
    ['null', 'null'],
    ['a string', '"302"'],
    ['an array', '[]'],
    ['a status code as a string', '{ statusCode: "302" }'],
    ['a status code below 200', '{ statusCode: 101 }'],
    ['a status code above 599', '{ statusCode: 600 }'],
    ['a fractional status code', '{ statusCode: 302.5 }'],
    ['an upper-case header name', '{ statusCode: 302, headers: { Location: { value: "/x" } } }'],
    ['a bare header value', '{ statusCode: 302, headers: { location: "/x" } }'],
    ['a number as header value', '{ statusCode: 302, headers: { "x-n": { value: 1 } } }'],
    ['a header value with CRLF', '{ statusCode: 302, headers: { location: { value: "/x\\r\\nset-cookie: a=b" } } }'],
    ['a bad multiValue', '{ statusCode: 200, headers: { a: { value: "1", multiValue: ["1"] } } }'],
    ['a non-string statusDescription', '{ statusCode: 200, statusDescription: 1 }'],
    ['a body with an unknown encoding', '{ statusCode: 200, body: { data: "x", encoding: "gzip" } }'],
    ['non-string cookie attributes', '{ statusCode: 200, cookies: { a: { value: "1", attributes: 1 } } }'],
    ['a request with another method', 'Object.assign({}, request, { method: "POST" })'],
    ['a request without headers', '{ method: request.method, uri: request.uri, querystring: {}, cookies: {} }'],
    ['a request uri without a leading slash', 'Object.assign({}, request, { uri: "spring" })'],
  ])('fails a request whose handler returns %s', async (_what, literal) => {
    await expectFunctionError(returning(literal), /.+/);
  });

  it('passes on a full response as CloudFront takes it', async () => {
    const response =
      '{ statusCode: 200, statusDescription: "OK", headers: { "content-type": { value: "text/plain" }, vary: { value: "a", multiValue: [{ value: "a" }, { value: "b" }] } },' +
      ' cookies: { id: { value: "1", attributes: "Secure; HttpOnly" } }, body: { data: "aGk=", encoding: "base64" } }';
    expect(await returning(response)).toMatchObject({
      kind: 'response',
      response: {
        statusCode: 200,
        statusDescription: 'OK',
        headers: { 'content-type': { value: 'text/plain' }, vary: { value: 'a', multiValue: [{ value: 'a' }, { value: 'b' }] } },
        cookies: { id: { value: '1', attributes: 'Secure; HttpOnly' } },
        body: { data: 'aGk=', encoding: 'base64' },
      },
    });
  });

  it('reports how long the run took', async () => {
    expect((await returning('request')).durationMs).toBeGreaterThanOrEqual(0);
  });
});
