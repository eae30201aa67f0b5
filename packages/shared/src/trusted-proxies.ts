/**
 * Which peers may tell us who the client is. A proxy in front of a service (nginx, a CDN, the
 * site's own /hls proxy) hides the client's address behind its own and reports it in
 * `X-Forwarded-For`; anyone else can write that header too. So a forwarded address is believed
 * only from a peer on the configured list (`ONAIR_TRUSTED_PROXIES`: comma-separated IPs and
 * CIDR blocks, IPv4 or IPv6, or `loopback`; empty by default), and every service applies this one
 * rule: the web's sign-in throttle and CSRF check, the transcoder's HLS viewer count, the ingest.
 *
 * The client is found by walking `X-Forwarded-For` from the right (each proxy appends the address
 * it received the request from): while the hop we are looking at is trusted, step one entry to
 * the left; the first untrusted hop is the client. Entries a client wrote itself sit to the left
 * of the address its first trusted proxy appended, so they are never reached. A malformed entry
 * stops the walk at the trusted hop that delivered it.
 *
 * Addresses are compared as 16 bytes: IPv4 as IPv4-mapped IPv6 (`::ffff:a.b.c.d`, RFC 4291
 * §2.5.5.2), so `10.0.0.0/8` matches a dual-stack socket's `::ffff:10.0.0.1`. Pure: no `node:`
 * import (the parser is hand-written; see trusted-proxies.test.ts for the table and the fuzz).
 */

/** 16 bytes of an IPv6 address (IPv4 as IPv4-mapped). */
type Address = Uint8Array;

interface Block {
  address: Address;
  /** Prefix length in bits of the 128-bit form. */
  bits: number;
}

/** Named sets usable in the list. */
const NAMED: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
};

/** Longest text parsed as an address or a list entry (an IPv6 with zone and port is < 64). */
const MAX_ADDRESS_CHARS = 64;
/** Most `X-Forwarded-For` entries looked at (a chain of real proxies is a handful). */
export const MAX_FORWARDED_HOPS = 32;

/** Parses `a.b.c.d` into 4 bytes, or null. Decimal octets only, no leading zeros (RFC 6943 §3.1.1). */
function parseIpv4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes.push(value);
  }
  return bytes;
}

/** Parses an IPv6 address (RFC 4291 §2.2 text forms, an embedded IPv4 tail, no zone) into 16 bytes, or null. */
function parseIpv6(text: string): Address | null {
  if (text.length < 2 || !/^[0-9a-fA-F:.]+$/.test(text)) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (part: string, last: boolean): number[] | null => {
    if (part === '') return [];
    const groups: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (piece.includes('.')) {
        // An IPv4 tail ends the address (`::ffff:1.2.3.4`), nowhere else.
        if (!last || i !== pieces.length - 1) return null;
        const v4 = parseIpv4(piece);
        if (!v4) return null;
        groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return null;
        groups.push(parseInt(piece, 16));
      }
    }
    return groups;
  };
  const head = groupsOf(halves[0]!, halves.length === 1);
  const tail = halves.length === 2 ? groupsOf(halves[1]!, true) : [];
  if (!head || !tail) return null;
  const total = head.length + tail.length;
  if (halves.length === 2 ? total > 7 : total !== 8) return null;
  const groups = [...head, ...new Array<number>(8 - total).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[i * 2] = group >> 8;
    bytes[i * 2 + 1] = group & 0xff;
  });
  return bytes;
}

/** An IPv4 or IPv6 address as 16 bytes, or null. Accepts a zone (`fe80::1%eth0`, ignored). */
export function parseIp(text: string): Address | null {
  if (text.length === 0 || text.length > MAX_ADDRESS_CHARS) return null;
  const v4 = parseIpv4(text);
  if (v4) return Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4]);
  const zone = text.indexOf('%');
  return parseIpv6(zone >= 0 ? text.slice(0, zone) : text);
}

function isMappedV4(address: Address): boolean {
  for (let i = 0; i < 10; i++) if (address[i] !== 0) return false;
  return address[10] === 0xff && address[11] === 0xff;
}

