import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';

/** A TCP port that was free on 127.0.0.1 a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** An even UDP port whose successor is free too (ffmpeg binds RTP and RTCP = RTP + 1). */
export async function freeRtpPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + 2 * Math.floor(Math.random() * 10000);
    const sockets = [createSocket('udp4'), createSocket('udp4')];
    const ok = await Promise.all(sockets.map((socket, i) => new Promise<boolean>((resolve) => {
      socket.once('error', () => resolve(false));
      socket.bind(port + i, '127.0.0.1', () => resolve(true));
    })));
    await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => { try { socket.close(() => resolve()); } catch { resolve(); } })));
    if (ok.every(Boolean)) return port;
  }
  throw new Error('no free RTP port pair');
}

/** Whether a local UDP socket is bound to `port` (the table in /proc/net/udp, ports in hex). */
export async function udpPortBound(port: number): Promise<boolean> {
  const table = await readFile('/proc/net/udp', 'utf8');
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return table.split('\n').some((line) => line.trim().split(/\s+/)[1]?.endsWith(hex));
}
