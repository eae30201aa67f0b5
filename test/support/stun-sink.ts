/**
 * UDP sockets on loopback that count the STUN Binding requests they receive (RFC 8489 §5: type
 * 0x0001, magic cookie 0x2112A442). A candidate pointing at one of them shows whether, and how
 * often, a server sends ICE connectivity checks where a client told it to.
 */
import { createSocket, type Socket } from 'node:dgram';

export interface StunSink {
  /** One port per socket, in order. */
  ports: number[];
  /** Binding requests received per port. */
  requests(port: number): number;
  /** Ports that received at least one Binding request. */
  targetsHit(): number;
  /** Binding requests received on every socket together. */
  totalRequests(): number;
  close(): Promise<void>;
}

function isBindingRequest(packet: Buffer): boolean {
  return packet.length >= 20 && packet.readUInt16BE(0) === 0x0001 && packet.readUInt32BE(4) === 0x2112a442;
}

export async function startStunSink(count: number, host = '127.0.0.1'): Promise<StunSink> {
  const sockets: Socket[] = [];
  const counts = new Map<number, number>();
  for (let i = 0; i < count; i += 1) {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, host, () => resolve());
    });
    const port = socket.address().port;
    counts.set(port, 0);
    socket.on('message', (packet) => {
      if (isBindingRequest(packet)) counts.set(port, (counts.get(port) ?? 0) + 1);
    });
    sockets.push(socket);
  }
  return {
    ports: [...counts.keys()],
    requests: (port) => counts.get(port) ?? 0,
    targetsHit: () => [...counts.values()].filter((n) => n > 0).length,
    totalRequests: () => [...counts.values()].reduce((a, b) => a + b, 0),
    close: async () => {
      await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
    },
  };
}
