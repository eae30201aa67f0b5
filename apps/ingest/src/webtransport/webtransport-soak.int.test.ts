/**
 * 500 sessions whose clients vanish without a goodbye (no CLOSE capsule, no CONNECTION_CLOSE:
 * the socket just goes), each with a half-written stream: the server reclaims them by its idle
 * timeout, keeps serving, and its memory returns near where it started.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../../../test/support/poll';
import { readAll, startTestServer, text, untext, writeAll, type TestServer } from './testing/harness';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const SESSIONS = 500;
const BATCH = 25;
const MiB = 1024 * 1024;

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({
    keepSessions: false,
    paths: ['/moq'],
    limits: { maxSessionsPerIp: SESSIONS, maxConnectionsPerIp: SESSIONS, idleTimeoutMs: 1500, sessionlessTimeoutMs: 3000 },
  });
  // The server echoes every bidirectional stream of every session, until the session ends.
  t.server.on('session', (session) => {
    void (async () => {
      const reader = session.incomingBidirectionalStreams.getReader();
      for (let next = await reader.read(); !next.done; next = await reader.read()) {
        const stream = next.value as WebTransportBidirectionalStream;
        void stream.readable.pipeTo(stream.writable).catch(() => {});
      }
    })().catch(() => {});
  });
});

afterAll(async () => {
  await t?.server.close();
});

function memory(): { heapMiB: number; rssMiB: number } {
  gc();
  gc();
  const usage = process.memoryUsage();
  return { heapMiB: usage.heapUsed / MiB, rssMiB: usage.rss / MiB };
}

async function echoOnce(): Promise<string> {
  const client = await t.connect('/moq');
  const stream = await client.createBidirectionalStream();
  await writeAll(stream.writable, text('alive'));
  const answer = untext(await readAll(stream.readable));
  client.close();
  return answer;
}

describe('abandoned sessions', () => {
  it(`${SESSIONS} vanished clients: the server stays up and its memory comes back`, { timeout: 180_000 }, async () => {
    // Warm up (JIT, pools, the first TLS contexts), then take the baseline.
    for (let i = 0; i < 10; i++) expect(await echoOnce()).toBe('alive');
    await pollUntil('warm-up sessions gone', () => t.server.getStats().connections === 0 || undefined, { timeoutMs: 20_000 });
    const baseline = memory();

    const round = async () => {
      const started = performance.now();
      let peakSessions = 0;
      for (let done = 0; done < SESSIONS / 2; done += BATCH) {
        await Promise.all(
          Array.from({ length: BATCH }, async () => {
            const client = await t.connect('/moq', { timeoutMs: 20_000 });
            const writer = (await client.createUnidirectionalStream()).getWriter();
            await writer.write(new Uint8Array(8 * 1024)); // a stream left half-written
            client.connection.abandon();
          }),
        );
        peakSessions = Math.max(peakSessions, t.server.getStats().sessions);
      }
      const openedMs = performance.now() - started;
      await pollUntil('every abandoned connection reclaimed', () => t.server.getStats().connections === 0 || undefined, { timeoutMs: 60_000, intervalMs: 250 });
      expect(t.server.getStats()).toMatchObject({ sessions: 0, streams: 0, bufferedBytes: 0 });
      return { openedMs, peakSessions, memory: memory() };
    };
    // Two rounds of half each: freed native memory stays with the allocator (RSS does not
    // shrink), but a leak would make the second round grow RSS as much as the first.
    const first = await round();
    const second = await round();
    expect(await echoOnce()).toBe('alive');
    await pollUntil('the check session gone', () => t.server.getStats().connections === 0 || undefined, { timeoutMs: 20_000 });
    const after = memory();
    const firstGrowth = first.memory.rssMiB - baseline.rssMiB;
    const secondGrowth = second.memory.rssMiB - first.memory.rssMiB;
    console.log(
      `2 × ${SESSIONS / 2} abandoned sessions, opened in ${(first.openedMs / 1000).toFixed(1)} + ${(second.openedMs / 1000).toFixed(1)} s (peak ${Math.max(first.peakSessions, second.peakSessions)} live); ` +
        `heap ${baseline.heapMiB.toFixed(1)} → ${first.memory.heapMiB.toFixed(1)} → ${second.memory.heapMiB.toFixed(1)} → ${after.heapMiB.toFixed(1)} MiB, ` +
        `rss ${baseline.rssMiB.toFixed(0)} → ${first.memory.rssMiB.toFixed(0)} → ${second.memory.rssMiB.toFixed(0)} → ${after.rssMiB.toFixed(0)} MiB`,
    );
    // Client and server share this process: both ends' state is in these figures.
    expect(after.heapMiB - baseline.heapMiB).toBeLessThan(4);
    expect(secondGrowth).toBeLessThan(firstGrowth * 0.75 + 8);
  });
});
