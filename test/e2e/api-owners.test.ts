/**
 * Owners and their keys through the running local stack, as an operator and two users meet them:
 * `npm run keys` against the stack's data folder, each owner's links and statistics walled off from
 * the other's, a disabled or deleted link no longer redirecting, a revoked key refused, a share token
 * reading one link until it is revoked, and the /api route throttled by the local front as API Gateway
 * throttles it. Every answer of the API's routes is one the OpenAPI document allows.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runTool, type ToolRun } from '../fixtures/cli';
import { expectDocumentedResponse } from '../fixtures/openapi';
import { StackClient, tearDownLocalStack } from '../fixtures/stack-client';
import { startLocalStackProcess, type LocalStackProcess } from '../fixtures/local/local-stack-process';

let stack: LocalStackProcess;
let client: StackClient;

const keys = (args: readonly string[], dataDir = stack.dataDir): Promise<ToolRun> => runTool('bin/keys.ts', args, { DATA_DIR: dataDir });

async function newKey(owner: string): Promise<string> {
  const run = await keys(['create', '--owner', owner]);
  expect(run.exitCode).toBe(0);
  const lines = run.stdout.trimEnd().split('\n');
  expect(lines.at(-1)).toMatch(/^ck_[a-z0-9]{12}_[A-Za-z0-9]{40}$/);
  return lines.at(-1) ?? '';
}

/** client.api, its answer checked against the OpenAPI document (read from a clone: the test reads the body too). */
async function api(pathAndQuery: string, init: RequestInit = {}, key?: string): Promise<Response> {
  const response = await client.api(pathAndQuery, init, key);
  const body = await response.clone().text();
  expectDocumentedResponse({ method: init.method ?? 'GET', path: pathAndQuery, status: response.status, headers: Object.fromEntries(response.headers), body });
  return response;
}

const redirectStatus = async (code: string): Promise<number> => {
  const response = await fetch(`${stack.baseUrl}/${code}`, { redirect: 'manual' });
  await response.arrayBuffer();
  return response.status;
};

beforeAll(async () => {
  stack = await startLocalStackProcess();
  client = new StackClient(stack);
}, 90_000);

afterAll(() => tearDownLocalStack(stack, client));

