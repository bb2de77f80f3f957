import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import {
  addClick,
  BREAKDOWN_DIMENSIONS,
  emptyState,
  linkTarget,
  LONG_TAIL_KEY,
  MAX_BREAKDOWN_KEY_BYTES,
  MAX_STATE_BYTES,
  mergeInto,
  ownerTarget,
  stateFromAttributes,
  stateToAttributes,
  targetsOf,
  type AggregateState,
} from '../../lambdas/domain/aggregate-state';
import type { RawClick } from '../../lambdas/domain/click';
import { itemBytes, truncateUtf8, utf8Bytes } from '../../lambdas/domain/item-size';
import { numberedEventId, numberedVisitor, rawClick } from '../fixtures/clicks';

let sequence = 0;
function click(changes: Partial<RawClick> = {}): RawClick {
  sequence += 1;
  return rawClick({ eventId: numberedEventId(sequence), ...changes });
}

function stateOf(clicks: readonly RawClick[]): AggregateState {
  const state = emptyState();
  for (const each of clicks) addClick(state, each);
  return state;
}

/** What the DocumentClient writes and reads back. */
const throughDynamoDb = (attributes: Record<string, unknown>): Record<string, unknown> => unmarshall(marshall(attributes));

/** The comparable content of a state: counts, the sketch's estimate and bytes, breakdowns. */
const summary = (state: AggregateState): unknown => ({
  clicks: state.clicks,
  botClicks: state.botClicks,
  uniques: state.visitors.estimate(),
  visitors: Buffer.from(state.visitors.toBytes()).toString('hex'),
  breakdowns: state.breakdowns,
});

describe('emptyState', () => {
  it('counts nothing', () => {
    const state = emptyState();
    expect(state).toMatchObject({ clicks: 0, botClicks: 0 });
    expect(state.visitors.estimate()).toBe(0);
    expect(state.breakdowns).toEqual({ referrer: {}, country: {}, device: {}, browser: {}, os: {} });
  });

  it('is a new state each time', () => {
    const first = emptyState();
    addClick(first, click());
    expect(emptyState().clicks).toBe(0);
    expect(emptyState().breakdowns.country).toEqual({});
  });
});

describe('addClick', () => {
  it('counts a human click, its visitor and one per breakdown dimension', () => {
    const state = stateOf([click({ referrer: 'twitter.com', country: 'US', device: 'mobile', browser: 'Mobile Safari', os: 'iOS' })]);
    expect(state).toMatchObject({ clicks: 1, botClicks: 0 });
    expect(state.visitors.estimate()).toBe(1);
    expect(state.breakdowns).toEqual({
      referrer: { 'twitter.com': 1 },
      country: { US: 1 },
      device: { mobile: 1 },
      browser: { 'Mobile Safari': 1 },
      os: { iOS: 1 },
    });
  });

  it('counts a bot click apart, without its visitor or breakdowns', () => {
    const state = stateOf([click({ bot: true, botReason: 'link-preview', visitor: numberedVisitor(1) })]);
    expect(state).toMatchObject({ clicks: 0, botClicks: 1 });
    expect(state.visitors.estimate()).toBe(0);
    expect(state.breakdowns).toEqual(emptyState().breakdowns);
  });

  it('counts a returning visitor once among the uniques', () => {
    const state = stateOf([click({ visitor: numberedVisitor(1) }), click({ visitor: numberedVisitor(1) }), click({ visitor: numberedVisitor(2) })]);
    expect(state.clicks).toBe(3);
    expect(state.visitors.estimate()).toBe(2);
    expect(state.breakdowns.country).toEqual({ SE: 3 });
  });

  it('counts values that are names of object properties like any other', () => {
    const state = stateOf([click({ referrer: '__proto__' }), click({ referrer: 'constructor' }), click({ referrer: '__proto__' })]);
    expect(Object.entries(state.breakdowns.referrer).sort()).toEqual([
      ['__proto__', 2],
      ['constructor', 1],
    ]);
  });
});

describe('mergeInto', () => {
  it('sums counts and breakdowns and merges visitors, leaving the source unchanged', () => {
    const target = stateOf([click({ visitor: numberedVisitor(1), country: 'US' }), click({ bot: true, botReason: 'user-agent' })]);
    const source = stateOf([click({ visitor: numberedVisitor(1), country: 'SE' }), click({ visitor: numberedVisitor(2), country: 'US' })]);
    const sourceBefore = summary(source);
    mergeInto(target, source);
    expect(target).toMatchObject({ clicks: 3, botClicks: 1 });
    // The same visitor in both states counts once: uniques merge, they do not add up.
    expect(target.visitors.estimate()).toBe(2);
    expect(target.breakdowns.country).toEqual({ US: 2, SE: 1 });
    expect(summary(source)).toEqual(sourceBefore);
  });

  it('gives the same state as counting every click into one', () => {
    const clicks = Array.from({ length: 30 }, (_, n) =>
      click({ visitor: numberedVisitor(n % 7), country: ['SE', 'US', 'IN'][n % 3], bot: n % 5 === 0, botReason: n % 5 === 0 ? 'user-agent' : null }),
    );
    const merged = emptyState();
    mergeInto(merged, stateOf(clicks.slice(0, 10)));
    mergeInto(merged, stateOf(clicks.slice(10)));
    expect(summary(merged)).toEqual(summary(stateOf(clicks)));
  });
});

