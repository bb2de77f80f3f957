/**
 * The links the redirect follows, behind the cache, one per table and TTL for the process: the
 * origin redirect and the edge log consumer read a link's owner the same way.
 */
import { findLink, type Link } from '../tables/links';
import { getOrCreate } from './get-or-create';
import { CachedLinkLookup } from './link-cache';

const linkLookups = new Map<string, CachedLinkLookup<Link>>();

export const followedLinks = (config: { readonly linksTableName: string; readonly linkCacheTtlSeconds: number }): CachedLinkLookup<Link> =>
  getOrCreate(
    linkLookups,
    `${config.linksTableName}|${config.linkCacheTtlSeconds}`,
    () => new CachedLinkLookup((code) => findLink(config.linksTableName, code), config.linkCacheTtlSeconds),
  );
