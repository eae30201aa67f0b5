/** WeriftFastSender's test kit. */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:dgram';
import { SrtpSession, type RTCRtpSender } from 'werift';
import type { OutboundRtp } from './engine';
import type { NativeSrtpSend } from './native-send';
import { WeriftFastSender } from './werift-fast-sender';

const SDES_MID = 'urn:ietf:params:rtp-hdrext:sdes:mid';
const ABS_SEND_TIME = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time';

/** A werift sender reduced to what the fast path touches, with werift's own SRTP session. */
export function fakeSender(profile: number, headerExtensions = [{ id: 1, uri: SDES_MID }, { id: 3, uri: ABS_SEND_TIME }], consentFresh = false, native?: { addon: NativeSrtpSend; socket: Socket; remote: [string, number] }) {
  const key = randomBytes(16);
  const salt = randomBytes(profile === 7 ? 12 : 14);
  const peerKey = randomBytes(16);
  const peerSalt = randomBytes(profile === 7 ? 12 : 14);
  const wire: Buffer[] = [];
  const direct: Array<{ data: Buffer; port: number; host: string }> = [];
  const socket = native?.socket ?? { send: (data: Buffer, port: number, host: string) => void direct.push({ data, port, host }) };
  const pair = { remoteAddr: native?.remote ?? (['127.0.0.1', 5004] as [string, number]), packetsSent: 0, bytesSent: 0, protocol: { transport: { closed: false, socket } } };
  const fallback: Buffer[] = [];
  let nack: (feedback: { lost: number[] }) => void = () => undefined;
  const sender = {
    ssrc: 0x11223344,
    mid: '0',
    codec: { payloadType: 102 },
    headerExtensions,
    stopped: false,
    dtlsTransport: {
      state: 'connected',
      srtp: new SrtpSession({ keys: { localMasterKey: key, localMasterSalt: salt, remoteMasterKey: peerKey, remoteMasterSalt: peerSalt }, profile: profile as 1 }),
      iceTransport: { connection: { state: 'completed', consentFresh, nominated: pair, send: async (data: Buffer) => void wire.push(data) } },
    },
    packetCount: 0,
    octetCount: 0,
    rtpTimestamp: 0,
    ntpTimestamp: 0n,
    rtcpRuns: 0,
    runRtcp() {
      this.rtcpRuns += 1;
    },
    sendRtp: async (packet: Buffer) => void fallback.push(packet),
    onGenericNack: { subscribe: (fn: typeof nack) => (nack = fn) },
  };
  // The viewer's side: keys swapped, werift's decrypt (with its own ROC tracking).
  const receiver = new SrtpSession({ keys: { localMasterKey: peerKey, localMasterSalt: peerSalt, remoteMasterKey: key, remoteMasterSalt: salt }, profile: profile as 1 });
  const fast = new WeriftFastSender(sender as unknown as RTCRtpSender, native?.addon);
  return { sender, fast, wire, direct, pair, fallback, receiver, nack: (lost: number[]) => nack({ lost }) };
}

export const packet = (sequenceNumber: number, payload = randomBytes(900)): OutboundRtp => ({ sequenceNumber, timestamp: 90_000 + sequenceNumber, ssrc: 0x11223344, payloadType: 102, marker: sequenceNumber % 2 === 0, payload });

