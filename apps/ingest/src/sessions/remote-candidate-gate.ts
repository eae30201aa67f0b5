/**
 * Which of a client's ICE candidates the ingest will send connectivity checks to. A candidate is
 * an address a stranger names: without a gate, one 4 KB anonymous WHEP offer made the ingest send
 * 150 STUN packets to 30 targets of the client's choosing (a reflector and port prober). One gate
 * per session sees the offer's candidates and every trickled one (RFC 8840) and keeps:
 *
 * - UDP, component 1 only: the engines are UDP and always multiplex RTCP (RFC 5761); a TCP or an
 *   RTCP-component candidate would only be one more target.
 * - IP literals. A host name would be a DNS lookup of a stranger's name; an mDNS `.local` name
 *   (how browsers hide host addresses) cannot be resolved without multicast.
 * - No port below 1024: no WebRTC stack listens there, system services (DNS, NTP, SNMP) do.
 * - Scope: loopback only when the ingest itself is on loopback; link-local never; private
 *   (RFC 1918, CGNAT, ULA) only when an ICE host is private or ONAIR_ICE_ALLOW_PRIVATE says so;
 *   multicast, broadcast, unspecified never; an address family the ingest does not listen on never.
 * - At most `maxCandidates` per session, offer and trickle together, duplicates counted once.
 *
 * An ingest bound to loopback only (the default) can only be reached from this machine, and a
 * loopback socket can only send to this machine's own addresses: there, a candidate on loopback
 * or on one of this machine's addresses is kept and nothing else.
 */
import { formatIceCandidate, type IceCandidate, parseIceCandidate } from '@onair/shared/ice-candidate';
import type { TrickleFragment } from '@onair/shared/sdp';
import { addressFamily, addressScope } from './address-scope';

export interface CandidatePolicy {
  /** Addresses the ingest binds and advertises (ONAIR_ICE_HOSTS). */
  iceHosts: string[];
  /** Accept private-range candidates (ONAIR_ICE_ALLOW_PRIVATE; default: when an ICE host is private). */
  allowPrivate: boolean;
  /** Candidates accepted per session, offer and trickle together. */
  maxCandidates: number;
}

/** Why a candidate was left out (counted for the log line of the session). */
export type DropReason = 'not_udp' | 'not_rtp_component' | 'hostname' | 'low_port' | 'scope' | 'family' | 'duplicate' | 'cap';

export class RemoteCandidateGate {
  readonly dropped: Partial<Record<DropReason, number>> = {};
  private readonly seen = new Set<string>();
  private readonly loopbackOnly: boolean;
  private readonly families: Set<4 | 6>;

  /**
   * @param localAddresses this machine's own non-loopback addresses (os.networkInterfaces), used
   *   only when every ICE host is loopback.
   */
  constructor(
    private readonly policy: CandidatePolicy,
    private readonly localAddresses: string[] = [],
  ) {
    this.loopbackOnly = policy.iceHosts.length > 0 && policy.iceHosts.every((host) => addressScope(host) === 'loopback');
    this.families = new Set(policy.iceHosts.map(addressFamily).filter((f) => f !== undefined));
  }

  get accepted(): number {
    return this.seen.size;
  }

  /** The candidates of `candidate` (one attribute value) that checks may be sent to, as attribute values. */
  admit(value: string): string[] {
    let candidate: IceCandidate;
    try {
      candidate = parseIceCandidate(value);
    } catch {
      // Callers reject malformed candidates with 400 before; in an offer they are only dropped.
      return [];
    }
    if (candidate.transport !== 'udp') return this.drop('not_udp');
    if (candidate.component !== 1) return this.drop('not_rtp_component');
    if (candidate.port < 1024) return this.drop('low_port');
    const family = addressFamily(candidate.address);
    if (family === undefined) return this.drop('hostname');
    if (!this.families.has(family)) return this.drop('family');
    if (!this.inScope(candidate.address)) return this.drop('scope');
    return this.keep(candidate);
  }

  /** The offer with only admitted candidate lines (an mDNS line may become several). */
  filterOffer(offer: string): string {
    const eol = offer.includes('\r\n') ? '\r\n' : '\n';
    const out: string[] = [];
    for (const line of offer.split(/\r?\n/)) {
      if (!line.startsWith('a=candidate:')) {
        out.push(line);
        continue;
      }
      for (const kept of this.admit(line.slice('a=candidate:'.length))) out.push(`a=candidate:${kept}`);
    }
    return out.join(eol);
  }

  /** The fragment with only admitted candidates. */
  filterFragment(fragment: TrickleFragment): TrickleFragment {
    return { ...fragment, media: fragment.media.map((media) => ({ ...media, candidates: media.candidates.flatMap((c) => this.admit(c)) })) };
  }

  private inScope(address: string): boolean {
    const scope = addressScope(address);
    if (this.loopbackOnly) return scope === 'loopback' || this.localAddresses.includes(address);
    if (scope === 'public') return true;
    if (scope === 'private') return this.policy.allowPrivate;
    return false;
  }

  private keep(candidate: IceCandidate): string[] {
    const key = `${candidate.address.toLowerCase()} ${candidate.port}`;
    if (this.seen.has(key)) return this.drop('duplicate');
    if (this.seen.size >= this.policy.maxCandidates) return this.drop('cap');
    this.seen.add(key);
    return [formatIceCandidate(candidate)];
  }

  private drop(reason: DropReason): [] {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
    return [];
  }
}

/** Whether an ingest on these ICE hosts accepts private-range candidates by default. */
export function privateByDefault(iceHosts: string[]): boolean {
  return iceHosts.some((host) => addressScope(host) === 'private' || addressScope(host) === 'link-local');
}