describe('targets', () => {
  it('counts every click for its link and its owner', () => {
    expect(linkTarget('abc123')).toBe('link#abc123');
    expect(ownerTarget('team@example.org')).toBe('owner#team@example.org');
    expect(targetsOf(click({ code: 'xyz', owner: 'team@example.org' }))).toEqual(['link#xyz', 'owner#team@example.org']);
  });
});

describe('attributes', () => {
  const STATE = stateOf([
    click({ visitor: numberedVisitor(1), referrer: 'twitter.com' }),
    click({ visitor: numberedVisitor(2), country: 'US', referrer: 'constructor' }),
    click({ bot: true, botReason: 'head-request' }),
  ]);

  it('writes counts as numbers, the sketch as binary and its estimate as uniques, breakdowns as maps', () => {
    const attributes = stateToAttributes(STATE);
    expect(attributes).toMatchObject({ clicks: 2, botClicks: 1, uniques: 2 });
    expect(attributes.visitors).toBeInstanceOf(Uint8Array);
    expect(marshall(attributes).breakdowns).toEqual({
      M: {
        referrer: { M: { 'twitter.com': { N: '1' }, '!constructor': { N: '1' } } },
        country: { M: { SE: { N: '1' }, US: { N: '1' } } },
        device: { M: { desktop: { N: '2' } } },
        browser: { M: { Firefox: { N: '2' } } },
        os: { M: { Linux: { N: '2' } } },
      },
    });
  });

  it('round-trips through DynamoDB', () => {
    const read = stateFromAttributes(throughDynamoDb(stateToAttributes(STATE)));
    expect(summary(read)).toEqual(summary(STATE));
  });

  it('is a copy: changing the state later does not change attributes already taken', () => {
    const state = stateOf([click()]);
    const attributes = stateToAttributes(state);
    addClick(state, click());
    expect(attributes).toMatchObject({ clicks: 1, breakdowns: { country: { SE: 1 } } });
  });

  it('round-trips breakdown keys that marshalling would take for object machinery', () => {
    const keys = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '!', '!constructor', '!!x', 'a!b'];
    const state = stateOf(keys.map((browser) => click({ browser })));
    const read = stateFromAttributes(throughDynamoDb(stateToAttributes(state)));
    expect(Object.entries(read.breakdowns.browser).sort()).toEqual(keys.map((key) => [key, 1]).sort());
  });

  it('reads missing breakdown dimensions as empty maps', () => {
    const read = stateFromAttributes({ ...stateToAttributes(STATE), breakdowns: { country: { SE: 4 } } });
    expect(read.breakdowns).toEqual({ referrer: {}, country: { SE: 4 }, device: {}, browser: {}, os: {} });
  });

  it.each([
    ['clicks', { clicks: undefined }],
    ['clicks', { clicks: -1 }],
    ['clicks', { clicks: 1.5 }],
    ['clicks', { clicks: '2' }],
    ['botClicks', { botClicks: Number.MAX_SAFE_INTEGER + 1 }],
    ['botClicks', { botClicks: Number.NaN }],
    ['uniques', { uniques: undefined }],
    ['visitors', { visitors: undefined }],
    ['visitors', { visitors: 'AAAA' }],
    ['visitors', { visitors: Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff) }],
    ['breakdowns', { breakdowns: undefined }],
    ['breakdowns', { breakdowns: [] }],
    ['breakdowns', { breakdowns: new Set(['country']) }],
    ['breakdowns', { breakdowns: { country: Uint8Array.of(1) } }],
    ['breakdowns', { breakdowns: { city: {} } }],
    ['breakdowns', { breakdowns: { country: [] } }],
    ['breakdowns', { breakdowns: { country: { SE: -1 } } }],
    ['breakdowns', { breakdowns: { country: { SE: '1' } } }],
    ['breakdowns', { breakdowns: { browser: { constructor: 1 } } }],
    ['breakdowns', { breakdowns: { browser: { '!Firefox': 1 } } }],
  ])('rejects a malformed %s with a TypeError naming it: %p', (name, changes) => {
    const item = { ...stateToAttributes(STATE), ...changes };
    expect(() => stateFromAttributes(item)).toThrow(TypeError);
    expect(() => stateFromAttributes(item)).toThrow(new RegExp(`^${name}: `));
  });

  it('names the dimension and key of a bad breakdown count', () => {
    expect(() => stateFromAttributes({ ...stateToAttributes(STATE), breakdowns: { country: { SE: -1 } } })).toThrow(
      'breakdowns: country: SE: must be a non-negative safe integer',
    );
  });

  it('covers every breakdown dimension', () => {
    expect(Object.keys(stateToAttributes(STATE).breakdowns as object)).toEqual([...BREAKDOWN_DIMENSIONS]);
  });
});

