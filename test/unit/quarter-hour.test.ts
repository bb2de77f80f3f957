import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { stateToAttributes } from '../../lambdas/domain/aggregate-state';
import type { RawClick } from '../../lambdas/domain/click';
import {
  applyGroup,
  compareSequenceNumbers,
  groupByTargetQuarter,
  type QuarterHourGroup,
  type QuarterHourItem,
  type StreamedClick,
} from '../../lambdas/domain/quarter-hour';
import { parseQuarterHourItem, quarterHourSlot, slotRange, toQuarterHourAttributes } from '../../lambdas/tables/quarter-hour';
import { numberedEventId, numberedVisitor, rawClick } from '../fixtures/clicks';

const WRITER = 'shardId-00000001764130000000-0123abcd';
const QUARTER = '2026-11-26T05:00';

/** A click with its own event id and visitor; n doubles as its sequence number unless one is given. */
function streamed(n: number, changes: Partial<RawClick> = {}, sequenceNumber = String(n)): StreamedClick {
  return { click: rawClick({ eventId: numberedEventId(n), visitor: numberedVisitor(n), ts: '2026-11-26T05:10:00.000Z', ...changes }), sequenceNumber };
}

const group = (clicks: readonly StreamedClick[], target = 'link#abc123', quarter = QUARTER): QuarterHourGroup => ({ target, quarter, clicks });
const range = (first: number, last: number): StreamedClick[] => Array.from({ length: last - first + 1 }, (_, i) => streamed(first + i));
const padded = (sequenceNumber: string): string => sequenceNumber.padStart(40, '0');

/** Applies groups one after another, as successive invocations would, keeping the last item written. */
function applyAll(groups: readonly QuarterHourGroup[], start: QuarterHourItem | null = null): QuarterHourItem | null {
  let item = start;
  for (const each of groups) item = applyGroup(item, each, WRITER) ?? item;
  return item;
}

const counts = (item: QuarterHourItem | null): unknown =>
  item && { clicks: item.state.clicks, botClicks: item.state.botClicks, uniques: item.state.visitors.estimate(), watermark: item.watermark };

describe('compareSequenceNumbers', () => {
  it.each([
    ['9', '10', -1],
    ['10', '9', 1],
    ['42', '0042', 0],
    ['99999999999999999999', '100000000000000000000', -1],
    ['1'.repeat(40), '9'.repeat(39), 1],
    ['123456789012345678901234567890', '123456789012345678901234567891', -1],
    ['4421584500000000017450439091', '4421584500000000017450439091', 0],
  ])('%s vs %s', (a, b, expected) => {
    expect(Math.sign(compareSequenceNumbers(a, b))).toBe(expected);
  });

  it.each(['', '-1', '1e5', '12a', ' 1', '1.0', '1'.repeat(41)])('throws RangeError on %p', (bad) => {
    expect(() => compareSequenceNumbers(bad, '1')).toThrow(RangeError);
    expect(() => compareSequenceNumbers('1', bad)).toThrow(RangeError);
  });
});

describe('groupByTargetQuarter', () => {
  it('returns nothing for no clicks', () => {
    expect(groupByTargetQuarter([])).toEqual([]);
  });

  it('puts every click in a group of its link and one of its owner, per quarter, in order of first appearance', () => {
    const a1 = streamed(1, { code: 'a', owner: 'team', ts: '2026-11-26T05:14:59.999Z' });
    const b1 = streamed(2, { code: 'b', owner: 'team', ts: '2026-11-26T05:01:00.000Z' });
    const a2 = streamed(3, { code: 'a', owner: 'team', ts: '2026-11-26T05:15:00.000Z' });
    const c1 = streamed(4, { code: 'c', owner: 'other', ts: '2026-11-26T05:05:00.000Z', bot: true, botReason: 'user-agent' });
    const a3 = streamed(5, { code: 'a', owner: 'team', ts: '2026-11-26T05:00:00.000Z' });
    expect(groupByTargetQuarter([a1, b1, a2, c1, a3])).toEqual([
      { target: 'link#a', quarter: '2026-11-26T05:00', clicks: [a1, a3] },
      { target: 'owner#team', quarter: '2026-11-26T05:00', clicks: [a1, b1, a3] },
      { target: 'link#b', quarter: '2026-11-26T05:00', clicks: [b1] },
      { target: 'link#a', quarter: '2026-11-26T05:15', clicks: [a2] },
      { target: 'owner#team', quarter: '2026-11-26T05:15', clicks: [a2] },
      { target: 'link#c', quarter: '2026-11-26T05:00', clicks: [c1] },
      { target: 'owner#other', quarter: '2026-11-26T05:00', clicks: [c1] },
    ]);
  });
});

