/**
 * A stand-in for the ingest's admin API, enough for the transcoder: `GET /api/events` (SSE),
 * `GET /api/streams/:id`, `POST/DELETE /api/streams/:id/forwards`, `POST …/forwards/:fid/keyframe`. Each live stream is an
 * ffmpeg RTP test source sending to internal UDP ports; like the real ingest, the fake relays
 * those packets to every forward's ports and answers with an SDP describing them.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startFfmpegRtpSource, type FfmpegRtpSource } from '../../../../test/support/ffmpeg-rtp-source';
import type { UdpPortAllocator } from '../net/udp-ports';

interface FakeStream {
  id: string;
  name: string;
  width: number;
  height: number;
  source: FfmpegRtpSource;
  sockets: { video: Socket; audio: Socket; rtcp: Socket[] };
  forwards: Map<string, { host: string; videoPort: number; audioPort: number }>;
}

export class FakeIngest {
  readonly server: Server;
  readonly streams = new Map<string, FakeStream>();
  /** Every request seen, as `METHOD path` (for assertions). */
  readonly requests: string[] = [];
  private readonly clients = new Set<ServerResponse>();
  private nextForward = 1;

  constructor(
    private readonly token: string,
    private readonly ports: UdpPortAllocator,
  ) {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Starts a source and announces `stream.live`. */
  async goLive(id: string, name: string, size = { width: 640, height: 360 }): Promise<void> {
    const video = await this.ports.allocate();
    const audio = await this.ports.allocate();
    // RTCP ports bound too (and ignored), so neither side gets ICMP port-unreachable.
    const sockets = { video: await bindUdp(video.rtp), audio: await bindUdp(audio.rtp), rtcp: [await bindUdp(video.rtcp), await bindUdp(audio.rtcp)] };
    const source = await startFfmpegRtpSource({ videoPort: video.rtp, audioPort: audio.rtp, ...size });
    const stream: FakeStream = { id, name, ...size, source, sockets, forwards: new Map() };
    for (const kind of ['video', 'audio'] as const) {
      sockets[kind].on('message', (packet) => {
        for (const f of stream.forwards.values()) sockets[kind].send(packet, kind === 'video' ? f.videoPort : f.audioPort, f.host);
      });
    }
    this.streams.set(id, stream);
    this.broadcast('stream.live', stream);
  }

  /** Changes the size the fake reports as measured (a WebRTC publisher ramping up). */
  setReportedSize(id: string, width: number, height: number): void {
    const stream = this.streams.get(id);
    if (stream) Object.assign(stream, { width, height });
  }

  /** Forgets every forward of a stream without a word (what an ingest restart looks like). */
  dropForwards(id: string): void {
    this.streams.get(id)?.forwards.clear();
  }

  /** Stops the source and announces `stream.offline`. */
  async goOffline(id: string): Promise<void> {
    const stream = this.streams.get(id);
    if (!stream) return;
    this.streams.delete(id);
    await stream.source.stop();
    for (const socket of [stream.sockets.video, stream.sockets.audio, ...stream.sockets.rtcp]) socket.close();
    this.broadcast('stream.offline', stream);
  }

  /** Drops every event-stream connection (the transcoder must reconnect). */
  dropEventStreams(): void {
    for (const res of this.clients) res.destroy();
    this.clients.clear();
  }

  async close(): Promise<void> {
    for (const id of [...this.streams.keys()]) await this.goOffline(id);
    this.dropEventStreams();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private broadcast(event: string, stream: FakeStream): void {
    for (const res of this.clients) res.write(`event: ${event}\ndata: ${JSON.stringify({ streamId: stream.id, name: stream.name })}\n\n`);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    this.requests.push(`${req.method} ${path}`);
    if (req.headers.authorization !== `Bearer ${this.token}`) return json(res, 401, { code: 'missing_credentials' });
    if (req.method === 'GET' && path === '/api/events') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' });
      res.flushHeaders();
      this.clients.add(res);
      res.on('close', () => this.clients.delete(res));
      for (const stream of this.streams.values()) res.write(`event: stream.live\ndata: ${JSON.stringify({ streamId: stream.id, name: stream.name })}\n\n`);
      return;
    }
    let m = /^\/api\/streams\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && m) {
      const stream = this.streams.get(m[1]!);
      if (!stream) return json(res, 404, { code: 'stream_not_found' });
      return json(res, 200, { id: stream.id, name: stream.name, state: { live: true, video: { codec: 'H264', width: stream.width, height: stream.height, fps: 30 } } });
    }
    m = /^\/api\/streams\/([^/]+)\/forwards$/.exec(path);
    if (req.method === 'POST' && m) {
      const stream = this.streams.get(m[1]!);
      if (!stream) return json(res, 404, { code: 'stream_offline' });
      const body = JSON.parse(await readAll(req)) as { host: string; videoPort: number; audioPort: number };
      const id = `f${this.nextForward++}`;
      stream.forwards.set(id, body);
      const sdp = stream.source.sdp.replace(/^m=video \d+/m, `m=video ${body.videoPort}`).replace(/^m=audio \d+/m, `m=audio ${body.audioPort}`);
      return json(res, 201, { id, sdp });
    }
    m = /^\/api\/streams\/([^/]+)\/forwards\/([^/]+)\/keyframe$/.exec(path);
    if (req.method === 'POST' && m) {
      // The test source sends a keyframe every second anyway; the call is what is checked.
      if (!this.streams.get(m[1]!)?.forwards.has(m[2]!)) return json(res, 404, { code: 'session_not_found' });
      res.writeHead(202).end();
      return;
    }
    m = /^\/api\/streams\/([^/]+)\/forwards\/([^/]+)$/.exec(path);
    if (req.method === 'DELETE' && m) {
      const stream = this.streams.get(m[1]!);
      if (!stream?.forwards.delete(m[2]!)) return json(res, 404, { code: 'not_found' });
      res.writeHead(204).end();
      return;
    }
    json(res, 404, { code: 'not_found' });
  }
}

function json(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': status >= 400 ? 'application/problem+json' : 'application/json' }).end(body);
}

async function readAll(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

function bindUdp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => resolve(socket));
  });
}
