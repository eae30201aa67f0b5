/**
 * The fan-out send path for one werift sender, below `RTCRtpSender.sendRtp`.
 *
 * Why: `sendRtp` costs ~20 µs per packet per viewer in werift 0.25 (bench/fanout.ts profile):
 * it parses the buffer it is given back into an RtpPacket (bit-by-bit header reader), computes
 * an NTP time through a string split for abs-send-time, rebuilds and sorts the extension list,
 * feeds a bandwidth estimator nobody reads on a viewer, then SRTP serializes the header again
 * and encrypts through helper writers and a Buffer.concat. Here one packet becomes one buffer:
 * the header with the negotiated extensions is written straight into the output, the payload
 * is encrypted into it (AES-GCM, RFC 7714; or AES-CM + HMAC-SHA1-80, RFC 3711) with the keys of
 * werift's own SRTP session (`dtlsTransport.srtp.localContext`, so DTLS and ICE stay werift's),
 * and the buffer goes to the UDP socket of werift's nominated ICE pair (werift's own
 * `Connection.send` reaches the same `socket.send` through three async functions: three
 * promises per packet; it is still used whenever the pair is not plainly usable).
 *
 * What `sendRtp` did and is kept: the sender's RTCP SR fields (packet/octet counts, RTP/NTP
 * timestamp pair) and its SR loop; NACK retransmission (RFC 4585), from a ring of the encrypted
 * packets as sent (a packet that was lost never reached the receiver's replay list, so the same
 * SRTP packet is valid again). Anything this does not know (another SRTP profile, a header
 * extension other than mid and abs-send-time, RTX, RED) falls back to `sendRtp`.
 *
 * With the native addon (native-send.ts) the encryption and the send are C's: the packet is
 * protected into the addon's queue and leaves with the viewer's burst in one sendmmsg; the
 * history then keeps the packet's fields (the payload is the router's, shared) and a NACKed
 * packet is protected again, to the same index.
 */
