/** GeoIP adapters: country of a network prefix from the bundled DB-IP database or an operator's MaxMind one. */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { AddressNotFoundError, Reader as GeoIp2Reader } from '@maxmind/geoip2-node';
import { type CountryResponse, Reader as MmdbReader } from 'mmdb-lib';
import type { CountryLookup } from '../domain/enrich';

export type GeoDatabaseType = 'dbip-country' | 'maxmind';

/**
 * Record of the @ip-location-db country databases (not the GeoIP2 schema, so geoip2-node refuses them).
 * mmdb-lib only accepts GeoIP2 record types, all of whose fields are optional: extending one satisfies it.
 */
interface DbIpCountryRecord extends CountryResponse {
  readonly country_code?: string;
}

function openDbIpCountry(buffer: Buffer): CountryLookup {
  const reader = new MmdbReader<DbIpCountryRecord>(buffer);
  return (ipPrefix) => reader.get(ipPrefix)?.country_code ?? null;
}

function openMaxMind(buffer: Buffer, path: string): CountryLookup {
  // geoip2-node keeps its reader's metadata private: read the type from the same buffer with mmdb-lib.
  const { databaseType } = new MmdbReader(buffer).metadata;
  const reader = GeoIp2Reader.openBuffer(buffer);
  // geoip2-node only allows the method matching the database type (GeoIP2-City, GeoLite2-Country, ...).
  const lookup = databaseType.includes('City')
    ? (ip: string) => reader.city(ip).country?.isoCode
    : databaseType.includes('Country')
      ? (ip: string) => reader.country(ip).country?.isoCode
      : null;
  if (lookup === null) throw new Error(`GeoIP database ${path} is a ${databaseType} database, which has no countries.`);
  return (ipPrefix) => {
    try {
      return lookup(ipPrefix) ?? null;
    } catch (error) {
      if (error instanceof AddressNotFoundError) return null;
      throw error;
    }
  };
}

/** Loads the whole database into memory once (a cold start cost) and answers lookups synchronously. */
export function openCountryLookup(path: string, type: GeoDatabaseType): CountryLookup {
  const buffer = readFileSync(path);
  return type === 'dbip-country' ? openDbIpCountry(buffer) : openMaxMind(buffer, path);
}

/** Relative database paths are relative to the function's code (LAMBDA_TASK_ROOT), or the working directory locally. */
export function resolveGeoDatabasePath(value: string): string {
  if (value.trim() === '') throw new Error('GEOIP_DATABASE must name a database file.');
  return isAbsolute(value) ? value : resolve(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), value);
}
