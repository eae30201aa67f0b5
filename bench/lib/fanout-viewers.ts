/**
 * Load generator for the fan-out bench: N WHEP viewers in one process (pinned by the caller),
 * driven over IPC by bench/fanout.ts.
 *
 * Each viewer is a real werift RTCPeerConnection: it offers H.264 recvonly over WHEP, completes
 * ICE and DTLS, and the ingest serves it like any viewer. What it does not do is decrypt media:
 * RTCDtlsTransport.startSrtp is replaced (in this process only) by one that still decrypts SRTCP
 * but counts SRTP packets from their header, which SRTP leaves in the clear (RFC 3711 §3.1):
 * packets received, and packets expected from the extended sequence number range (RFC 3550
 * §A.3), so loss is counted per viewer without spending ~10 µs of AES per packet here.
 *
 * IPC: {cmd:'add', whepUrl, count, concurrency} → {cmd:'added', connected, failed, ms}
 *      {cmd:'stats'} → {cmd:'stats', viewers, received, expected, bytes, cpuMicros}
 *      {cmd:'removeAll'} → DELETEs every viewer's WHEP session (RFC 9725 §4.2) and closes its peer
 *        → {cmd:'removed', count} (the edge bench moves its viewers from one node to others)
 *      {cmd:'close'} → closes every peer, exits
 *
 * Every viewer's UDP socket gets a 1 MiB receive buffer: the ingest sends a keyframe's burst to
 * each viewer back to back, and one process draining hundreds of sockets on a shared core fell
 * behind at the default ~208 KiB (a 720p keyframe is ~100 packets, ~2.3 KiB of buffer each on
 * loopback): the kernel dropped them (Udp RcvbufErrors) and the bench called it fan-out loss.
 * Viewers on their own machines read their one socket; this keeps the loss figure about the ingest.
 */
import {
  RTCDtlsTransport,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RtcpPacketConverter,
  isMedia,
  isRtcp,
} from 'werift';
import { createRequire } from 'node:module';
import { connectedPromise, loopbackIce, waitGathered } from '../../test/support/peers/werift-h264-publisher';

const RECEIVE_BUFFER_BYTES = 1 << 20;
// werift (CommonJS) calls dgram.createSocket through the module object at call time.
const dgram = createRequire(import.meta.url)('node:dgram') as typeof import('node:dgram');
const createSocket = dgram.createSocket;
(dgram as { createSocket: typeof createSocket }).createSocket = ((...args: Parameters<typeof createSocket>) => {
  const socket = createSocket(...args);
  socket.once('listening', () => {
    try {
      socket.setRecvBufferSize(RECEIVE_BUFFER_BYTES);
    } catch {
      // capped by net.core.rmem_max: the default stays
    }
  });
  return socket;
}) as typeof createSocket;

interface Counter {
  received: number;
  bytes: number;
  baseSeq: number | undefined;
  maxSeq: number;
  cycles: number;
}

const counters = new WeakMap<object, Counter>();
const all: Counter[] = [];
const peers: RTCPeerConnection[] = [];
/** Each viewer's WHEP session resource, for removeAll. */
const resources = new Map<RTCPeerConnection, string>();

type DtlsInternals = {
  srtpStarted: boolean;
  srtcp: { decrypt(data: Buffer): Buffer };
  updateSrtpSession(): void;
  iceTransport: { connection: { onData: { subscribe(fn: (data: Buffer) => void): void } } };
  onRtcp: { execute(packet: unknown): void };
};

(RTCDtlsTransport.prototype as unknown as { startSrtp: () => void }).startSrtp = function startSrtp(this: DtlsInternals) {
  if (this.srtpStarted) return;
  this.srtpStarted = true;
  this.updateSrtpSession();
  const counter: Counter = { received: 0, bytes: 0, baseSeq: undefined, maxSeq: 0, cycles: 0 };
  counters.set(this, counter);
  all.push(counter);
  this.iceTransport.connection.onData.subscribe((data: Buffer) => {
    if (!isMedia(data)) return;
    if (isRtcp(data)) {
      try {
        for (const rtcp of RtcpPacketConverter.deSerialize(this.srtcp.decrypt(data))) this.onRtcp.execute(rtcp);
      } catch {
        // a bad SRTCP packet is dropped, as werift does
      }
      return;
    }
    counter.received += 1;
    counter.bytes += data.length;
    const seq = data.readUInt16BE(2);
    if (counter.baseSeq === undefined) {
      counter.baseSeq = seq;
      counter.maxSeq = seq;
      return;
    }
    const delta = (seq - counter.maxSeq + 0x10000) % 0x10000;
    if (delta > 0 && delta < 0x8000) {
      if (seq < counter.maxSeq) counter.cycles += 0x10000;
      counter.maxSeq = seq;
    }
  });
};

async function addViewer(whepUrl: string): Promise<void> {
  const pc = new RTCPeerConnection({
    codecs: {
      video: [new RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90000, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }], parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' })],
      audio: [],
    },
    ...loopbackIce,
  });
  peers.push(pc);
  pc.addTransceiver('video', { direction: 'recvonly' });
  await pc.setLocalDescription(await pc.createOffer());
  await waitGathered(pc);
  const connected = connectedPromise(pc);
  connected.catch(() => undefined);
  const res = await fetch(whepUrl, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription!.sdp });
  if (res.status !== 201) throw new Error(`WHEP POST answered ${res.status}: ${await res.text()}`);
  const location = res.headers.get('location');
  if (location) resources.set(pc, new URL(location, whepUrl).href);
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  await Promise.race([connected, new Promise((_, reject) => setTimeout(() => reject(new Error('connect timeout')), 20_000))]);
}

async function add(whepUrl: string, count: number, concurrency: number): Promise<{ connected: number; failed: number; errors: string[] }> {
  let next = 0;
  let connected = 0;
  let failed = 0;
  const errors: string[] = [];
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        next += 1;
        try {
          await addViewer(whepUrl);
          connected += 1;
        } catch (error) {
          failed += 1;
          if (errors.length < 3) errors.push(String(error));
        }
      }
    }),
  );
  return { connected, failed, errors };
}

function stats() {
  let received = 0;
  let expected = 0;
  let bytes = 0;
  for (const c of all) {
    received += c.received;
    bytes += c.bytes;
    if (c.baseSeq !== undefined) expected += c.cycles + c.maxSeq - c.baseSeq + 1;
  }
  const cpu = process.cpuUsage();
  return { viewers: all.length, received, expected, bytes, cpuMicros: cpu.user + cpu.system };
}

process.on('message', (message: { cmd: string; whepUrl?: string; count?: number; concurrency?: number }) => {
  if (message.cmd === 'add') {
    const started = performance.now();
    void add(message.whepUrl!, message.count!, message.concurrency ?? 10).then((result) => process.send!({ cmd: 'added', ...result, ms: performance.now() - started }));
  } else if (message.cmd === 'stats') {
    process.send!({ cmd: 'stats', ...stats() });
  } else if (message.cmd === 'removeAll') {
    const removing = peers.splice(0);
    void Promise.allSettled(removing.map(async (pc) => {
      const url = resources.get(pc);
      resources.delete(pc);
      if (url) await fetch(url, { method: 'DELETE' }).catch(() => undefined);
      await pc.close();
    })).then(() => process.send!({ cmd: 'removed', count: removing.length }));
  } else if (message.cmd === 'close') {
    void Promise.allSettled(peers.map((pc) => pc.close())).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  }
});
process.on('disconnect', () => process.exit(0));
process.send!({ cmd: 'ready' });
