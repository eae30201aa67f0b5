/**
 * UDP port pairs for ffmpeg's RTP input. ffmpeg's SDP demuxer binds the RTP port from the SDP
 * and RTP+1 for RTCP (RFC 3550 §11: RTP on an even port, RTCP on the next odd one), so a pair is
 * only handed out when both ports bind on the loopback address right now. Pairs stay reserved
 * in this process until released, so two jobs never get the same pair; the small window between
 * the bind test and ffmpeg's own bind is the price of not passing sockets to a child process.
 */
import { createSocket } from 'node:dgram';

export interface PortPair {
  rtp: number;
  rtcp: number;
}

export interface UdpPortAllocatorOptions {
  host?: string;
  /** Inclusive range to pick from. Default 20000–29999. */
  min?: number;
  max?: number;
}

export class UdpPortAllocator {
  private readonly host: string;
  private readonly min: number;
  private readonly max: number;
  private readonly reserved = new Set<number>();
  private next: number;

  constructor(opts: UdpPortAllocatorOptions = {}) {
    this.host = opts.host ?? '127.0.0.1';
    this.min = evenUp(opts.min ?? 20000);
    this.max = opts.max ?? 29999;
    if (this.min + 1 > this.max) throw new Error(`UDP port range ${this.min}-${this.max} holds no even/odd pair`);
    // Start at a random even port so restarts of the service do not fight over the same ports.
    const pairs = Math.floor((this.max - this.min + 1) / 2);
    this.next = this.min + 2 * Math.floor(Math.random() * pairs);
  }

  /** An even RTP port whose odd successor is also free. Throws when the range is exhausted. */
  async allocate(): Promise<PortPair> {
    const pairs = Math.floor((this.max - this.min + 1) / 2);
    for (let tried = 0; tried < pairs; tried++) {
      const rtp = this.next;
      this.next = this.next + 2 > this.max - 1 ? this.min : this.next + 2;
      if (this.reserved.has(rtp)) continue;
      if (await canBindPair(this.host, rtp)) {
        this.reserved.add(rtp);
        return { rtp, rtcp: rtp + 1 };
      }
    }
    throw new Error(`no free UDP port pair in ${this.min}-${this.max}`);
  }

  release(pair: PortPair | undefined): void {
    if (pair) this.reserved.delete(pair.rtp);
  }

  get reservedCount(): number {
    return this.reserved.size;
  }
}

function evenUp(port: number): number {
  return port % 2 === 0 ? port : port + 1;
}

async function canBindPair(host: string, rtp: number): Promise<boolean> {
  const first = await tryBind(host, rtp);
  if (!first) return false;
  const second = await tryBind(host, rtp + 1);
  await close(first);
  if (!second) return false;
  await close(second);
  return true;
}

function tryBind(host: string, port: number): Promise<ReturnType<typeof createSocket> | null> {
  return new Promise((resolve) => {
    const socket = createSocket({ type: 'udp4', reuseAddr: false });
    socket.once('error', () => {
      socket.close();
      resolve(null);
    });
    socket.bind({ port, address: host, exclusive: true }, () => resolve(socket));
  });
}

function close(socket: ReturnType<typeof createSocket>): Promise<void> {
  return new Promise((resolve) => socket.close(() => resolve()));
}
