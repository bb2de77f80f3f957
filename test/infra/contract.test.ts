import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ENV } from '../../lambdas/contract';
import { synthesize } from './synth';

/** Variables the platform, Powertools or CDK (on its dashboard deployment function) define: not ours to name in the contract. */
const PLATFORM_VARIABLES = new Set(['POWERTOOLS_SERVICE_NAME', 'NODE_OPTIONS', 'AWS_CA_BUNDLE']);

describe('the shared contract (lambdas/contract.ts)', () => {
  const { template } = synthesize({ publicBaseUrl: 'https://sho.rt' });
  const functions = Object.values(template.findResources('AWS::Lambda::Function')) as {
    Properties: { Environment?: { Variables?: Record<string, unknown> } };
  }[];
  const contractNames = new Set<string>(Object.values(ENV));

  it('names every environment variable the stack gives a function', () => {
    const set = functions.flatMap((fn) => Object.keys(fn.Properties.Environment?.Variables ?? {}));
    expect(set.length).toBeGreaterThan(20);
    expect(set.filter((name) => !contractNames.has(name) && !PLATFORM_VARIABLES.has(name))).toEqual([]);
  });

  it('names every variable the functions read, and docs/design.md documents each', () => {
    const config = readFileSync(path.join(__dirname, '../../lambdas/shared/config.ts'), 'utf8');
    const design = readFileSync(path.join(__dirname, '../../docs/design.md'), 'utf8');
    const read = [...config.matchAll(/ENV\.(\w+)/g)].map((match) => match[1] as keyof typeof ENV);
    expect(new Set(read).size).toBeGreaterThan(15);
    for (const key of read) expect(ENV[key]).toBeDefined();
    expect(Object.values(ENV).filter((name) => !design.includes(`\`${name}`))).toEqual([]);
    expect(config).not.toMatch(/\((?:required|optional|nonNegativeNumber|booleanFlag)\('/);
  });
});
