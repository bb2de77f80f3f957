/**
 * Where links may not go, and codes they may not take, through the local stack over real HTTP
 * (`npm start` as a child process, deployed defaults): each refusal is a 400 that names the rule
 * broken, and no link is written.
 */
import { createHash } from 'node:crypto';
import { paginateScan } from '@aws-sdk/client-dynamodb';
import { resourceNamed, StackClient, tearDownLocalStack } from '../fixtures/stack-client';
import { type LocalStackProcess, startLocalStackProcess } from '../fixtures/local/local-stack-process';

jest.setTimeout(120_000);

let stack: LocalStackProcess;
let client: StackClient;
let linksBefore: number;

async function linkCount(): Promise<number> {
  let count = 0;
  const TableName = resourceNamed(stack.description.tables, 'LinksTable');
  for await (const page of paginateScan({ client: client.dynamo }, { TableName, ConsistentRead: true, Select: 'COUNT' })) {
    count += page.Count ?? 0;
  }
  return count;
}

interface Refusal {
  readonly status: number;
  readonly code: string | undefined;
  readonly message: string | undefined;
}

async function createLink(body: Readonly<Record<string, string>>): Promise<Refusal> {
  const response = await client.api('/api/links', { method: 'POST', body: JSON.stringify(body) });
  const { error } = (await response.json()) as { error?: { code?: string; message?: string } };
  return { status: response.status, code: error?.code, message: error?.message };
}

beforeAll(async () => {
  stack = await startLocalStackProcess();
  client = new StackClient(stack);
  linksBefore = await linkCount();
}, 120_000);

afterAll(async () => {
  await tearDownLocalStack(stack, client);
});

describe('refused destinations and codes', () => {
  it.each([
    ['http://0.0.0.0/', '0.0.0.0 is in 0.0.0.0/8'],
    ['http://[::ffff:127.0.0.1]/', '127.0.0.1 is in 127.0.0.0/8 (loopback)'],
    ['https://[::1]/', '[::1] is in ::1/128 (loopback)'],
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254 is in 169.254.0.0/16'],
    ['http://[fd00:ec2::254]/', '[fd00:ec2::254] is in fc00::/7'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'metadata.google.internal is a private-use name'],
    ['http://localhost:$PORT/demo', 'localhost is a loopback name'],
  ])('400 for a link to %s, naming the address rule, and no link under its code', async (url, reason) => {
    const code = `refused-${createHash('sha256').update(url).digest('hex').slice(0, 12)}`;
    const answer = await createLink({ url: url.replace('$PORT', new URL(stack.baseUrl).port), code });
    expect(answer).toEqual({ status: 400, code: 'invalid_request', message: expect.stringContaining(reason) });
    expect(answer.message).toMatch(/^The url must point at a public host: /);
    expect((await fetch(`${stack.baseUrl}/${code}`, { redirect: 'manual' })).status).toBe(404);
  });

  it('400 for a host that mixes scripts, naming the label', async () => {
    const answer = await createLink({ url: 'https://ex\u0430mple.com/' });
    expect(answer).toEqual({
      status: 400,
      code: 'invalid_request',
      message: 'The url\'s host mixes scripts in one label ("ex\u0430mple": Latin, Cyrillic), as look-alike host names do.',
    });
  });

  it.each([
    ['---', 'The code must contain a letter or a digit, not only "-" and "_".'],
    ['___', 'The code must contain a letter or a digit, not only "-" and "_".'],
    ['api', 'The code "api" is reserved: /api is one of the shortener\'s own paths.'],
    ['Dashboard', 'The code "Dashboard" is reserved: /dashboard is one of the shortener\'s own paths.'],
    ['_local', 'The code "_local" is reserved: /_local is one of the shortener\'s own paths.'],
  ])('400 for the code %s, saying which rule', async (code, message) => {
    expect(await createLink({ url: 'https://example.com/', code })).toEqual({ status: 400, code: 'invalid_request', message });
  });

  it('wrote no link for any of them, while a good link is still written', async () => {
    expect(await linkCount()).toBe(linksBefore);
    const created = await client.api('/api/links', { method: 'POST', body: JSON.stringify({ url: 'https://example.com/fine', code: 'fine-code' }) });
    expect(created.status).toBe(201);
    expect(await linkCount()).toBe(linksBefore + 1);
    expect(stack.output()).not.toMatch(/failed for|HTTP front error|request failed/);
  });
});