describe('long tail of a breakdown', () => {
  /** A state whose referrer breakdown has `keys` hosts, host i seen i + 1 times. */
  function stateWithReferrers(keys: number, prefix = 'h'): AggregateState {
    const state = emptyState();
    for (let index = 0; index < keys; index++) state.breakdowns.referrer[`${prefix}${index}.example`] = index + 1;
    state.clicks = Object.values(state.breakdowns.referrer).reduce((sum, count) => sum + count, 0);
    return state;
  }
  const total = (record: Readonly<Record<string, number>>): number => Object.values(record).reduce((sum, count) => sum + count, 0);
  /** A host of about 250 characters, as in the referrer-spam report. */
  const spamHost = (index: number): string => `s${index}-${'a'.repeat(55)}.${'b'.repeat(62)}.${'c'.repeat(62)}.${'d'.repeat(55)}.example`;

  test('a breakdown within the bound is stored whole, with no foldedKeys attribute', () => {
    const state = stateWithReferrers(2_000);
    const attributes = stateToAttributes(state);
    const stored = stateFromAttributes(throughDynamoDb(attributes));
    expect(stored.breakdowns.referrer).toEqual({ ...state.breakdowns.referrer });
    expect(LONG_TAIL_KEY in stored.breakdowns.referrer).toBe(false);
    expect(attributes.foldedKeys).toBeUndefined();
    expect(stored.foldedKeys.referrer).toBe(0);
  });

  test('2,000 referrer hosts of 250 characters fold their smallest keys, and no click is lost', () => {
    const state = emptyState();
    for (let index = 0; index < 2_000; index++) state.breakdowns.referrer[spamHost(index)] = 1 + (index % 7);
    state.breakdowns.country.SE = total(state.breakdowns.referrer);
    state.clicks = total(state.breakdowns.referrer);
    const attributes = stateToAttributes(state);
    expect(itemBytes(attributes)).toBeLessThanOrEqual(MAX_STATE_BYTES);
    const stored = stateFromAttributes(throughDynamoDb(attributes));
    const referrers = stored.breakdowns.referrer;
    const kept = Object.keys(referrers).filter((key) => key !== LONG_TAIL_KEY);
    expect(total(referrers)).toBe(state.clicks);
    expect(kept.length + stored.foldedKeys.referrer).toBe(2_000);
    expect(stored.foldedKeys.referrer).toBeGreaterThan(0);
    // The kept keys are the largest: none kept has fewer clicks than one folded.
    const smallestKept = Math.min(...kept.map((key) => referrers[key]));
    const largestFolded = Math.max(...Object.entries(state.breakdowns.referrer).filter(([key]) => !(key in referrers)).map(([, count]) => count));
    expect(smallestKept).toBeGreaterThanOrEqual(largestFolded);
    // A small dimension is left whole.
    expect(stored.breakdowns.country).toEqual({ SE: state.clicks });
    expect(stored.foldedKeys.country).toBe(0);
  });

  test('tails and folded key counts of merged items add up, and a real "!" key is not the tail', () => {
    const first = stateFromAttributes(throughDynamoDb(stateToAttributes(stateWithReferrers(5_000, `${'a'.repeat(40)}-`))));
    const second = stateFromAttributes(throughDynamoDb(stateToAttributes(stateWithReferrers(6_000, `${'b'.repeat(40)}-`))));
    expect(first.foldedKeys.referrer).toBeGreaterThan(0);
    const merged = emptyState();
    mergeInto(merged, first);
    mergeInto(merged, second);
    expect(merged.foldedKeys.referrer).toBe(first.foldedKeys.referrer + second.foldedKeys.referrer);
    merged.breakdowns.referrer['!'] = 1_000_000;
    const stored = stateFromAttributes(throughDynamoDb(stateToAttributes(merged)));
    expect(total(stored.breakdowns.referrer)).toBe(total(merged.breakdowns.referrer));
    expect(stored.breakdowns.referrer[LONG_TAIL_KEY]).toBeGreaterThan(first.breakdowns.referrer[LONG_TAIL_KEY] + second.breakdowns.referrer[LONG_TAIL_KEY]);
    expect(stored.foldedKeys.referrer).toBeGreaterThan(merged.foldedKeys.referrer);
    expect(stored.breakdowns.referrer['!']).toBe(1_000_000);
  });

  test('a key longer than a DNS name is cut to MAX_BREAKDOWN_KEY_BYTES on a character boundary', () => {
    const state = stateOf([click({ referrer: 'é'.repeat(200), browser: `${'x'.repeat(252)}€` })]);
    const [referrer] = Object.keys(state.breakdowns.referrer);
    const [browser] = Object.keys(state.breakdowns.browser);
    expect(referrer).toBe('é'.repeat(126));
    expect(utf8Bytes(referrer)).toBe(252);
    expect(browser).toBe('x'.repeat(252));
  });

  test('a stored foldedKeys must name dimensions and hold counts', () => {
    const attributes = stateToAttributes(stateWithReferrers(3));
    expect(() => stateFromAttributes({ ...attributes, foldedKeys: { city: 1 } })).toThrow('foldedKeys: city is not one of');
    expect(() => stateFromAttributes({ ...attributes, foldedKeys: { referrer: -1 } })).toThrow('foldedKeys: referrer: must be a non-negative');
  });
});

