import fc from 'fast-check';
import { edgeRedirectEntry } from '../../lambdas/domain/edge-redirect';
import {
  EARLIEST_RECENCY,
  edgeStoreChange,
  entryBytes,
  evictionVictims,
  lastChangePerKey,
  linkRecency,
  MAX_KEYS_PER_UPDATE,
  updateRequests,
  type EdgePut,
  type EdgeStoreChange,
  type HeldLink,
  type StreamedLink,
} from '../../lambdas/domain/edge-store-sync';

const DAY = '2026-12-01';
const live = (url: string, more: Partial<StreamedLink> = {}): StreamedLink => ({ url, disabled: false, held: false, recency: DAY, ...more });
const held = (url: string, more: Partial<StreamedLink> = {}): StreamedLink => live(url, { held: true, ...more });
const disabled = (url: string, more: Partial<StreamedLink> = {}): StreamedLink => live(url, { disabled: true, ...more });
const OVERSIZE = `https://example.com/${'x'.repeat(1100)}`;
const put = (key: string, value: string, recency = DAY, isHeld = false): EdgePut => ({ kind: 'put', key, value, recency, held: isHeld });

describe('edgeStoreChange', () => {
  test('a created link is put, with its recency', () => {
    expect(edgeStoreChange('abc', null, live('https://example.com/'))).toEqual(put('abc', 'https://example.com/'));
  });

  test('a changed URL is put again; an update that leaves the URL is nothing', () => {
    expect(edgeStoreChange('abc', held('https://a.example/'), held('https://b.example/'))).toEqual(put('abc', 'https://b.example/', DAY, true));
    expect(edgeStoreChange('abc', held('https://a.example/'), held('https://a.example/'))).toBeNull();
  });

  test('disabling, deleting (tombstone or removal) and an URL that no longer fits delete the key, saying whether the item is marked', () => {
    expect(edgeStoreChange('abc', held('https://a.example/'), disabled('https://a.example/', { held: true }))).toEqual({ kind: 'delete', key: 'abc', held: true });
    expect(edgeStoreChange('abc', held('https://a.example/'), null)).toEqual({ kind: 'delete', key: 'abc', held: false });
    expect(edgeStoreChange('abc', held('https://a.example/'), held(OVERSIZE))).toEqual({ kind: 'delete', key: 'abc', held: true });
    expect(edgeStoreChange('abc', live('https://a.example/'), live('https://a.example/ü'))).toEqual({ kind: 'delete', key: 'abc', held: false });
  });

  test('re-enabling puts; a link never in the store stays out', () => {
    expect(edgeStoreChange('abc', disabled('https://a.example/'), live('https://a.example/'))).toEqual(put('abc', 'https://a.example/'));
    expect(edgeStoreChange('abc', live(OVERSIZE), null)).toBeNull();
    expect(edgeStoreChange('abc', null, live(OVERSIZE))).toBeNull();
    expect(edgeStoreChange('abc', disabled('https://a.example/'), null)).toBeNull();
    expect(edgeStoreChange('abc', null, null)).toBeNull();
  });

  test("the sync's own marks are nothing: held set, held cleared (an eviction), a held link's new click day", () => {
    const url = 'https://a.example/';
    expect(edgeStoreChange('abc', live(url), held(url))).toBeNull();
    expect(edgeStoreChange('abc', held(url), live(url))).toBeNull();
    expect(edgeStoreChange('abc', held(url), held(url, { recency: '2026-12-02' }))).toBeNull();
  });

  test('a link the store does not hold, clicked on a later day, is put again; the same day is nothing', () => {
    const url = 'https://a.example/';
    expect(edgeStoreChange('abc', live(url), live(url, { recency: '2026-12-02' }))).toEqual(put('abc', url, '2026-12-02'));
    expect(edgeStoreChange('abc', live(url), live(url))).toBeNull();
    // A link that cannot be stored stays out whatever its clicks.
    expect(edgeStoreChange('abc', live(OVERSIZE), live(OVERSIZE, { recency: '2026-12-02' }))).toBeNull();
    expect(edgeStoreChange('abc', disabled(url), disabled(url, { recency: '2026-12-02' }))).toBeNull();
  });

  const url = fc.oneof(fc.webUrl(), fc.constant(OVERSIZE), fc.string());
  const recency = fc.constantFrom('2026-11-30', DAY, '2026-12-02');
  const link = fc.option(fc.record({ url, disabled: fc.boolean(), held: fc.boolean(), recency }), { nil: null });
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
        // Nothing is sent when nothing changed, unless a link the store does not hold was clicked on a later day.
        const clickedAgain = after !== null && !after.held && (before === null || after.recency > before.recency);
        if (old?.value === expected?.value && !clickedAgain && after?.held !== true) expect(change).toBeNull();
      }),
    );
  });
});

describe('lastChangePerKey and updateRequests', () => {
  const change = fc.oneof(
    fc.record({ kind: fc.constant('put' as const), key: fc.constantFrom('a', 'b', 'c', 'd'), value: fc.webUrl(), recency: fc.constant(DAY), held: fc.boolean() }),
    fc.record({ kind: fc.constant('delete' as const), key: fc.constantFrom('a', 'b', 'c', 'd'), held: fc.boolean() }),
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
    const changes = Array.from({ length: 120 }, (_, index): EdgeStoreChange => ({ kind: 'delete', key: `k${index}`, held: false }));
    expect(updateRequests(changes).map((request) => request.length)).toEqual([MAX_KEYS_PER_UPDATE, MAX_KEYS_PER_UPDATE, 20]);
    expect(updateRequests([])).toEqual([]);
  });
});