describe('applyGroup', () => {
  it('makes a new item of the writer from the clicks of a group', () => {
    const item = applyGroup(
      null,
      group([streamed(7), streamed(8, { visitor: numberedVisitor(7) }), streamed(9, { bot: true, botReason: 'prefetch' })]),
      WRITER,
    );
    expect(item).toMatchObject({ target: 'link#abc123', quarter: QUARTER, writer: WRITER, watermark: padded('9') });
    expect(counts(item)).toEqual({ clicks: 2, botClicks: 1, uniques: 1, watermark: padded('9') });
    expect(item?.state.breakdowns.country).toEqual({ SE: 2 });
    // 90 days after the quarter starts.
    expect(item?.expiresAt).toBe(Date.parse('2027-02-24T05:00:00Z') / 1000);
  });

  it('returns null for a group without clicks', () => {
    expect(applyGroup(null, group([]), WRITER)).toBeNull();
  });

  it('applies nothing twice when a batch is retried', () => {
    const batch = group(range(1, 5));
    const first = applyGroup(null, batch, WRITER);
    expect(counts(first)).toEqual({ clicks: 5, botClicks: 0, uniques: 5, watermark: padded('5') });
    expect(applyGroup(first, batch, WRITER)).toBeNull();
  });

  it('applies nothing twice when a fully applied batch comes back bisected', () => {
    const whole = applyGroup(null, group(range(1, 6)), WRITER);
    expect(applyGroup(whole, group(range(1, 3)), WRITER)).toBeNull();
    expect(applyGroup(whole, group(range(4, 6)), WRITER)).toBeNull();
  });

  it('completes a batch that was applied in part before a crash, then bisected', () => {
    const beforeCrash = applyGroup(null, group(range(1, 4)), WRITER);
    const afterRetries = applyAll([group(range(1, 3)), group(range(4, 8))], beforeCrash);
    expect(counts(afterRetries)).toEqual(counts(applyGroup(null, group(range(1, 8)), WRITER)));
    expect(counts(afterRetries)).toEqual({ clicks: 8, botClicks: 0, uniques: 8, watermark: padded('8') });
  });

  it('applies only the part of a batch above the watermark when batches overlap', () => {
    const existing = applyGroup(null, group(range(1, 5)), WRITER);
    const next = applyGroup(existing, group(range(3, 9)), WRITER);
    expect(counts(next)).toEqual({ clicks: 9, botClicks: 0, uniques: 9, watermark: padded('9') });
  });

  it('compares sequence numbers of different lengths as numbers', () => {
    const existing = applyGroup(null, group([streamed(1, {}, '9')]), WRITER);
    const next = applyGroup(existing, group([streamed(2, {}, '10'), streamed(3, {}, '100000000000000000000000000000000000000')]), WRITER);
    expect(counts(next)).toEqual({ clicks: 3, botClicks: 0, uniques: 3, watermark: '0100000000000000000000000000000000000000' });
    expect(applyGroup(next, group([streamed(4, {}, '99999999999999999999999999999999999999')]), WRITER)).toBeNull();
  });

  it('takes the highest sequence number as the watermark whatever the order, and a repeated record once', () => {
    const item = applyGroup(null, group([streamed(3), streamed(1), streamed(2), streamed(3)]), WRITER);
    expect(counts(item)).toEqual({ clicks: 3, botClicks: 0, uniques: 3, watermark: padded('3') });
  });

  it('accepts the watermark as stored, zero-padded', () => {
    const stored = parseQuarterHourItem(unmarshall(marshall(toQuarterHourAttributes(applyGroup(null, group(range(1, 5)), WRITER)!))));
    expect(stored.watermark).toBe(padded('5'));
    expect(counts(applyGroup(stored, group(range(1, 6)), WRITER))).toEqual({ clicks: 6, botClicks: 0, uniques: 6, watermark: padded('6') });
  });

  it('leaves the existing item unchanged', () => {
    const existing = applyGroup(null, group(range(1, 2)), WRITER)!;
    const before = counts(existing);
    applyGroup(existing, group(range(3, 4)), WRITER);
    expect(counts(existing)).toEqual(before);
    expect(existing.state.breakdowns.country).toEqual({ SE: 2 });
  });

  it.each([
    ['another writer', 'link#abc123', QUARTER, 'shardId-other'],
    ['another target', 'owner#owner-1', QUARTER, WRITER],
    ['another quarter', 'link#abc123', '2026-11-26T05:15', WRITER],
  ])('throws when the existing item is of %s', (_, target, quarter, writer) => {
    const existing = { ...applyGroup(null, group(range(1, 2)), WRITER)!, target, quarter, writer };
    expect(() => applyGroup(existing, group(range(3, 4)), WRITER)).toThrow(Error);
  });
});