describe('stored size, property-based', () => {
  /** Any Unicode key of 1 to MAX_BREAKDOWN_KEY_BYTES bytes, optionally padded towards the cap so items grow large quickly. */
  const breakdownKey = fc
    .tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }), fc.nat({ max: 250 }))
    .map(([text, padding]) => `${text}${'p'.repeat(padding)}`);
  const breakdownCounts = (maxKeys: number) =>
    fc.dictionary(breakdownKey, fc.integer({ min: 1, max: 1_000_000 }), { maxKeys, size: 'max' });
  const state = fc
    .record({
      referrer: breakdownCounts(2_500),
      country: breakdownCounts(300),
      device: breakdownCounts(50),
      browser: breakdownCounts(400),
      os: breakdownCounts(400),
      botClicks: fc.nat({ max: 1_000_000 }),
      visitors: fc.nat({ max: 3_000 }),
    })
    .map((generated) => {
      const generatedState = emptyState();
      const clicks = stateOf(Array.from({ length: generated.visitors }, (_, index) => click({ visitor: numberedVisitor(index) })));
      generatedState.visitors = clicks.visitors;
      for (const dimension of BREAKDOWN_DIMENSIONS) {
        // Keys as addClick would store them: cut to the cap.
        for (const [key, amount] of Object.entries(generated[dimension])) {
          const capped = truncateUtf8(key, MAX_BREAKDOWN_KEY_BYTES);
          if (capped !== '') generatedState.breakdowns[dimension][capped] = (generatedState.breakdowns[dimension][capped] ?? 0) + amount;
        }
      }
      generatedState.clicks = total(generatedState.breakdowns.referrer);
      generatedState.botClicks = generated.botClicks;
      return generatedState;
    });
  const total = (record: Readonly<Record<string, number>>): number => Object.values(record).reduce((sum, count) => sum + count, 0);

  test('every state is stored within MAX_STATE_BYTES, and keeps every count', () => {
    let foldingRuns = 0;
    fc.assert(
      fc.property(state, (generated) => {
        const attributes = stateToAttributes(generated);
        expect(itemBytes(attributes)).toBeLessThanOrEqual(MAX_STATE_BYTES);
        const stored = stateFromAttributes(throughDynamoDb(attributes));
        expect(stored.clicks).toBe(generated.clicks);
        expect(stored.botClicks).toBe(generated.botClicks);
        expect(stored.visitors.estimate()).toBe(generated.visitors.estimate());
        for (const dimension of BREAKDOWN_DIMENSIONS) {
          const before = generated.breakdowns[dimension];
          const after = stored.breakdowns[dimension];
          expect(total(after)).toBe(total(before));
          // Every key is either kept with its count or counted among the folded ones.
          const kept = Object.keys(after).filter((key) => key !== LONG_TAIL_KEY);
          for (const key of kept) expect(after[key]).toBe(before[key]);
          expect(kept.length + stored.foldedKeys[dimension]).toBe(Object.keys(before).length);
        }
        if (stored.foldedKeys.referrer > 0) foldingRuns += 1;
      }),
      // No shrinking: states of thousands of keys shrink for minutes, and the first failing one says enough.
      { numRuns: 40, endOnFailure: true },
    );
    // The generator reaches the bound: the property is about states that must fold, not only small ones.
    expect(foldingRuns).toBeGreaterThan(5);
  });
});
