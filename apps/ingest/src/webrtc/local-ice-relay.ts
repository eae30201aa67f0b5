/**
 * Reaches a browser on this machine that never sends ICE to a loopback address, for an ingest
 * whose media is on loopback only (the default). Firefox leaves loopback out of its candidates
 * (`media.peerconnection.ice.loopback` is false), will not pair its host address with the
 * ingest's 127.0.0.1 (nICEr pairs loopback only with loopback), and refuses to send even a
 * triggered check there ("STUN-CLIENT … Peer address is bogus" in its log): the ingest's own
 * checks to Firefox are answered, Firefox's never leave it. libnice (GStreamer) does the same.
 *
 * So per session, next to the engine's loopback socket, the relay offers one more host candidate
 * on each of this machine's own addresses (a "front" socket, one per address, existing only as
 * long as the session) and passes datagrams between it and the engine's socket:
 *
 *   browser 10.0.0.5:p ⇄ front 10.0.0.5:f ⇄ back 10.0.0.5:b (connected) ⇄ engine 127.0.0.1:e
 *
 * The back socket is bound to the browser's own address, so the engine sees the browser's
 * address (a peer-reflexive candidate, RFC 8445 §7.3.1.3) and its STUN answers map to it, not to
 * loopback, which nICEr would reject as bogus too.
 *
 * Nothing from another machine gets through: a front drops every datagram whose source is not one
 * of this machine's addresses (the kernel already drops packets arriving from the network with a
 * local source address: accept_local=0), a back socket is connected to the engine's loopback
 * address and hears nothing else, and a relay carries at most MAX_PEERS sources.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';

/** Distinct browser addresses (ip:port) one session's relay carries. */
const MAX_PEERS = 4;
/** Below the engines' own host candidates (local preference 65535), so a browser that can use loopback does. */
const LOCAL_PREFERENCE = 1000;

export interface LocalIceRelayOptions {
  /** The engine's host candidate: its loopback address and port. */
  engine: { address: string; port: number };
  /** This machine's addresses of the engine's family to offer (loopback and link-local left out). */
  addresses: string[];
  /** Every address of this machine, loopback included: the only sources a front accepts. */
  localSources: Set<string>;
  /** ONAIR_ICE_PORT_RANGE, for the front sockets. */
  portRange: [number, number] | undefined;
}

export interface LocalIceRelayStats {
  forwarded: number;
  /** Datagrams from a source that is not this machine, or beyond MAX_PEERS. */
  refused: number;
}

interface Front {
  socket: Socket;
  address: string;
  port: number;
}

export class LocalIceRelay {
  readonly stats: LocalIceRelayStats = { forwarded: 0, refused: 0 };
  private readonly fronts: Front[] = [];
  private readonly backs = new Map<string, Back>();
  private closed = false;

  private constructor(private readonly options: LocalIceRelayOptions) {}

  /** Binds one front per address; resolves once every front is bound (an address that fails is skipped). */
  static async open(options: LocalIceRelayOptions): Promise<LocalIceRelay> {
    const relay = new LocalIceRelay(options);
    for (const address of options.addresses) {
      const front = await bindFront(address, options.portRange).catch(() => undefined);
      if (!front) continue;
      if (relay.closed) {
        front.socket.close();
        continue;
      }
      relay.fronts.push(front);
      front.socket.on('message', (message, from) => relay.fromBrowser(front, message, from.address, from.port));
      front.socket.on('error', () => undefined);
    }
    return relay;
  }

  /** The fronts as `a=candidate:` values (host, component 1), one per bound address. */
  get candidates(): string[] {
    return this.fronts.map((front, index) => {
      const priority = (126 << 24) + (LOCAL_PREFERENCE << 8) + 255;
      return `onairlocal${index} 1 udp ${priority} ${front.address} ${front.port} typ host`;
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const front of this.fronts) front.socket.close();
    for (const back of this.backs.values()) back.socket.close();
    this.fronts.length = 0;
    this.backs.clear();
  }

  private fromBrowser(front: Front, message: Buffer, address: string, port: number): void {
    if (!this.options.localSources.has(address)) {
      this.stats.refused += 1;
      return;
    }
    const key = `${address} ${port}`;
    let back = this.backs.get(key);
    if (!back) {
      if (this.backs.size >= MAX_PEERS || this.closed) {
        this.stats.refused += 1;
        return;
      }
      back = this.openBack(front, address, port);
      this.backs.set(key, back);
    }
    this.stats.forwarded += 1;
    if (back.ready) back.socket.send(message);
    else if (back.queued.length < 16) back.queued.push(message); // the first checks, while it binds
  }

  /** A socket on the browser's own address, connected to the engine: it hears only the engine. */
  private openBack(front: Front, address: string, port: number): Back {
    const { engine } = this.options;
    const back: Back = { socket: createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4' }), ready: false, queued: [] };
    back.socket.on('error', () => undefined);
    back.socket.on('message', (message) => {
      if (this.closed) return;
      this.stats.forwarded += 1;
      front.socket.send(message, port, address);
    });
    back.socket.bind(0, address, () => {
      back.socket.connect(engine.port, engine.address, () => {
        back.ready = true;
        for (const message of back.queued.splice(0)) back.socket.send(message);
      });
    });
    return back;
  }
}

interface Back {
  socket: Socket;
  ready: boolean;
  queued: Buffer[];
}

async function bindFront(address: string, portRange: [number, number] | undefined): Promise<Front> {
  const tries = portRange ? Math.min(32, portRange[1] - portRange[0] + 1) : 1;
  let lastError: unknown;
  for (let attempt = 0; attempt < tries; attempt += 1) {
    const port = portRange ? portRange[0] + Math.floor(Math.random() * (portRange[1] - portRange[0] + 1)) : 0;
    const socket = createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4' });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(port, address, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      return { socket, address, port: socket.address().port };
    } catch (error) {
      lastError = error;
      socket.close();
    }
  }
  throw lastError;
}

/**
 * The answer with `candidates` added after the candidates of each m-section that has some (with
 * BUNDLE, one transport: the same sockets serve every section).
 */
export function withCandidates(answer: string, candidates: string[]): string {
  if (candidates.length === 0) return answer;
  const eol = answer.includes('\r\n') ? '\r\n' : '\n';
  const lines = answer.split(/\r?\n/);
  const out: string[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    out.push(lines[i]!);
    if (lines[i]!.startsWith('a=candidate:') && !lines[i + 1]?.startsWith('a=candidate:')) {
      for (const candidate of candidates) out.push(`a=candidate:${candidate}`);
    }
  }
  return out.join(eol);
}

/** The engine's own UDP host candidate on `address` (component 1) in its answer. */
export function engineCandidate(answer: string, address: string): { address: string; port: number } | undefined {
  for (const line of answer.split(/\r?\n/)) {
    const fields = /^a=candidate:\S+ 1 udp \d+ (\S+) (\d+) typ host/i.exec(line);
    if (fields && fields[1] === address) return { address, port: Number(fields[2]) };
  }
  return undefined;
}