/** The canonical text of an address: dotted IPv4 for IPv4 (mapped or not), RFC 5952 IPv6 otherwise. */
export function formatIp(address: Address): string {
  if (isMappedV4(address)) return `${address[12]}.${address[13]}.${address[14]}.${address[15]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((address[i]! << 8) | address[i + 1]!);
  // RFC 5952 §4.2: the longest run of two or more zero groups becomes "::" (the first, on a tie).
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** The canonical text of an address given as text (`::ffff:10.0.0.1` → `10.0.0.1`), or null if it is not one. */
export function normalizeIp(text: string): string | null {
  const address = parseIp(text);
  return address ? formatIp(address) : null;
}

function parseBlock(text: string): Block | null {
  const slash = text.indexOf('/');
  const addressText = slash >= 0 ? text.slice(0, slash) : text;
  const address = parseIp(addressText);
  if (!address || addressText.includes('%')) return null;
  const v4 = parseIpv4(addressText) !== null;
  let bits = 128;
  if (slash >= 0) {
    const prefix = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefix)) return null;
    const length = Number(prefix);
    if (length > (v4 ? 32 : 128)) return null;
    bits = v4 ? 96 + length : length;
  }
  return { address, bits };
}

function inBlock(address: Address, block: Block): boolean {
  const whole = block.bits >> 3;
  for (let i = 0; i < whole; i++) if (address[i] !== block.address[i]) return false;
  const rest = block.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (address[whole]! & mask) === (block.address[whole]! & mask);
}

/** A parsed `ONAIR_TRUSTED_PROXIES`. */
export class TrustedProxies {
  /** Trusts nobody: forwarded headers are ignored (the default). */
  static readonly none = new TrustedProxies([], []);

  private constructor(
    private readonly blocks: readonly Block[],
    /** The list as configured, for logs. */
    readonly entries: readonly string[],
  ) {}

  /**
   * Parses a comma-separated list of IPs, CIDR blocks and `loopback`. Empty or undefined → trust
   * nobody. Throws a RangeError naming every entry it cannot read.
   */
  static parse(spec: string | undefined): TrustedProxies {
    const entries = (spec ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean);
    const blocks: Block[] = [];
    const problems: string[] = [];
    for (const entry of entries) {
      const texts = NAMED[entry.toLowerCase()] ?? [entry];
      for (const text of texts) {
        const block = parseBlock(text);
        if (block) blocks.push(block);
        else problems.push(`"${entry.slice(0, MAX_ADDRESS_CHARS)}" is not an IP address, a CIDR block (10.0.0.0/8, 2001:db8::/32) or "loopback"`);
      }
    }
    if (problems.length > 0) throw new RangeError(problems.join('; '));
    return new TrustedProxies(blocks, entries);
  }

  /** Whether anything is trusted at all. */
  get isEmpty(): boolean {
    return this.blocks.length === 0;
  }

  /** Whether `address` (text, any form; a zone is ignored) is a trusted proxy. */
  trusts(address: string | undefined): boolean {
    if (!address || this.blocks.length === 0) return false;
    const parsed = parseIp(address);
    return parsed !== null && this.blocks.some((block) => inBlock(parsed, block));
  }

  /**
   * The client's address (canonical text) for a request from `peer` (the socket's address)
   * carrying `forwardedFor` (every `X-Forwarded-For` value, in order). Without a trusted peer
   * the header is ignored and the peer is the client. '' when the peer is unknown.
   * `peerTrusted` overrides the list for the peer itself (a proxy that proved itself otherwise,
   * e.g. the site's own /hls proxy by a key); hops further along are still checked against it.
   */
  clientAddress(peer: string | undefined, forwardedFor: string | readonly string[] | null | undefined, peerTrusted = this.trusts(peer)): string {
    const peerText = peer ? (normalizeIp(peer) ?? peer.slice(0, MAX_ADDRESS_CHARS)) : '';
    if (!peer || forwardedFor === undefined || forwardedFor === null || !peerTrusted) return peerText;
    const hops = splitForwardedFor(forwardedFor);
    let client = peerText;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = forwardedHop(hops[i]!);
      if (hop === null) return client;
      client = hop;
      if (!this.trusts(hop)) return client;
    }
    return client;
  }
}

/** The entries of one or more `X-Forwarded-For` values, the last `MAX_FORWARDED_HOPS` of them. */
function splitForwardedFor(value: string | readonly string[]): string[] {
  const joined = typeof value === 'string' ? value : value.join(',');
  // Only the right end matters; a header of a million commas must not cost a million strings.
  const tail = joined.length > MAX_FORWARDED_HOPS * (MAX_ADDRESS_CHARS + 2) ? joined.slice(-MAX_FORWARDED_HOPS * (MAX_ADDRESS_CHARS + 2)) : joined;
  return tail.split(',').slice(-MAX_FORWARDED_HOPS);
}

/**
 * One `X-Forwarded-For` entry as a canonical address, or null. Some proxies add a port:
 * `1.2.3.4:5678`, `[2001:db8::1]:443` (RFC 7239 §6 style brackets).
 */
function forwardedHop(entry: string): string | null {
  let text = entry.trim();
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0 || !/^(:\d{1,5})?$/.test(text.slice(end + 1))) return null;
    text = text.slice(1, end);
  } else if (/^[\d.]+:\d{1,5}$/.test(text)) {
    text = text.slice(0, text.indexOf(':'));
  }
  return normalizeIp(text);
}
