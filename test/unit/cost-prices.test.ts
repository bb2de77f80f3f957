import { FREE_BY_RULE, MISSING_PRICES, PRICES, type ListPrice, type PriceKey, unitPrice } from '../../bench/cost/prices';

const AWS_HOSTS = ['aws.amazon.com', 'docs.aws.amazon.com'];

function isAwsHttpsUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  return url.protocol === 'https:' && AWS_HOSTS.includes(url.hostname);
}

const entries = Object.entries(PRICES) as [PriceKey, ListPrice][];

describe('the price table', () => {
  it('has entries', () => {
    expect(entries.length).toBeGreaterThan(0);
  });

  it.each(entries)('%s has a positive value, a unit, an AWS https source and a date', (key, price) => {
    expect(Number.isFinite(price.value)).toBe(true);
    expect(price.value).toBeGreaterThan(0);
    expect(Number.isInteger(price.per)).toBe(true);
    expect(price.per).toBeGreaterThan(0);
    expect(price.unit.trim()).not.toBe('');
    expect(price.item.trim()).not.toBe('');
    expect(price.note.trim()).not.toBe('');
    expect(isAwsHttpsUrl(price.source)).toBe(true);
    expect(price.checked).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(Number.isNaN(Date.parse(price.checked))).toBe(false);
    expect(unitPrice(key)).toBeCloseTo(price.value / price.per, 15);
  });

  it.each(entries)('%s names where an unverified figure was read, or says it was not read anywhere', (_key, price) => {
    if (price.seenAt !== undefined) {
      expect(price.unverified).toBe(true);
      expect(new URL(price.seenAt).protocol).toBe('https:');
    }
  });

  it('keeps an AWS https source for every free-by-rule fact and every missing price', () => {
    for (const fact of [...FREE_BY_RULE, ...MISSING_PRICES]) {
      expect(isAwsHttpsUrl(fact.source)).toBe(true);
      expect(fact.note.trim()).not.toBe('');
    }
  });
});
