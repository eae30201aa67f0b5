/**
 * A WHEP viewer in Node (werift): offers H.264 and VP8 video plus opus, records every video RTP
 * packet it receives and notices keyframes by their bitstream (H.264 SPS/IDR NAL units, VP8
 * key frames), so tests can assert what a player would get.
 */
import { layerUrlFromLinkHeader } from '@onair/shared/whep-layers-client';
import { RTCPeerConnection, RTCRtpCodecParameters, RtcpSrPacket, type RtpPacket } from 'werift';
import { connectedPromise, loopbackIce, waitGathered } from './werift-h264-publisher';

/** Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
const NTP_UNIX_OFFSET_S = 2_208_988_800;

export interface ReceivedPacket {
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  payloadType: number;
  marker: boolean;
  keyframe: boolean;
  receivedAt: number;
  /** The RTP payload, as received. */
  payload: Buffer;
  /** Payload length and first bytes: the same packet seen by two viewers (forwarding keeps payloads) has the same one. */
  fingerprint: string;
}

/** An audio packet: its RTP header fields, payload and arrival (performance.now()). */
export interface ReceivedAudio {
  sequenceNumber: number;
  timestamp: number;
  receivedAt: number;
  payload: Buffer;
}

/** A sender report (RFC 3550 §6.4.1) the viewer received: the sender's wall clock against a track's RTP clock. */
export interface ReceivedSenderReport {
  kind: 'video' | 'audio';
  ssrc: number;
  /** The NTP timestamp as Unix time, ms. */
  ntpMs: number;
  rtpTimestamp: number;
  receivedAt: number;
}

export interface WeriftWhepViewer {
  response: { status: number; headers: Headers };
  resourceUrl: string;
  /** The session's layer resource (the answer's `Link` rel `urn:ietf:params:whep:ext:core:layer`), if announced. */
  layerUrl: string | null;
  answerMs: number;
  /** Video codec the answer chose (`H264`, `VP8`). */
  videoCodec: string | undefined;
  connected: Promise<void>;
  pc: RTCPeerConnection;
  /** Every video packet so far, in arrival order. */
  video: ReceivedPacket[];
  audioPackets(): number;
  /** Every audio packet so far, in arrival order. */
  audio: ReceivedAudio[];
  /** Every sender report so far, in arrival order. */
  senderReports: ReceivedSenderReport[];
  /** Time the first keyframe packet arrived (performance.now()), if any. */
  firstKeyframeAt(): number | undefined;
  /** Sends a PLI upstream, like a decoder that lost its reference. */
  requestKeyframe(): void;
  close(opts?: { delete?: boolean }): Promise<void>;
}

export function isKeyframePacket(codec: string | undefined, payload: Buffer): boolean {
  if (payload.length < 2) return false;
  if (codec === 'VP8') {
    let offset = 1;
    const b0 = payload[0]!;
    if (!((b0 & 0x10) && (b0 & 0x07) === 0)) return false;
    if (b0 & 0x80) {
      const x = payload[offset++]!;
      if (x & 0x80) offset += payload[offset]! & 0x80 ? 2 : 1;
      if (x & 0x40) offset += 1;
      if (x & 0x30) offset += 1;
    }
    return payload.length > offset && (payload[offset]! & 0x01) === 0;
  }
  const type = payload[0]! & 0x1f;
  if (type === 5 || type === 7) return true;
  if (type === 28) return (payload[1]! & 0x80) !== 0 && [5, 7].includes(payload[1]! & 0x1f);
  if (type === 24) {
    for (let offset = 1; offset + 2 < payload.length; ) {
      const size = payload.readUInt16BE(offset);
      if ([5, 7].includes(payload[offset + 2]! & 0x1f)) return true;
      offset += 2 + size;
    }
  }
  return false;
}

