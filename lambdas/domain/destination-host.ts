/**
 * Whether a link's destination host is a public one, by its syntax alone.
 *
 * Anyone can make a short link's visitors, link-preview fetchers and crawlers request its destination,
 * so by default a destination may not be an address or a name that only means something inside a
 * network: loopback, private, link-local, cloud metadata, multicast and the other special-purpose
 * blocks that are not globally reachable (RFC 6890 and the IANA IPv4 and IPv6 Special-Purpose Address
 * Registries), and the special-use names of RFC 6761 (localhost, invalid), RFC 6762 (.local),
 * RFC 8375 (home.arpa) and ICANN's private-use .internal, plus single-label (intranet) names.
 *
 * Syntax only: a public name that resolves to a private address (nip.io and the like) passes here;
 * catching it needs resolution at redirect time.
 *
 * The input is a hostname as WHATWG URL serialises it: IPv4 as a dotted quad whatever form was
 * written (2130706433, 0x7f.1, 0177.0.0.1), IPv6 compressed and in brackets, names in lower-case
 * punycode, a trailing dot kept.
 */

import { parseIpv4, parseIpv6 } from './client-ip';

interface SpecialBlock {
  readonly cidr: string;
  /** What the block is, for the client's error message. */
  readonly name: string;
}

const SPECIAL_IPV4_BLOCKS: readonly SpecialBlock[] = [
  { cidr: '0.0.0.0/8', name: '"this network", with the unspecified address' },
  { cidr: '10.0.0.0/8', name: 'private' },
  { cidr: '100.64.0.0/10', name: 'shared address space: carrier-grade NAT, cloud metadata such as 100.100.100.200' },
  { cidr: '127.0.0.0/8', name: 'loopback' },
  { cidr: '169.254.0.0/16', name: 'link-local, cloud metadata such as 169.254.169.254' },
  { cidr: '172.16.0.0/12', name: 'private' },
  { cidr: '192.0.0.0/24', name: 'IETF protocol assignments' },
  { cidr: '192.168.0.0/16', name: 'private' },
  { cidr: '198.18.0.0/15', name: 'benchmarking' },
  { cidr: '224.0.0.0/4', name: 'multicast' },
  { cidr: '240.0.0.0/4', name: 'reserved, with the broadcast address 255.255.255.255' },
];

const SPECIAL_IPV6_BLOCKS: readonly SpecialBlock[] = [
  { cidr: '::/128', name: 'the unspecified address' },
  { cidr: '::1/128', name: 'loopback' },
  { cidr: 'fc00::/7', name: 'unique local, cloud metadata such as fd00:ec2::254' },
  { cidr: 'fe80::/10', name: 'link-local' },
  { cidr: 'fec0::/10', name: 'site-local' },
  { cidr: 'ff00::/8', name: 'multicast' },
];

/** IPv6 blocks that carry an IPv4 address: they reach whatever that address is, so they are judged by it. */
interface EmbeddingBlock extends SpecialBlock {
  /** Index of the first of the two 16-bit groups holding the IPv4 address. */
  readonly at: number;
}

const IPV4_EMBEDDING_BLOCKS: readonly EmbeddingBlock[] = [
  { cidr: '::ffff:0:0/96', name: 'IPv4-mapped', at: 6 },
  { cidr: '::/96', name: 'IPv4-compatible', at: 6 },
  { cidr: '64:ff9b::/96', name: 'NAT64', at: 6 },
  { cidr: '2002::/16', name: '6to4', at: 1 },
];

interface SpecialName {
  /** The name itself and every name under it. */
  readonly suffix: string;
  readonly name: string;
}

const SPECIAL_NAMES: readonly SpecialName[] = [
  { suffix: 'localhost', name: 'a loopback name (RFC 6761)' },
  { suffix: 'local', name: 'a multicast DNS name, resolved on the local link only (RFC 6762)' },
  { suffix: 'internal', name: 'a private-use name under .internal (cloud metadata: metadata.google.internal)' },
  { suffix: 'home.arpa', name: 'a home network name (RFC 8375)' },
  { suffix: 'invalid', name: 'a name that never resolves (RFC 6761)' },
];

/** A canonical dotted quad as a 32-bit number; null for anything else. */
function ipv4Number(text: string): number | null {
  const octets = parseIpv4(text);
  return octets === null ? null : octets.reduce((value, octet) => value * 256 + octet, 0);
}

function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join('.');
}

function splitCidr(cidr: string): { readonly base: string; readonly bits: number } {
  const [base, bits] = cidr.split('/');
  return { base, bits: Number(bits) };
}

function inIpv4Block(address: number, cidr: string): boolean {
  const { base, bits } = splitCidr(cidr);
  const shift = 32 - bits;
  // Division rather than >>>, which cannot shift by 32.
  return Math.floor(address / 2 ** shift) === Math.floor((ipv4Number(base) ?? 0) / 2 ** shift);
}

function inIpv6Block(groups: readonly number[], cidr: string): boolean {
  const { base, bits } = splitCidr(cidr);
  const prefix = parseIpv6(base) ?? [];
  return groups.every((group, index) => {
    const bitsHere = Math.min(Math.max(bits - 16 * index, 0), 16);
    const mask = (0xffff << (16 - bitsHere)) & 0xffff;
    return (group & mask) === (prefix[index] & mask);
  });
}

function ipv4Reason(address: number): string | null {
  const block = SPECIAL_IPV4_BLOCKS.find(({ cidr }) => inIpv4Block(address, cidr));
  return block === undefined ? null : `${formatIpv4(address)} is in ${block.cidr} (${block.name})`;
}

function ipv6Reason(groups: readonly number[], written: string): string | null {
  // Before the embedding blocks: :: and ::1 are also in ::/96, but are better named for what they are.
  const special = SPECIAL_IPV6_BLOCKS.find(({ cidr }) => inIpv6Block(groups, cidr));
  if (special !== undefined) return `[${written}] is in ${special.cidr} (${special.name})`;
  for (const embedding of IPV4_EMBEDDING_BLOCKS) {
    if (!inIpv6Block(groups, embedding.cidr)) continue;
    const reason = ipv4Reason(groups[embedding.at] * 0x10000 + groups[embedding.at + 1]);
    return reason === null ? null : `[${written}] is ${embedding.name} (${embedding.cidr}) and ${reason}`;
  }
  return null;
}

function nameReason(name: string): string | null {
  const special = SPECIAL_NAMES.find(({ suffix }) => name === suffix || name.endsWith(`.${suffix}`));
  if (special !== undefined) return `${name} is ${special.name}`;
  if (!name.includes('.')) return `${name || 'the empty name'} is a single-label name, which only resolves inside a network`;
  return null;
}

/** Why the host is not a public destination (which rule, for the client), or null when it is. */
export function nonPublicHostReason(hostname: string): string | null {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (host.startsWith('[') && host.endsWith(']')) {
    const written = host.slice(1, -1);
    const groups = parseIpv6(written);
    // Not an address the URL parser would produce: nothing to judge it as, so it is not let through.
    return groups === null ? `[${written}] is not an IPv6 address` : ipv6Reason(groups, written);
  }
  const ipv4 = ipv4Number(host);
  if (ipv4 !== null) return ipv4Reason(ipv4);
  // Digits and dots the URL parser would have written as a canonical dotted quad: as with brackets, not let through.
  if (/^[\d.]+$/.test(host)) return `${host} is not an IPv4 address`;
  return nameReason(host);
}
