/**
 * Where a forward (a stream's RTP as plain UDP, to a transcoder) may be sent. The admin token
 * already guards creating one; this rule keeps a leaked token from turning the ingest into a UDP
 * cannon aimed at other hosts:
 *
 * - loopback and this ingest's own ICE hosts (a transcoder on this machine, or on an address the
 *   operator gave the ingest);
 * - the address the transcoder's own request came from (the TCP peer, never a forwarded header):
 *   a transcoder on another host is served where it asks from, and whoever holds the token can
 *   only aim the stream at itself — a TCP connection's source has been through a handshake;
 * - `ONAIR_TRANSCODER_HOSTS` (IPs, CIDR blocks): transcoders whose RTP address is not the one
 *   they call from (several interfaces, NAT between the hosts).
 *
 * Never to an address that is not one host (unspecified, multicast, broadcast). Pure: no I/O.
 */
import { normalizeIp, type TrustedProxies } from '@onair/shared/trusted-proxies';
import { addressScope } from '../sessions/address-scope';

export interface ForwardDestinationRule {
  iceHosts: readonly string[];
  /** ONAIR_TRANSCODER_HOSTS. */
  transcoderHosts: TrustedProxies;
}

/** Whether RTP may go to `host`, asked for by a request from `caller` (the socket's remote address). */
export function forwardDestinationAllowed(host: string, rule: ForwardDestinationRule, caller?: string): boolean {
  const target = normalizeIp(host);
  // Not a unicast destination (unspecified, multicast, broadcast): never, whoever asks.
  if (target === null || addressScope(target) === 'unusable') return false;
  if (target === '::1' || target.startsWith('127.')) return true;
  if (rule.iceHosts.some((ice) => normalizeIp(ice) === target)) return true;
  if (caller !== undefined && normalizeIp(caller) === target) return true;
  return rule.transcoderHosts.trusts(target);
}
