import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { UdpPortAllocator } from './udp-ports';

function bind(port: number): Promise<ReturnType<typeof createSocket>> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => resolve(socket));
  });
}

describe('UdpPortAllocator', () => {
  it('hands out an even RTP port with the next odd port for RTCP, both bindable', async () => {
    const allocator = new UdpPortAllocator({ min: 43001, max: 43099 });
    const pair = await allocator.allocate();
    expect(pair.rtp % 2).toBe(0);
    expect(pair.rtcp).toBe(pair.rtp + 1);
    expect(pair.rtp).toBeGreaterThanOrEqual(43002);
    expect(pair.rtcp).toBeLessThanOrEqual(43099);
    const sockets = await Promise.all([bind(pair.rtp), bind(pair.rtcp)]);
    sockets.forEach((s) => s.close());
  });

  it('never hands out a reserved pair twice, and reuses it after release', async () => {
    const allocator = new UdpPortAllocator({ min: 43100, max: 43105 });
    const pairs = await Promise.all([allocator.allocate(), allocator.allocate(), allocator.allocate()]);
    expect(new Set(pairs.map((p) => p.rtp)).size).toBe(3);
    await expect(allocator.allocate()).rejects.toThrow(/no free UDP port pair/);
    allocator.release(pairs[1]);
    expect(await allocator.allocate()).toEqual(pairs[1]);
  });

  it('skips a pair whose RTP or RTCP port is taken by someone else', async () => {
    const busy = await bind(43111); // the RTCP port of the pair 43110/43111
    try {
      const allocator = new UdpPortAllocator({ min: 43110, max: 43113 });
      expect(await allocator.allocate()).toEqual({ rtp: 43112, rtcp: 43113 });
      await expect(allocator.allocate()).rejects.toThrow(/no free/);
    } finally {
      busy.close();
    }
  });

  it('rejects a range with no pair', () => {
    expect(() => new UdpPortAllocator({ min: 43200, max: 43200 })).toThrow(/no even\/odd pair/);
  });
});