describe('linkRecency', () => {
  test('the click day the rollup recorded, else the creation day in the reporting zone, else the earliest', () => {
    expect(linkRecency('2026-11-20', '2026-12-01T10:00:00.000Z', 'UTC')).toBe('2026-11-20');
    expect(linkRecency(null, '2026-12-01T20:00:00.000Z', 'UTC')).toBe('2026-12-01');
    expect(linkRecency(null, '2026-12-01T20:00:00.000Z', 'Asia/Kolkata')).toBe('2026-12-02');
    expect(linkRecency('not a day', null, 'UTC')).toBe(EARLIEST_RECENCY);
    expect(linkRecency(null, 'garbage', 'UTC')).toBe(EARLIEST_RECENCY);
  });
});

describe('evictionVictims', () => {
  const heldLink = (key: string, recency: string, value = `https://e.example/${key}`): HeldLink => ({ key, value, recency });

  test('the least recently clicked first, until they free the entry being put', () => {
    const candidates = [heldLink('a', '2026-11-01'), heldLink('b', '2026-11-02'), heldLink('c', '2026-11-03')];
    const incoming = put('new', 'https://e.example/new-link', '2026-12-01');
    // Each candidate is 20-ish bytes; the put needs its own 29.
    expect(entryBytes(incoming)).toBe(3 + 26);
    expect(evictionVictims(candidates, incoming)).toEqual([candidates[0], candidates[1]]);
    expect(evictionVictims(candidates, put('n', 'https://x/', '2026-12-01'))).toEqual([candidates[0]]);
  });

  test('never a link clicked on the same day or later, nor the put itself: then null, the put stays out', () => {
    const incoming = put('new', 'https://e.example/new', '2026-11-02');
    expect(evictionVictims([heldLink('a', '2026-11-02'), heldLink('b', '2026-11-03')], incoming)).toBeNull();
    expect(evictionVictims([heldLink('new', '2026-11-01', 'https://e.example/a-much-longer-old-value')], incoming)).toBeNull();
    expect(evictionVictims([heldLink('new', '2026-11-01'), heldLink('a', '2026-11-01', 'https://e.example/aaaaa')], incoming)).toEqual([
      heldLink('a', '2026-11-01', 'https://e.example/aaaaa'),
    ]);
  });

  test('null when the older links cannot free enough', () => {
    expect(evictionVictims([heldLink('a', '2026-11-01', 'http://a')], put('new', `https://e.example/${'x'.repeat(100)}`))).toBeNull();
    expect(evictionVictims([], put('new', 'https://e.example/'))).toBeNull();
  });

  /**
   * A store of `capacity` bytes driven by puts and clicks, evicting with evictionVictims as the sync does
   * (a link clicked while out of the store is put again). Checked against the rules, not a copy of the code.
   */
  test('property: within capacity, only less recently clicked links leave, the least recent first, no more than needed', () => {
    const days = ['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-04', '2026-11-05'];
    const operation = fc.record({
      key: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'),
      pathLength: fc.integer({ min: 0, max: 40 }),
      day: fc.integer({ min: 0, max: days.length - 1 }),
    });
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 60 }), fc.integer({ min: 40, max: 200 }), (operations, capacity) => {
        const store = new Map<string, HeldLink>();
        const recency = new Map<string, string>();
        const bytes = (): number => [...store.values()].reduce((total, link) => total + entryBytes(link), 0);
        for (const { key, pathLength, day } of operations) {
          // A click (or creation) on a day never moves a link's recency back.
          const latest = [recency.get(key) ?? days[0], days[day]].sort()[1];
          recency.set(key, latest);
          const incoming = put(key, `http://h/${'p'.repeat(pathLength)}`, latest, store.has(key));
          if (store.get(key)?.value === incoming.value) {
            store.set(key, { ...store.get(key)!, recency: latest });
            continue;
          }
          const others = [...store.values()].filter((link) => link.key !== key);
          const held = [...store.values()].sort((x, y) => (x.recency < y.recency ? -1 : x.recency > y.recency ? 1 : 0));
          const fits = bytes() - (store.has(key) ? entryBytes(store.get(key)!) : 0) + entryBytes(incoming) <= capacity;
          if (fits) {
            store.set(key, { key, value: incoming.value, recency: latest });
            continue;
          }
          const victims = evictionVictims(held, incoming);
          const older = others.filter((link) => link.recency < latest);
          if (victims === null) {
            // Refused only when the less recently clicked links together could not free the entry.
            expect(older.reduce((total, link) => total + entryBytes(link), 0)).toBeLessThan(entryBytes(incoming));
            store.delete(key);
            continue;
          }
          for (const victim of victims) expect(victim.recency < latest && victim.key !== key).toBe(true);
          // The least recent first: no link that stays is older than one that goes.
          const kept = older.filter((link) => !victims.includes(link));
          for (const victim of victims) for (const stays of kept) expect(victim.recency <= stays.recency).toBe(true);
          // No more than needed: without the last victim they would not have freed the entry.
          const freed = victims.reduce((total, link) => total + entryBytes(link), 0);
          expect(freed).toBeGreaterThanOrEqual(entryBytes(incoming));
          expect(freed - entryBytes(victims[victims.length - 1])).toBeLessThan(entryBytes(incoming));
          for (const victim of victims) store.delete(victim.key);
          store.set(key, { key, value: incoming.value, recency: latest });
          expect(bytes()).toBeLessThanOrEqual(capacity);
        }
        expect(bytes()).toBeLessThanOrEqual(capacity);
      }),
    );
  });
});
