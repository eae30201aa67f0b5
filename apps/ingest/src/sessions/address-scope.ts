/**
 * What kind of address an IP literal is, for deciding where the ingest may send ICE checks:
 * loopback, private (RFC 1918, RFC 6598 shared, RFC 4193 ULA), link-local, unusable (not a unicast
 * destination at all), or public. Pure; `node:net` only for parsing.
 */
import { isIPv4, isIPv6 } from 'node:net';

export type AddressScope = 'loopback' | 'private' | 'link-local' | 'unusable' | 'public';

function v4(address: string): number {
  return address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

const inV4 = (n: number, base: string, bits: number): boolean => Math.floor(n / 2 ** (32 - bits)) === Math.floor(v4(base) / 2 ** (32 - bits));

/** Expands an IPv6 literal to its 8 groups (zone ids dropped). */
function v6Groups(address: string): number[] {
  const plain = address.split('%')[0]!.toLowerCase();
  // An IPv4 tail (::ffff:192.0.2.1) becomes two groups.
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(plain);
  let text = plain;
  if (tail) {
    const n = v4(tail[1]!);
    text = `${plain.slice(0, -tail[1]!.length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const zeros = rest === undefined ? [] : Array(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((g) => parseInt(g, 16));
}

export function addressScope(address: string): AddressScope {
  if (isIPv4(address)) {
    const n = v4(address);
    if (inV4(n, '127.0.0.0', 8)) return 'loopback';
    if (inV4(n, '10.0.0.0', 8) || inV4(n, '172.16.0.0', 12) || inV4(n, '192.168.0.0', 16) || inV4(n, '100.64.0.0', 10)) return 'private';
    if (inV4(n, '169.254.0.0', 16)) return 'link-local';
    // "this network", multicast, reserved and broadcast: nothing to check there (RFC 6890).
    if (inV4(n, '0.0.0.0', 8) || inV4(n, '224.0.0.0', 4) || inV4(n, '240.0.0.0', 4)) return 'unusable';
    return 'public';
  }
  if (isIPv6(address)) {
    const groups = v6Groups(address);
    if (groups.length !== 8 || groups.some((g) => Number.isNaN(g))) return 'unusable';
    if (groups.every((g, i) => g === (i === 7 ? 1 : 0))) return 'loopback';
    if (groups.every((g) => g === 0)) return 'unusable';
    // IPv4-mapped (::ffff:a.b.c.d): the IPv4 address decides.
    if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return addressScope(`${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`);
    const first = groups[0]!;
    if ((first & 0xfe00) === 0xfc00) return 'private';
    if ((first & 0xffc0) === 0xfe80) return 'link-local';
    if ((first & 0xff00) === 0xff00) return 'unusable';
    return 'public';
  }
  return 'unusable';
}

export function addressFamily(address: string): 4 | 6 | undefined {
  if (isIPv4(address)) return 4;
  if (isIPv6(address)) return 6;
  return undefined;
}
