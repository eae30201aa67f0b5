/**
 * One ICE candidate attribute value (RFC 8839 §5.1), the text after `a=candidate:` in an SDP or
 * a trickle fragment: decoded into fields and encoded back. Pure and browser-safe; anything
 * outside the grammar is an SdpError naming the field, never a value passed on to a WebRTC stack
 * (libdatachannel refused an 18-digit priority with an exception).
 */
import { SdpError } from './sdp-error';

export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay';

export interface IceCandidate {
  /** 1–32 ice-chars (RFC 8839 §5.1). */
  foundation: string;
  /** 1–256; 1 is RTP (and, with rtcp-mux, everything). */
  component: number;
  /** Lower-cased: `udp`, `tcp`, or another token. */
  transport: string;
  /** 1 … 2^31 − 1 (RFC 8445 §5.1.2.1). */
  priority: number;
  /** An IPv4/IPv6 literal, or a name (an mDNS `….local` name, RFC 8839 §5.1 FQDN). */
  address: string;
  port: number;
  type: CandidateType | string;
  relatedAddress?: string;
  relatedPort?: number;
  /** Extension attributes after the known fields, as name/value pairs (`generation 0`, `tcptype active`). */
  extensions: Array<[name: string, value: string]>;
}

const ICE_CHARS = /^[A-Za-z0-9+/]{1,32}$/;
const TOKEN = /^[!#$%&'*+\-.^_`{|}~A-Za-z0-9]+$/;
const DIGITS = /^\d{1,10}$/;
/** RFC 8445 §5.1.2.1: a priority is a positive 32-bit value below 2^31. */
const MAX_PRIORITY = 2 ** 31 - 1;
/** A name or address: DNS labels, IPv4 dotted quads, IPv6 hex groups; checked again by the caller's policy. */
const ADDRESS = /^[A-Za-z0-9.:_-]{1,253}$/;

function port(value: string | undefined, field: string): number {
  if (value === undefined || !/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new SdpError(`candidate ${field} must be a port number 0-65535`);
  return Number(value);
}

/** Decodes `foundation component transport priority address port typ type [raddr a rport p] [ext…]`. */
export function parseIceCandidate(value: string): IceCandidate {
  const text = value.startsWith('candidate:') ? value.slice('candidate:'.length) : value;
  const fields = text.trim().split(/\s+/);
  if (fields.length < 8) throw new SdpError('a candidate has at least 8 fields (foundation component transport priority address port typ type)');
  const [foundation = '', component = '', transport = '', priority = '', address = '', rawPort = '', typ = '', type = ''] = fields;
  if (!ICE_CHARS.test(foundation)) throw new SdpError('candidate foundation must be 1-32 letters, digits, "+" or "/"');
  if (!/^\d{1,3}$/.test(component) || Number(component) < 1 || Number(component) > 256) throw new SdpError('candidate component must be 1-256');
  if (!TOKEN.test(transport)) throw new SdpError('candidate transport must be a token such as UDP');
  if (!DIGITS.test(priority) || Number(priority) < 1 || Number(priority) > MAX_PRIORITY) throw new SdpError(`candidate priority must be 1-${MAX_PRIORITY}`);
  if (!ADDRESS.test(address)) throw new SdpError('candidate address must be an IP address or a host name');
  const candidate: IceCandidate = {
    foundation,
    component: Number(component),
    transport: transport.toLowerCase(),
    priority: Number(priority),
    address,
    port: port(rawPort, 'port'),
    type: '',
    extensions: [],
  };
  if (typ !== 'typ' || !TOKEN.test(type)) throw new SdpError('candidate must say "typ <type>" after the port');
  candidate.type = type;
  const rest = fields.slice(8);
  if (rest.length % 2 !== 0) throw new SdpError('candidate extensions come in name/value pairs');
  for (let i = 0; i < rest.length; i += 2) {
    const name = rest[i]!;
    const extension = rest[i + 1]!;
    if (name === 'raddr') {
      if (!ADDRESS.test(extension)) throw new SdpError('candidate raddr must be an address');
      candidate.relatedAddress = extension;
    } else if (name === 'rport') candidate.relatedPort = port(extension, 'rport');
    else if (TOKEN.test(name) && /^\S{1,256}$/.test(extension)) candidate.extensions.push([name, extension]);
    else throw new SdpError(`candidate extension "${name.slice(0, 20)}" is malformed`);
  }
  return candidate;
}

/** Encodes a candidate as the value of `a=candidate:` (without the `candidate:` prefix). */
export function formatIceCandidate(candidate: IceCandidate): string {
  const parts = [candidate.foundation, candidate.component, candidate.transport === 'udp' ? 'udp' : candidate.transport, candidate.priority, candidate.address, candidate.port, 'typ', candidate.type];
  if (candidate.relatedAddress !== undefined) parts.push('raddr', candidate.relatedAddress);
  if (candidate.relatedPort !== undefined) parts.push('rport', candidate.relatedPort);
  for (const [name, value] of candidate.extensions) parts.push(name, value);
  return parts.join(' ');
}