describe('owners and keys on the local stack', () => {
  let alice: string;
  let bob: string;

  it('makes keys with npm run keys, printed once on the last line, and lists them without secrets', async () => {
    // Each run is a process of its own (about a second of start-up): independent runs go side by side.
    [alice, bob] = await Promise.all([newKey('alice'), newKey('bob')]);
    const [listed, bobs] = await Promise.all([keys(['list']), keys(['list', '--owner', 'bob'])]);
    expect(listed.exitCode).toBe(0);
    expect(listed.stdout).toMatch(/^[a-z0-9]{12} {2}alice {2}created \S+ {2}active$/m);
    expect(listed.stdout).toMatch(/^[a-z0-9]{12} {2}bob {2}created \S+ {2}active$/m);
    expect(listed.stdout).not.toContain(alice.slice(16));
    expect(bobs.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('refuses bad arguments (2) and a missing stack (1) with a clear message', async () => {
    const empty = await mkdtemp(path.join(tmpdir(), 'click-analytics-keys-'));
    try {
      // None of these changes anything: they run side by side.
      const runs = await Promise.all([
        keys(['create']),
        keys(['create', '--owner', 'admin']),
        keys(['revoke', 'not-an-id']),
        keys(['rotate']),
        keys(['list'], empty),
        keys(['revoke', 'zzzzzzzzzzzz']),
      ]);
      expect(runs).toMatchObject([
        { exitCode: 2, stderr: expect.stringMatching(/create needs --owner NAME/) },
        { exitCode: 2, stderr: expect.stringMatching(/admin key's owner/) },
        { exitCode: 2 },
        { exitCode: 2, stderr: expect.stringMatching(/Unknown command "rotate"/) },
        { exitCode: 1, stderr: expect.stringMatching(/No local stack found/) },
        { exitCode: 1, stderr: expect.stringMatching(/no key zzzzzzzzzzzz/) },
      ]);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it("walls each owner's links and statistics off from the other's", async () => {
    const created = await api('/api/links', { method: 'POST', body: JSON.stringify({ url: 'https://example.com/alice' }) }, alice);
    expect(created.status).toBe(201);
    const { code } = (await created.json()) as { code: string };
    expect(await redirectStatus(code)).toBe(302);

    for (const route of [`/api/links/${code}`, `/api/links/${code}/stats`]) {
      const foreign = await api(route, {}, bob);
      expect([foreign.status, await foreign.json()]).toEqual([404, { error: { code: 'not_found', message: 'No link has this code.' } }]);
      expect((await api(route, {}, alice)).status).toBe(200);
    }
    const aliceLinks = (await (await api('/api/links', {}, alice)).json()) as { links: { code: string }[] };
    const bobLinks = (await (await api('/api/links', {}, bob)).json()) as { links: { code: string }[] };
    expect(aliceLinks.links.map((link) => link.code)).toEqual([code]);
    expect(bobLinks.links).toEqual([]);
    // The admin key still reaches every link, for operators.
    expect((await api(`/api/links/${code}`)).status).toBe(200);
  });

  it('stops redirecting a link once it is disabled or deleted (never visited, so no environment caches it)', async () => {
    const make = async (): Promise<string> => {
      const response = await api('/api/links', { method: 'POST', body: JSON.stringify({ url: 'https://example.com/soon-gone' }) }, alice);
      return ((await response.json()) as { code: string }).code;
    };
    const [disabled, deleted] = [await make(), await make()];
    expect((await api(`/api/links/${disabled}`, { method: 'PATCH', body: JSON.stringify({ disabled: true }) }, alice)).status).toBe(200);
    expect((await api(`/api/links/${deleted}`, { method: 'DELETE' }, alice)).status).toBe(204);
    expect(await redirectStatus(disabled)).toBe(404);
    expect(await redirectStatus(deleted)).toBe(404);
    expect((await api(`/api/links/${disabled}`, { method: 'PATCH', body: JSON.stringify({ disabled: false }) }, alice)).status).toBe(200);
  });

  it('refuses a revoked key at its next request', async () => {
    const listed = await keys(['list', '--owner', 'bob']);
    const keyId = listed.stdout.trim().split(/\s+/)[0];
    expect(await keys(['revoke', keyId])).toMatchObject({ exitCode: 0, stdout: `Key ${keyId} revoked.\n` });
    expect((await api('/api/links', {}, bob)).status).toBe(401);
    expect((await keys(['list', '--owner', 'bob'])).stdout).toMatch(/revoked \S+$/m);
  });

  it('reads one link through a share token until it is revoked with npm run keys', async () => {
    const created = await api('/api/links', { method: 'POST', body: JSON.stringify({ url: 'https://example.com/shared' }) }, alice);
    const { code } = (await created.json()) as { code: string };
    const shared = await api(`/api/links/${code}/shares`, { method: 'POST', body: JSON.stringify({ label: 'launch' }) }, alice);
    expect(shared.status).toBe(201);
    const { id, token, url } = (await shared.json()) as { id: string; token: string; url: string };
    expect(url).toBe(`${new URL(url).origin}/dashboard#share=${token}&link=${code}`);
    expect((await api(`/api/links/${code}/stats?granularity=day`, {}, token)).status).toBe(200);
    expect((await api(`/api/links/${code}`, { method: 'DELETE' }, token)).status).toBe(403);

    expect((await keys(['list', '--owner', 'alice'])).stdout).toMatch(new RegExp(`^${id} {2}alice {2}created \\S+ {2}active {2}share of ${code} "launch"$`, 'm'));
    expect(await keys(['revoke', id])).toMatchObject({ exitCode: 0, stdout: `Key ${id} revoked.\n` });
    expect((await api(`/api/links/${code}/stats`, {}, token)).status).toBe(401);
  });

  it("throttles the /api route as the template's stage settings say, with API Gateway's 429", async () => {
    // 50 requests/s with a burst of 100 (the default RouteSettings): 250 back-to-back requests run it dry.
    const statuses: number[] = [];
    for (let n = 0; n < 250; n++) {
      const response = await fetch(`${stack.baseUrl}/api/stats`);
      if (response.status === 429) expect(await response.text()).toBe('{"message":"Too Many Requests"}');
      else await response.arrayBuffer();
      statuses.push(response.status);
    }
    expect(new Set(statuses)).toEqual(new Set([401, 429]));
    expect(statuses.slice(0, 100).every((status) => status === 401)).toBe(true);
  });
});
