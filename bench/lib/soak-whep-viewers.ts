/**
 * WHEP viewers that never stop coming and going, for the soak: `size` werift viewers at a time,
 * each staying a random time, then leaving — most with DELETE (a player closing), one in four by
 * simply vanishing (a tab killed: the ingest must reclaim the session itself) — and replaced at
 * once. Every viewer must connect and receive video; one that stayed `mediaGraceMs` and got no
 * RTP packet counts as starved.
 */
import { RTCPeerConnection, RTCRtpCodecParameters } from 'werift';
import { connectedPromise, loopbackIce, waitGathered } from '../../test/support/peers/werift-h264-publisher';

export interface WhepChurnOptions {
  whepUrl: string;
  /** Viewers at a time. */
  size: number;
  /** Each viewer stays this long, ms (uniform). */
  lifetimeMs: [number, number];
  /** A viewer that stayed this long must have received video, ms. */
  mediaGraceMs?: number;
  /** Share of viewers that leave without DELETE. */
  vanishShare?: number;
  random?: () => number;
}

export interface WhepChurnStats {
  joined: number;
  left: number;
  vanished: number;
  failed: number;
  starved: number;
  packets: number;
  /** WHEP POST → ICE/DTLS connected, ms, of the last 200 joins. */
  connectMs: number[];
  errors: string[];
}

export class WhepChurn {
  private readonly opts: Required<WhepChurnOptions>;
  private running = false;
  private readonly slots: Array<Promise<void>> = [];
  private readonly live = new Set<{ pc: RTCPeerConnection; resource?: string }>();
  readonly stats: WhepChurnStats = { joined: 0, left: 0, vanished: 0, failed: 0, starved: 0, packets: 0, connectMs: [], errors: [] };

  constructor(options: WhepChurnOptions) {
    this.opts = { mediaGraceMs: 3_000, vanishShare: 0.25, random: Math.random, ...options };
  }

  start(): void {
    this.running = true;
    for (let i = 0; i < this.opts.size; i++) this.slots.push(this.slot(i));
  }

  /** Stops the churn; the viewers still there leave with DELETE. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.slots);
  }

  private error(message: string): void {
    if (this.stats.errors.length < 20) this.stats.errors.push(`${new Date().toISOString()} ${message}`);
  }

  /** One place in the pool: a viewer after another until stopped; staggered at the start. */
  private async slot(index: number): Promise<void> {
    await this.wait((index * this.opts.lifetimeMs[0]) / this.opts.size);
    while (this.running) {
      try {
        await this.viewer();
      } catch (error) {
        this.stats.failed += 1;
        this.error(`viewer failed: ${error instanceof Error ? error.message : String(error)}`);
        await this.wait(500);
      }
    }
  }

  private async viewer(): Promise<void> {
    const pc = new RTCPeerConnection({
      codecs: {
        video: [new RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90000, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }], parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' })],
        audio: [],
      },
      ...loopbackIce,
    });
    const entry: { pc: RTCPeerConnection; resource?: string } = { pc };
    this.live.add(entry);
    let packets = 0;
    pc.ontrack = ({ track }) => {
      track.onReceiveRtp.subscribe(() => {
        packets += 1;
        this.stats.packets += 1;
      });
    };
    let vanish = false;
    try {
      pc.addTransceiver('video', { direction: 'recvonly' });
      await pc.setLocalDescription(await pc.createOffer());
      await waitGathered(pc);
      const connected = connectedPromise(pc);
      connected.catch(() => undefined);
      const started = performance.now();
      const res = await fetch(this.opts.whepUrl, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription!.sdp, signal: AbortSignal.timeout(10_000) });
      if (res.status !== 201) throw new Error(`WHEP POST answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
      entry.resource = new URL(res.headers.get('location')!, this.opts.whepUrl).toString();
      await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
      await Promise.race([connected, this.wait(15_000).then(() => Promise.reject(new Error('ICE/DTLS did not connect within 15 s')))]);
      this.stats.joined += 1;
      this.stats.connectMs.push(Math.round(performance.now() - started));
      if (this.stats.connectMs.length > 200) this.stats.connectMs.shift();
      const [min, max] = this.opts.lifetimeMs;
      const stay = min + this.opts.random() * (max - min);
      const joinedAt = performance.now();
      await this.wait(stay, true);
      if (performance.now() - joinedAt >= this.opts.mediaGraceMs && packets === 0) {
        this.stats.starved += 1;
        this.error(`viewer stayed ${Math.round(performance.now() - joinedAt)} ms without a video packet`);
      }
      vanish = this.running && this.opts.random() < this.opts.vanishShare;
    } finally {
      this.live.delete(entry);
      if (vanish) this.stats.vanished += 1;
      else {
        this.stats.left += entry.resource ? 1 : 0;
        if (entry.resource) {
          await fetch(entry.resource, { method: 'DELETE', signal: AbortSignal.timeout(5_000) })
            .then((res) => {
              if (res.status !== 200 && res.status !== 204) this.error(`DELETE answered ${res.status}`);
            })
            .catch((error: unknown) => this.error(`DELETE failed: ${String(error)}`));
        }
      }
      // Vanishing: the peer stops answering ICE (its sockets close) without telling the server.
      await pc.close().catch(() => undefined);
    }
  }

  /** Waits `ms`; with `interruptible`, returns early when the churn stops. */
  private wait(ms: number, interruptible = false): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        clearInterval(poll);
        resolve();
      }, ms);
      const poll = setInterval(() => {
        if (interruptible && !this.running) {
          clearTimeout(timer);
          clearInterval(poll);
          resolve();
        }
      }, 100);
    });
  }
}