import { createCipheriv, createHmac } from 'node:crypto';
import type { Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { RTCRtpSender } from 'werift';
import type { OutboundRtp } from './engine';
import { serializeRtp } from '../router/rtp-rewriter';
import { type NativeContext, type NativeSrtpSend, queueNative } from './native-send';
import { RETRANSMIT_HISTORY, resendHoldoffMs, RetransmitBudget, RetransmitRing } from './retransmit';
import { REPORT_SMOOTHING, SendClock } from './rtcp/send-clock';

const SDES_MID = 'urn:ietf:params:rtp-hdrext:sdes:mid';
const ABS_SEND_TIME = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time';
/** werift's ProtectionProfile values (RFC 5764 §4.1.2, RFC 7714 §14.2). */
const PROFILE_AES128_CM_SHA1_80 = 1;
const PROFILE_AEAD_AES128_GCM = 7;
/** Packets kept for NACK (werift keeps 128 too). */
const HISTORY = 128;
/** Seconds from 1900 (NTP epoch) to 1970. */
const NTP_EPOCH_OFFSET = 2_208_988_800;
/** How often the RTP/NTP timestamp pair of the next SR is refreshed, ms. */
const SR_CLOCK_REFRESH_MS = 100;

interface SrtpLocalContext {
  profile: number;
  srtpSessionKey: Buffer;
  srtpSessionSalt: Buffer;
  srtpSessionAuthTag: Buffer;
}

/** The parts of werift's RTCRtpSender this touches (werift 0.25; checked at run time). */
interface SenderInternals {
  ssrc: number;
  mid?: string;
  codec?: { payloadType: number; clockRate: number };
  headerExtensions?: Array<{ id: number; uri: string }>;
  rtxPayloadType?: number;
  redRedundantPayloadType?: number;
  stopped: boolean;
  dtlsTransport?: {
    state: string;
    srtp?: { localContext?: SrtpLocalContext };
    iceTransport: { connection: IceConnection };
  };
  packetCount: number;
  octetCount: number;
  rtpTimestamp: number;
  ntpTimestamp: bigint;
  runRtcp(): void;
  sendRtp(packet: Buffer): Promise<void>;
  onGenericNack: { subscribe(fn: (feedback: { lost: number[] }) => void): unknown };
}

/** werift's ICE Connection, as far as sending goes (werift 0.25). */
export interface IceConnection {
  state: string;
  consentFresh?: boolean;
  iceLite?: boolean;
  nominated?: {
    remoteAddr?: [string, number];
    packetsSent: number;
    bytesSent: number;
    protocol?: { transport?: { socket?: Socket; closed?: boolean } };
  };
  send(data: Buffer): Promise<void>;
}

/** The UDP socket of the ICE pair werift nominated under a DTLS transport, once there is one. */
export function nominatedSocket(dtlsTransport: unknown): Socket | undefined {
  return (dtlsTransport as { iceTransport?: { connection?: IceConnection } } | undefined)?.iceTransport?.connection?.nominated?.protocol?.transport?.socket;
}

type NominatedPair = NonNullable<IceConnection['nominated']>;
type SendablePair = NominatedPair & { protocol: { transport: { socket: Socket } } };

/** The nominated pair while werift's own checks would let a packet out on it (its remote address aside), else undefined. */
function sendablePair(connection: IceConnection): SendablePair | undefined {
  const pair = connection.nominated;
  const transport = pair?.protocol?.transport;
  if (!pair || !transport?.socket || transport.closed || connection.state === 'closed' || connection.state === 'failed' || !(connection.iceLite || connection.consentFresh)) return undefined;
  return pair as SendablePair;
}

/** Sends on the nominated pair's socket when werift's own checks would pass, else through werift. */
function sendOnPair(connection: IceConnection, packet: Buffer): void {
  const pair = sendablePair(connection);
  // werift's remoteAddr is a getter that makes a new array each time.
  const remote = pair?.remoteAddr;
  if (!pair || !remote || isIP(remote[0]) === 0) {
    connection.send(packet).catch(() => undefined);
    return;
  }
  pair.protocol.transport.socket.send(packet, remote[1], remote[0]);
  pair.packetsSent += 1;
  pair.bytesSent += packet.length;
}

/** A dgram socket's descriptor (Node keeps its handle under a symbol; undefined if it moved). */
function socketFd(socket: Socket): number | undefined {
  for (const key of Object.getOwnPropertySymbols(socket)) {
    const fd = ((socket as unknown as Record<symbol, { handle?: { fd?: unknown } } | undefined>)[key])?.handle?.fd;
    if (typeof fd === 'number' && fd >= 0) return fd;
  }
  return undefined;
}

/** The addon's context of one track and where it sends now. */
interface NativeTrack {
  context: NativeContext;
  keys: Keys;
  ssrc: number;
  /** The pair and socket the addon's destination was set from (a pair's remote address never changes). */
  pair: NominatedPair | undefined;
  socket: Socket | undefined;
  /** What each packet sent with these keys was made of, to protect it again, identically, for a NACK (video only). */
  resend: { history: RetransmitRing; rocs: Uint32Array; absSendTimes: Uint32Array } | undefined;
}

/** abs-send-time of now: 6.18 fixed-point seconds (NTP), 24 bits. */
function absSendTimeNow(): number {
  const seconds = (performance.timeOrigin + performance.now()) / 1000 + NTP_EPOCH_OFFSET;
  return Math.floor(seconds * 262_144) & 0xffffff;
}

interface Keys {
  context: SrtpLocalContext;
  gcm: boolean;
  /** Per-SSRC rollover counter (RFC 3711 §3.3.1); we number the packets, so we know it. */
  roc: number;
  lastSeq: number | undefined;
}

/**
 * RFC 3711 §3.3.1: the sender knows its own packet index. Our sequence numbers only go forward
 * (the rewriter keeps them continuous), so a wrap is a smaller number after a big one. A late
 * packet from before a wrap (publisher reordering passes through) keeps the old ROC.
 */
function rolloverCounter(keys: Keys, sequenceNumber: number): number {
  let roc = keys.roc;
  if (keys.lastSeq !== undefined && sequenceNumber < 0x1000 && keys.lastSeq > 0xf000) {
    roc = keys.roc = (keys.roc + 1) >>> 0;
    keys.lastSeq = sequenceNumber;
  } else if (keys.lastSeq !== undefined && sequenceNumber > 0xf000 && keys.lastSeq < 0x1000) {
    if (roc > 0) roc -= 1;
  } else if (keys.lastSeq === undefined || sequenceNumber > keys.lastSeq) {
    keys.lastSeq = sequenceNumber;
  }
  return roc;
}

/** NTP timestamp (RFC 3550 §4) of now, 64-bit. */
function ntpNow(): bigint {
  const ms = performance.timeOrigin + performance.now();
  const seconds = Math.floor(ms / 1000);
  const fraction = Math.floor(((ms % 1000) / 1000) * 0x100000000);
  return (BigInt(seconds + NTP_EPOCH_OFFSET) << 32n) | BigInt(fraction);
}

export class WeriftFastSender {
  private readonly sender: SenderInternals;
  /** Header extension block (RFC 8285 one-byte form) with abs-send-time's offset, or undefined = no extensions. */
  private extension: { block: Buffer; absSendTimeAt: number } | null | undefined;
  private fallback = false;
  private closed = false;
  private keys: Keys | undefined;
  private readonly iv = Buffer.alloc(12);
  /** Sent packets by sequence number modulo HISTORY (two arrays: no object per packet). */
  private readonly historySeq = new Int32Array(HISTORY).fill(-1);
  private readonly historyPacket: Array<Buffer | undefined> = new Array(HISTORY);
  /** What NACKs may make us resend (retransmit.ts), on either path. */
  private readonly retransmitBudget = new RetransmitBudget();
  /** Bytes on the wire so far (the retransmit budget is a share of them). */
  private sentBytes = 0;
  private native: NativeTrack | undefined;
  private lastSrClockAt = -Infinity;
  /** The track's RTP clock from its frames as they left (smoothed: send-clock.ts); made at the first packet. */
  private clock: SendClock | undefined;
  private rtcpStarted = false;

  /**
   * `addon`: the native send path (native-send.ts); `resendable`: keep what NACKs may ask for
   * with it (video: players do not NACK Opus, whose loss concealment is cheaper than a resend).
   */
  constructor(
    sender: RTCRtpSender,
    private addon?: NativeSrtpSend,
    private readonly resendable = true,
  ) {
    this.sender = sender as unknown as SenderInternals;
    this.sender.onGenericNack.subscribe((feedback) => this.retransmit(feedback.lost));
  }

  /** Sends one packet; returns the bytes on the wire (0 when not sent). */
  send(rtp: OutboundRtp): number {
    const bytes = this.sendPacket(rtp);
    this.sentBytes += bytes;
    return bytes;
  }

  private sendPacket(rtp: OutboundRtp): number {
    const sender = this.sender;
    const dtls = sender.dtlsTransport;
    if (this.closed || sender.stopped || !dtls || dtls.state !== 'connected' || !sender.codec) return 0;
    if (this.extension === undefined) this.prepare();
    const context = dtls.srtp?.localContext;
    if (this.fallback || !context) {
      const packet = serializeRtp({ ...rtp, ssrc: sender.ssrc, payloadType: sender.codec.payloadType });
      sender.sendRtp(packet).catch(() => undefined);
      return packet.length;
    }
    if (this.keys?.context !== context) {
      if (context.profile !== PROFILE_AEAD_AES128_GCM && context.profile !== PROFILE_AES128_CM_SHA1_80) {
        this.fallback = true;
        return this.sendPacket(rtp);
      }
      this.keys = { context, gcm: context.profile === PROFILE_AEAD_AES128_GCM, roc: 0, lastSeq: undefined };
    }
    // A packet the publisher's network duplicated comes out under the same number: protected
    // again it would reuse its IV with another abs-send-time (RFC 7714 §8.2 forbids it), and the
    // viewer has it already.
    if (this.historySeq[rtp.sequenceNumber % HISTORY] === rtp.sequenceNumber) return 0;
    if (this.addon) {
      const bytes = this.sendNative(this.addon, rtp, this.keys, dtls.iceTransport.connection);
      if (bytes > 0) return bytes;
    }
    const packet = this.protect(rtp, this.keys);
    const slot = rtp.sequenceNumber % HISTORY;
    this.historySeq[slot] = rtp.sequenceNumber;
    this.historyPacket[slot] = packet;
    this.track(rtp);
    sendOnPair(dtls.iceTransport.connection, packet);
    return packet.length;
  }

  /**
   * Protects and queues `rtp` in the addon; 0 when the pair is not plainly usable (or the
   * addon refused it): the caller sends it the JS way, through werift when need be.
   */
  private sendNative(addon: NativeSrtpSend, rtp: OutboundRtp, keys: Keys, connection: IceConnection): number {
    const pair = sendablePair(connection);
    if (!pair) return 0;
    let native = this.native;
    if (!native || native.keys !== keys || native.ssrc !== rtp.ssrc) {
      if (native) addon.release(native.context);
      this.native = native = this.nativeContext(addon, keys, rtp.ssrc);
      if (!native) return 0;
    }
    const roc = rolloverCounter(keys, rtp.sequenceNumber);
    const absSendTime = this.extension && this.extension.absSendTimeAt >= 0 ? absSendTimeNow() : 0;
    const markerAndPayloadType = (rtp.marker ? 0x80 : 0) | (rtp.payloadType & 0x7f);
    const bytes = this.queueOnPair(addon, native, pair, rtp.sequenceNumber, rtp.timestamp >>> 0, markerAndPayloadType, roc, rtp.payload, absSendTime);
    if (bytes === 0) return 0;
    this.historySeq[rtp.sequenceNumber % HISTORY] = rtp.sequenceNumber;
    this.historyPacket[rtp.sequenceNumber % HISTORY] = undefined;
    if (native.resend) {
      native.resend.history.store(rtp, 0, 0);
      const slot = rtp.sequenceNumber % RETRANSMIT_HISTORY;
      native.resend.rocs[slot] = roc;
      native.resend.absSendTimes[slot] = absSendTime;
    }
    this.track(rtp);
    pair.packetsSent += 1;
    pair.bytesSent += bytes;
    return bytes;
  }

  /** Points the addon at the pair (when it changed) and queues one packet; 0 when it cannot (the addon is then given up on if it threw). */
  private queueOnPair(addon: NativeSrtpSend, native: NativeTrack, pair: SendablePair, sequenceNumber: number, timestamp: number, markerAndPayloadType: number, roc: number, payload: Buffer, absSendTime: number): number {
    try {
      const socket = pair.protocol.transport.socket;
      if (native.pair !== pair || native.socket !== socket) {
        const remote = pair.remoteAddr;
        const fd = socketFd(socket);
        if (!remote || fd === undefined || !addon.setDestination(native.context, fd, remote[0], remote[1])) return 0;
        native.pair = pair;
        native.socket = socket;
      }
      return queueNative(addon, native.context, sequenceNumber, timestamp, markerAndPayloadType, roc, payload, absSendTime);
    } catch {
      // Never a crash on the data plane: the JS path from here on.
      this.addon = undefined;
      return 0;
    }
  }

  /** The addon's context for these keys and SSRC; undefined (and the JS path from then on) if it refuses them. */
  private nativeContext(addon: NativeSrtpSend, keys: Keys, ssrc: number): NativeTrack | undefined {
    const { srtpSessionKey, srtpSessionSalt, srtpSessionAuthTag } = keys.context;
    const ext = this.extension;
    try {
      const salt = srtpSessionSalt.subarray(0, keys.gcm ? 12 : 14);
      const context = addon.createContext(keys.gcm, srtpSessionKey, salt, keys.gcm ? Buffer.alloc(0) : srtpSessionAuthTag, ssrc >>> 0, ext ? ext.block : null, ext ? ext.absSendTimeAt : -1);
      // …and the ROC and abs-send-time it had, by the same slot (RETRANSMIT_HISTORY).
      const resend = this.resendable ? { history: new RetransmitRing(), rocs: new Uint32Array(RETRANSMIT_HISTORY), absSendTimes: new Uint32Array(RETRANSMIT_HISTORY) } : undefined;
      return { context, keys, ssrc, pair: undefined, socket: undefined, resend };
    } catch {
      this.addon = undefined;
      return undefined;
    }
  }

  /** Lets go of the addon's context (its socket copy); the sender sends nothing after. */
  close(): void {
    this.closed = true;
    if (this.native) this.addon?.release(this.native.context);
    this.native = undefined;
  }

  /** Header + extensions + encrypted payload + tag, in one buffer. */
  private protect(rtp: OutboundRtp, keys: Keys): Buffer {
    const ext = this.extension;
    const headerSize = 12 + (ext ? ext.block.length : 0);
    const tagSize = keys.gcm ? 16 : 10;
    const payload = rtp.payload;
    const out = Buffer.allocUnsafe(headerSize + payload.length + tagSize);
    out[0] = ext ? 0x90 : 0x80;
    out[1] = (rtp.marker ? 0x80 : 0) | (rtp.payloadType & 0x7f);
    out.writeUInt16BE(rtp.sequenceNumber, 2);
    out.writeUInt32BE(rtp.timestamp >>> 0, 4);
    out.writeUInt32BE(rtp.ssrc >>> 0, 8);
    if (ext) {
      ext.block.copy(out, 12);
      if (ext.absSendTimeAt >= 0) out.writeUIntBE(absSendTimeNow(), 12 + ext.absSendTimeAt, 3);
    }
    const roc = rolloverCounter(keys, rtp.sequenceNumber);
    const salt = keys.context.srtpSessionSalt;
    const iv = this.iv;
    if (keys.gcm) {
      // RFC 7714 §8.1: IV = (00 00 || SSRC || ROC || SEQ) XOR salt (12 bytes).
      iv.writeUInt16BE(0, 0);
      iv.writeUInt32BE(rtp.ssrc >>> 0, 2);
      iv.writeUInt32BE(roc, 6);
      iv.writeUInt16BE(rtp.sequenceNumber, 10);
      for (let i = 0; i < 12; i += 1) iv[i]! ^= salt[i]!;
      const cipher = createCipheriv('aes-128-gcm', keys.context.srtpSessionKey, iv);
      cipher.setAAD(out.subarray(0, headerSize));
      const encrypted = cipher.update(payload);
      cipher.final();
      encrypted.copy(out, headerSize);
      cipher.getAuthTag().copy(out, headerSize + payload.length);
      return out;
    }
    // RFC 3711 §4.1.1: IV = (salt << 16) XOR (SSRC << 64) XOR (index << 16), 16 bytes.
    const ctr = Buffer.alloc(16);
    salt.copy(ctr, 0, 0, 14);
    ctr.writeUInt32BE((ctr.readUInt32BE(4) ^ (rtp.ssrc >>> 0)) >>> 0, 4);
    ctr.writeUInt32BE((ctr.readUInt32BE(8) ^ roc) >>> 0, 8);
    ctr.writeUInt16BE(ctr.readUInt16BE(12) ^ rtp.sequenceNumber, 12);
    const cipher = createCipheriv('aes-128-ctr', keys.context.srtpSessionKey, ctr);
    const encrypted = cipher.update(payload);
    encrypted.copy(out, headerSize);
    // RFC 3711 §4.2: HMAC-SHA1 over the authenticated portion || ROC, truncated to 80 bits.
    const rocBytes = Buffer.allocUnsafe(4);
    rocBytes.writeUInt32BE(roc, 0);
    const tag = createHmac('sha1', keys.context.srtpSessionAuthTag).update(out.subarray(0, headerSize + payload.length)).update(rocBytes).digest();
    tag.copy(out, headerSize + payload.length, 0, 10);
    return out;
  }

  /** Builds the extension block once (negotiation is over by the first packet). */
  private prepare(): void {
    const sender = this.sender;
    if (sender.rtxPayloadType !== undefined || sender.redRedundantPayloadType !== undefined) {
      this.fallback = true;
      this.extension = null;
      return;
    }
    const elements: Buffer[] = [];
    let absSendTimeAt = -1;
    let offset = 4; // after the 0xBEDE profile and length words
    for (const { id, uri } of [...(sender.headerExtensions ?? [])].sort((a, b) => a.id - b.id)) {
      if (uri === SDES_MID && sender.mid) {
        const mid = Buffer.from(sender.mid, 'utf8');
        elements.push(Buffer.from([(id << 4) | (mid.length - 1)]), mid);
        offset += 1 + mid.length;
      } else if (uri === ABS_SEND_TIME) {
        elements.push(Buffer.from([(id << 4) | 2]), Buffer.alloc(3));
        absSendTimeAt = offset + 1;
        offset += 4;
      } else {
        // werift writes other extensions (TWCC, stream ids) itself: let it.
        this.fallback = true;
        this.extension = null;
        return;
      }
    }
    if (elements.length === 0) {
      this.extension = null;
      return;
    }
    const body = Buffer.concat(elements);
    const words = Math.ceil(body.length / 4);
    const block = Buffer.alloc(4 + words * 4); // zero padding (RFC 8285 §4.2)
    block.writeUInt16BE(0xbede, 0);
    block.writeUInt16BE(words, 2);
    body.copy(block, 4);
    this.extension = { block, absSendTimeAt };
  }

  /** What `dispatchRtp` records for the sender report (RFC 3550 §6.4.1). */
  private track(rtp: OutboundRtp): void {
    const sender = this.sender;
    sender.packetCount = (sender.packetCount + 1) >>> 0;
    sender.octetCount = (sender.octetCount + rtp.payload.length) >>> 0;
    const now = performance.now();
    this.clock ??= new SendClock(sender.codec?.clockRate ?? 90_000, REPORT_SMOOTHING);
    this.clock.observe(rtp.timestamp, now);
    if (now - this.lastSrClockAt >= SR_CLOCK_REFRESH_MS) {
      this.lastSrClockAt = now;
      sender.rtpTimestamp = this.clock.timestampAt(now)!;
      sender.ntpTimestamp = ntpNow();
    }
    if (!this.rtcpStarted) {
      this.rtcpStarted = true;
      sender.runRtcp();
    }
  }

  /**
   * Resends what a NACK names (RFC 4585 §6.2.1) within the viewer's budget (retransmit.ts: a
   * share of what it was sent; a NACK flood cannot make us send more than that), once per packet
   * per hold-off.
   */
  private retransmit(lost: number[]): void {
    const dtls = this.sender.dtlsTransport;
    if (!dtls || this.fallback) return;
    const native = this.native;
    const now = performance.now();
    for (const seq of lost) {
      const slot = seq % HISTORY;
      const packet = this.historyPacket[slot];
      if (packet && this.historySeq[slot] === seq) {
        if (!this.retransmitBudget.allow(now, packet.length, this.sentBytes)) break;
        sendOnPair(dtls.iceTransport.connection, packet);
        continue;
      }
      // Protected again, identically: the same index, ROC and header.
      const resend = native?.resend;
      const rtp = native && resend?.history.get(seq, native.ssrc);
      const pair = sendablePair(dtls.iceTransport.connection);
      if (!native || !resend || !rtp || !this.addon || !pair || native.pair !== pair || !resend.history.mayResend(seq, now, resendHoldoffMs(0))) continue;
      const bytes = 12 + (this.extension?.block.length ?? 0) + rtp.payload.length + (native.keys.gcm ? 16 : 10);
      if (!this.retransmitBudget.allow(now, bytes, this.sentBytes)) break;
      resend.history.markResent(seq, now);
      const ringSlot = seq % RETRANSMIT_HISTORY;
      this.queueOnPair(this.addon, native, pair, seq, rtp.timestamp, (rtp.marker ? 0x80 : 0) | rtp.payloadType, resend.rocs[ringSlot]!, rtp.payload, resend.absSendTimes[ringSlot]!);
    }
  }
}
