import fc from 'fast-check';
import { edgeRedirectEntry } from '../../lambdas/domain/edge-redirect';
import {
  edgeStoreChange,
  lastChangePerKey,
  MAX_KEYS_PER_UPDATE,
  updateRequests,
  type EdgeStoreChange,
  type StreamedLink,
} from '../../lambdas/domain/edge-store-sync';

const live = (url: string): StreamedLink => ({ url, disabled: false });
const disabled = (url: string): StreamedLink => ({ url, disabled: true });
const OVERSIZE = `https://example.com/${'x'.repeat(1100)}`;

describe('edgeStoreChange', () => {
  test('a created link is put', () => {
    expect(edgeStoreChange('abc', null, live('https://example.com/'))).toEqual({ kind: 'put', key: 'abc', value: 'https://example.com/' });
  });

  test('a changed URL is put again; an update that leaves the URL is nothing', () => {
    expect(edgeStoreChange('abc', live('https://a.example/'), live('https://b.example/'))).toEqual({ kind: 'put', key: 'abc', value: 'https://b.example/' });
    expect(edgeStoreChange('abc', live('https://a.example/'), live('https://a.example/'))).toBeNull();
  });

  test('disabling, deleting (tombstone or removal) and an URL that no longer fits delete the key', () => {
    const del = { kind: 'delete', key: 'abc' };
    expect(edgeStoreChange('abc', live('https://a.example/'), disabled('https://a.example/'))).toEqual(del);
    expect(edgeStoreChange('abc', live('https://a.example/'), null)).toEqual(del);
    expect(edgeStoreChange('abc', live('https://a.example/'), live(OVERSIZE))).toEqual(del);
    expect(edgeStoreChange('abc', live('https://a.example/'), live('https://a.example/ü'))).toEqual(del);
  });

  test('re-enabling puts; a link never in the store stays out', () => {
    expect(edgeStoreChange('abc', disabled('https://a.example/'), live('https://a.example/'))).toEqual({ kind: 'put', key: 'abc', value: 'https://a.example/' });
    expect(edgeStoreChange('abc', live(OVERSIZE), null)).toBeNull();
    expect(edgeStoreChange('abc', null, live(OVERSIZE))).toBeNull();
    expect(edgeStoreChange('abc', disabled('https://a.example/'), null)).toBeNull();
    expect(edgeStoreChange('abc', null, null)).toBeNull();
  });

  const url = fc.oneof(fc.webUrl(), fc.constant(OVERSIZE), fc.string());
  const link = fc.option(fc.record({ url, disabled: fc.boolean() }), { nil: null });
  const code = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/), fc.constant('api'));

  test('property: after the change, the store holds exactly the new image\'s entry', () => {
    fc.assert(
      fc.property(code, link, link, (key, before, after) => {
        const entryOf = (image: StreamedLink | null) => (image === null || image.disabled ? null : edgeRedirectEntry(key, image.url));
        // The store as the old image left it, then the change applied.
        const store = new Map<string, string>();
        const old = entryOf(before);
        if (old !== null) store.set(old.key, old.value);
        const change = edgeStoreChange(key, before, after);
        if (change?.kind === 'put') store.set(change.key, change.value);
        if (change?.kind === 'delete') store.delete(change.key);
        const expected = entryOf(after);
        expect(store.get(key)).toBe(expected?.value);
        // Nothing is sent when nothing changed.
        if (old?.value === expected?.value) expect(change).toBeNull();
      }),
    );
  });
});

describe('lastChangePerKey and updateRequests', () => {
  const change = fc.oneof(
    fc.record({ kind: fc.constant('put' as const), key: fc.constantFrom('a', 'b', 'c', 'd'), value: fc.webUrl() }),
    fc.record({ kind: fc.constant('delete' as const), key: fc.constantFrom('a', 'b', 'c', 'd') }),
  );

  test('property: applying the coalesced requests in order leaves the store as applying every change in order', () => {
    fc.assert(
      fc.property(fc.array(change, { maxLength: 40 }), fc.integer({ min: 1, max: 5 }), (changes, maxKeys) => {
        const apply = (store: Map<string, string>, batch: readonly EdgeStoreChange[]) => {
          for (const item of batch) {
            if (item.kind === 'put') store.set(item.key, item.value);
            else store.delete(item.key);
          }
        };
        const oneByOne = new Map<string, string>();
        apply(oneByOne, changes);
        const coalesced = lastChangePerKey(changes);
        const requests = updateRequests(coalesced, maxKeys);
        const batched = new Map<string, string>();
        for (const request of requests) apply(batched, request);
        expect(batched).toEqual(oneByOne);
        expect(new Set(coalesced.map((item) => item.key)).size).toBe(coalesced.length);
        for (const request of requests) expect(request.length).toBeLessThanOrEqual(maxKeys);
        expect(requests.flat()).toEqual(coalesced);
      }),
    );
  });

  test('requests hold at most 50 keys by default', () => {
    const changes = Array.from({ length: 120 }, (_, index): EdgeStoreChange => ({ kind: 'delete', key: `k${index}` }));
    expect(updateRequests(changes).map((request) => request.length)).toEqual([MAX_KEYS_PER_UPDATE, MAX_KEYS_PER_UPDATE, 20]);
    expect(updateRequests([])).toEqual([]);
  });
});
