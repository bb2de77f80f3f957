/**
 * Client addresses: which one to trust, and the network prefix that is all that leaves the redirect.
 * Parsed by hand (not node:net) so the domain stays plain TypeScript and can canonicalise IPv6.
 */

const IPV4_OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;
const IPV6_GROUPS = 8;
/** Groups kept by the /48 prefix. */
const IPV6_PREFIX_GROUPS = 3;

/** The four octets of a dotted quad in canonical form (no leading zeros), or null. */
export function parseIpv4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((part) => IPV4_OCTET.test(part))) return null;
  return parts.map(Number);
}

function parseGroups(text: string): number[] | null {
  if (text === '') return [];
  const parts = text.split(':');
  if (!parts.every((part) => IPV6_GROUP.test(part))) return null;
  return parts.map((part) => parseInt(part, 16));
}

/** The eight 16-bit groups of an IPv6 address (with an optional dotted IPv4 tail), or null. */
export function parseIpv6(text: string): number[] | null {
  let head = text;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.includes('.', lastColon)) {
    const ipv4 = parseIpv4(text.slice(lastColon + 1));
    if (ipv4 === null) return null;
    tail.push((ipv4[0] << 8) | ipv4[1], (ipv4[2] << 8) | ipv4[3]);
    // Keep the colon so "::1.2.3.4" leaves "::" and "a:b::c:1.2.3.4" leaves "a:b::c:" (trimmed below).
    head = text.slice(0, lastColon + 1);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const halves = head.split('::');
  if (halves.length > 2) return null;
  const left = parseGroups(halves[0]);
  if (left === null) return null;
  if (halves.length === 1) {
    const groups = [...left, ...tail];
    return groups.length === IPV6_GROUPS ? groups : null;
  }
  const right = parseGroups(halves[1]);
  if (right === null) return null;
  const missing = IPV6_GROUPS - left.length - right.length - tail.length;
  if (missing < 1) return null;
  return [...left, ...new Array<number>(missing).fill(0), ...right, ...tail];
}

/** RFC 5952 text form: lower-case, no leading zeros, the longest run (>= 2) of zero groups as "::". */
function formatIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < groups.length; start++) {
    let length = 0;
    while (start + length < groups.length && groups[start + length] === 0) length++;
    if (length > bestLength) {
      bestStart = start;
      bestLength = length;
    }
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

function isIpv4Mapped(groups: readonly number[]): boolean {
  return groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
}

function isIp(text: string): boolean {
  return parseIpv4(text) !== null || parseIpv6(text) !== null;
}

/**
 * The viewer's address as CloudFront saw it, when present and valid, else the address API
 * Gateway saw. `true-client-ip` is set by the stack's viewer-request function from
 * `event.viewer.ip`, after it deletes any value the viewer sent.
 */
export function clientIp(headers: Readonly<Record<string, string | undefined>>, sourceIp: string): string {
  const viewer = headers['true-client-ip']?.trim();
  return viewer && isIp(viewer) ? viewer : sourceIp;
}

/** Network address of the /24 (IPv4) or /48 (IPv6) holding ip, or null when ip is not an address. */
export function networkPrefix(ip: string): string | null {
  const ipv4 = parseIpv4(ip);
  if (ipv4 !== null) return `${ipv4[0]}.${ipv4[1]}.${ipv4[2]}.0`;
  const groups = parseIpv6(ip);
  if (groups === null) return null;
  if (isIpv4Mapped(groups)) return `${groups[6] >> 8}.${groups[6] & 0xff}.${groups[7] >> 8}.0`;
  return formatIpv6([...groups.slice(0, IPV6_PREFIX_GROUPS), ...new Array<number>(IPV6_GROUPS - IPV6_PREFIX_GROUPS).fill(0)]);
}
