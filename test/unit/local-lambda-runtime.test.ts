import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Context } from 'aws-lambda';
import {
  functionDefinitions,
  LambdaTimeoutError,
  layOutTaskRoot,
  partitionEnvironment,
  wrapHandler,
  type FunctionDefinition,
} from '../../local/lambda-runtime';
import type { CfnTemplate } from '../../local/types';

const template: CfnTemplate = {
  Resources: {
    Links: { Type: 'AWS::DynamoDB::Table' },
    Redirect: {
      Type: 'AWS::Lambda::Function',
      Metadata: {
        'ClickAnalytics:Entry': 'lambdas/handlers/redirect.ts',
        'ClickAnalytics:Assets': [{ from: 'data/geo.mmdb', to: 'geo/db.mmdb' }],
      },
      Properties: {
        Timeout: 5,
        MemorySize: 256,
        Environment: {
          Variables: { LINKS_TABLE_NAME: { Ref: 'Links' }, API_KEY_SECRET_ARN: { Ref: 'Secret' }, MODE: 'x' },
        },
      },
    },
    Bare: { Type: 'AWS::Lambda::Function', Metadata: { 'ClickAnalytics:Entry': 'lambdas/handlers/api.ts' } },
  },
};

describe('functionDefinitions', () => {
  it('reads entry, assets, limits and the resolvable environment of every function', () => {
    const definitions = functionDefinitions(template, { Links: { ref: 'Links', attributes: {} } });
    expect(definitions).toEqual([
      {
        logicalId: 'Redirect',
        entry: 'lambdas/handlers/redirect.ts',
        assets: [{ from: 'data/geo.mmdb', to: 'geo/db.mmdb' }],
        timeoutSeconds: 5,
        memoryMb: 256,
        environment: { LINKS_TABLE_NAME: 'Links', MODE: 'x' },
      },
      { logicalId: 'Bare', entry: 'lambdas/handlers/api.ts', assets: [], timeoutSeconds: 3, memoryMb: 128, environment: {} },
    ]);
  });

  it('refuses a function built without the house construct', () => {
    const withoutEntry: CfnTemplate = { Resources: { F: { Type: 'AWS::Lambda::Function', Properties: {} } } };
    expect(() => functionDefinitions(withoutEntry, {})).toThrow(/F has no ClickAnalytics:Entry/);
  });
});

describe('partitionEnvironment', () => {
  it('shares agreeing variables and keeps differing ones per function', () => {
    const { shared, perFunction } = partitionEnvironment([
      { A: '1', SERVICE: 'redirect' },
      { A: '1', B: '2', SERVICE: 'api' },
    ]);
    expect(shared).toEqual({ A: '1', B: '2' });
    expect(perFunction).toEqual([{ SERVICE: 'redirect' }, { SERVICE: 'api' }]);
  });
});

function definition(overrides: Partial<FunctionDefinition> = {}): FunctionDefinition {
  return { logicalId: 'Fn', entry: 'x.ts', assets: [], timeoutSeconds: 3, memoryMb: 512, environment: {}, ...overrides };
}

describe('wrapHandler', () => {
  it('passes the event and a Lambda context honest about the remaining time', async () => {
    let seen: { event: unknown; context: Context; remaining: number } | undefined;
    const fn = wrapHandler(definition(), async (event, context) => {
      seen = { event, context, remaining: context.getRemainingTimeInMillis() };
      return 'done';
    });
    await expect(fn.invoke({ a: 1 })).resolves.toBe('done');
    expect(seen?.event).toEqual({ a: 1 });
    expect(seen?.context).toMatchObject({
      functionName: 'Fn',
      memoryLimitInMB: '512',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:Fn',
      logGroupName: '/aws/lambda/Fn',
    });
    expect(seen?.context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen?.remaining).toBeGreaterThan(0);
    expect(seen?.remaining).toBeLessThanOrEqual(3000);
  });

  it('rejects with the handler error', async () => {
    const fn = wrapHandler(definition(), () => {
      throw new Error('broken');
    });
    await expect(fn.invoke({})).rejects.toThrow('broken');
  });

  it('rejects once the timeout passes', async () => {
    const fn = wrapHandler(definition({ timeoutSeconds: 0.05 }), () => new Promise(() => undefined));
    await expect(fn.invoke({})).rejects.toBeInstanceOf(LambdaTimeoutError);
  });
});

describe('layOutTaskRoot', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'task-root-'));
    await writeFile(path.join(root, 'geo.mmdb'), 'database');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('copies each asset to its place in the bundle', async () => {
    const taskRoot = path.join(root, 'task');
    await layOutTaskRoot(root, taskRoot, [definition({ assets: [{ from: 'geo.mmdb', to: 'data/geo.mmdb' }] })]);
    await expect(readFile(path.join(taskRoot, 'data/geo.mmdb'), 'utf8')).resolves.toBe('database');
  });

  it('refuses assets that collide or escape the task root', async () => {
    const taskRoot = path.join(root, 'task');
    await expect(
      layOutTaskRoot(root, taskRoot, [
        definition({ assets: [{ from: 'geo.mmdb', to: 'db' }] }),
        definition({ logicalId: 'Other', assets: [{ from: 'other.mmdb', to: 'db' }] }),
      ]),
    ).rejects.toThrow(/Other puts other.mmdb at db/);
    await expect(layOutTaskRoot(root, taskRoot, [definition({ assets: [{ from: 'geo.mmdb', to: '../out' }] })])).rejects.toThrow(
      /escapes the task root/,
    );
  });
});