describe('slots', () => {
  it('sorts an item under its quarter and writer', () => {
    expect(quarterHourSlot(QUARTER, WRITER)).toBe(`2026-11-26T05:00#${WRITER}`);
  });

  it('covers every writer of the quarters in range, and nothing outside it', () => {
    const { first, last } = slotRange('2026-11-26T05:00', '2026-11-26T06:00');
    const inside = (slot: string): boolean => first <= slot && slot <= last;
    for (const writer of [WRITER, '0', '~~~', 'shardId-99999999999999999999-ffffffff']) {
      expect(inside(quarterHourSlot('2026-11-26T05:00', writer))).toBe(true);
      expect(inside(quarterHourSlot('2026-11-26T05:30', writer))).toBe(true);
      expect(inside(quarterHourSlot('2026-11-26T06:00', writer))).toBe(true);
      expect(inside(quarterHourSlot('2026-11-26T04:45', writer))).toBe(false);
      expect(inside(quarterHourSlot('2026-11-26T06:15', writer))).toBe(false);
    }
  });

  it('takes a single quarter', () => {
    const { first, last } = slotRange(QUARTER, QUARTER);
    expect(first <= quarterHourSlot(QUARTER, WRITER) && quarterHourSlot(QUARTER, WRITER) <= last).toBe(true);
  });

  it('throws RangeError on a malformed quarter or a reversed range', () => {
    expect(() => slotRange('2026-11-26T05:10', QUARTER)).toThrow(RangeError);
    expect(() => slotRange('2026-11-26T05:15', QUARTER)).toThrow(RangeError);
  });
});

describe('quarter-hour attributes', () => {
  const ITEM = applyGroup(null, group([streamed(41, { referrer: 'twitter.com' }), streamed(42, { bot: true, botReason: 'head-request' })]), WRITER)!;

  it('writes the keys, the zero-padded watermark, the TTL and the state', () => {
    expect(toQuarterHourAttributes(ITEM)).toEqual({
      target: 'link#abc123',
      slot: `${QUARTER}#${WRITER}`,
      quarter: QUARTER,
      writer: WRITER,
      watermark: padded('42'),
      expiresAt: ITEM.expiresAt,
      ...stateToAttributes(ITEM.state),
    });
  });

  it('round-trips through DynamoDB', () => {
    const read = parseQuarterHourItem(unmarshall(marshall(toQuarterHourAttributes(ITEM))));
    expect(toQuarterHourAttributes(read)).toEqual(toQuarterHourAttributes(ITEM));
    expect(counts(read)).toEqual({ clicks: 1, botClicks: 1, uniques: 1, watermark: padded('42') });
  });

  it.each([
    ['target', { target: undefined }],
    ['target', { target: '' }],
    ['quarter', { quarter: '2026-11-26T05:10' }],
    ['writer', { writer: 7 }],
    ['slot', { slot: `2026-11-26T05:15#${WRITER}` }],
    ['watermark', { watermark: '42' }],
    ['watermark', { watermark: 42 }],
    ['expiresAt', { expiresAt: -1 }],
    ['clicks', { clicks: '1' }],
    ['visitors', { visitors: undefined }],
  ])('rejects a malformed %s with a TypeError naming it: %p', (name, changes) => {
    const item = { ...toQuarterHourAttributes(ITEM), ...changes };
    expect(() => parseQuarterHourItem(item)).toThrow(TypeError);
    expect(() => parseQuarterHourItem(item)).toThrow(new RegExp(`^${name}: `));
  });
});