export async function startWeriftWhepViewer(opts: { whepUrl: string; video?: Array<'H264' | 'VP8'> }): Promise<WeriftWhepViewer> {
  const videoCodecs = (opts.video ?? ['H264', 'VP8']).map((name) =>
    new RTCRtpCodecParameters({
      mimeType: `video/${name}`,
      clockRate: 90000,
      rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'goog-remb' }],
      ...(name === 'H264' ? { parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' } : {}),
    }),
  );
  const pc = new RTCPeerConnection({
    codecs: { video: videoCodecs, audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })] },
    ...loopbackIce,
  });
  const videoTransceiver = pc.addTransceiver('video', { direction: 'recvonly' });
  const audioTransceiver = pc.addTransceiver('audio', { direction: 'recvonly' });
  const video: ReceivedPacket[] = [];
  const audioReceived: ReceivedAudio[] = [];
  const senderReports: ReceivedSenderReport[] = [];
  for (const [kind, transceiver] of [['video', videoTransceiver], ['audio', audioTransceiver]] as const) {
    transceiver.receiver.onRtcp.subscribe((packet) => {
      if (packet.type !== RtcpSrPacket.type) return;
      const { ntpTimestamp, rtpTimestamp } = (packet as RtcpSrPacket).senderInfo;
      const ntpMs = (Number(ntpTimestamp >> 32n) - NTP_UNIX_OFFSET_S) * 1000 + (Number(ntpTimestamp & 0xffff_ffffn) / 2 ** 32) * 1000;
      senderReports.push({ kind, ssrc: (packet as RtcpSrPacket).ssrc, ntpMs, rtpTimestamp, receivedAt: performance.now() });
    });
  }
  let audio = 0;
  let videoCodec: string | undefined;
  let firstKeyframe: number | undefined;
  let videoSsrc: number | undefined;
  pc.onTrack.subscribe((track) => {
    track.onReceiveRtp.subscribe((rtp: RtpPacket) => {
      if (track.kind === 'audio') {
        audio += 1;
        audioReceived.push({ sequenceNumber: rtp.header.sequenceNumber, timestamp: rtp.header.timestamp, receivedAt: performance.now(), payload: rtp.payload });
        return;
      }
      videoSsrc = rtp.header.ssrc;
      const keyframe = isKeyframePacket(videoCodec, rtp.payload);
      const receivedAt = performance.now();
      if (keyframe && firstKeyframe === undefined) firstKeyframe = receivedAt;
      const fingerprint = `${rtp.payload.length}:${rtp.payload.subarray(0, 24).toString('hex')}`;
      video.push({ sequenceNumber: rtp.header.sequenceNumber, timestamp: rtp.header.timestamp, ssrc: rtp.header.ssrc, payloadType: rtp.header.payloadType, marker: rtp.header.marker, keyframe, receivedAt, payload: rtp.payload, fingerprint });
    });
  });
  await pc.setLocalDescription(await pc.createOffer());
  await waitGathered(pc);
  const connected = connectedPromise(pc);
  connected.catch(() => undefined);
  const started = performance.now();
  const res = await fetch(opts.whepUrl, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription!.sdp });
  const answerMs = performance.now() - started;
  if (res.status !== 201) {
    await pc.close();
    throw Object.assign(new Error(`WHEP POST answered ${res.status}: ${await res.text()}`), { status: res.status });
  }
  const answer = await res.text();
  videoCodec = /a=rtpmap:\d+ (H264|VP8)\/90000/.exec(answer)?.[1];
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  const resourceUrl = new URL(res.headers.get('location')!, opts.whepUrl).toString();
  let closed: Promise<void> | undefined;
  return {
    response: { status: res.status, headers: res.headers },
    resourceUrl,
    layerUrl: layerUrlFromLinkHeader(res.headers.get('link'), resourceUrl),
    answerMs,
    videoCodec,
    connected,
    pc,
    video,
    audioPackets: () => audio,
    audio: audioReceived,
    senderReports,
    firstKeyframeAt: () => firstKeyframe,
    requestKeyframe: () => {
      if (videoSsrc !== undefined) void videoTransceiver.receiver.sendRtcpPLI(videoSsrc);
    },
    close(closeOpts = {}) {
      closed ??= (async () => {
        if (closeOpts.delete) await fetch(resourceUrl, { method: 'DELETE' }).catch(() => undefined);
        await pc.close();
      })();
      return closed;
    },
  };
}
