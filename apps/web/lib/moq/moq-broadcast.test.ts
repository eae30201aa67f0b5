/**
 * The WebTransport broadcaster's recovery policy with a fake session opener and fake time:
 * which failures end the broadcast, which fall back to WHIP, which are retried.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OnairError } from '@onair/shared/errors';
import type { BroadcastFigures, BroadcastStatus } from '../broadcast-status';
import { MoqBroadcast } from './moq-broadcast';
import { TransportUnavailableError, type MoqSession, type MoqSessionEnd, type MoqSessionFigures } from './moq-session';

class FakeSession implements MoqSession {
  readonly version = 'moq-lite-04';
  readonly closed: Promise<MoqSessionEnd>;
  end!: (end: MoqSessionEnd) => void;
  totals: MoqSessionFigures = { width: 1280, height: 720, videoCodec: 'avc1.42e01f', audioCodec: 'opus', videoFrames: 0, videoBytes: 0, audioBytes: 0, droppedFrames: 0, keyframeRequests: 0 };
  close = vi.fn(() => this.end({ detail: 'closed by the broadcaster', serverReason: null }));
  replaceStream = vi.fn();
  constructor() {
    this.closed = new Promise((resolve) => {
      this.end = resolve;
    });
  }
  figures() {
    return this.totals;
  }
}

let statuses: BroadcastStatus[];
let fallbacks: string[];
let stats: BroadcastFigures[];
const state = () => statuses.at(-1)?.state;

function broadcast(open: () => Promise<MoqSession>, unsupported: string | null = null) {
  return new MoqBroadcast({
    discoveryUrl: '/api/webtransport',
    streamKey: 'sk_test',
    stream: {} as MediaStream,
    onStatus: (s) => statuses.push(s),
    onStats: (s) => stats.push(s),
    onFallback: (reason) => fallbacks.push(reason),
    open: vi.fn(open),
    unsupported: () => unsupported,
  });
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
  statuses = [];
  fallbacks = [];
  stats = [];
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('MoqBroadcast', () => {
  it('goes live when the session opens and reports outgoing rates each second', async () => {
    const session = new FakeSession();
    const b = broadcast(async () => session);
    b.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(state()).toBe('live');
    await vi.advanceTimersByTimeAsync(1000);
    session.totals = { ...session.totals, videoFrames: 30, videoBytes: 312_500, audioBytes: 8000 };
    await vi.advanceTimersByTimeAsync(1000);
    expect(stats.at(-1)).toMatchObject({ width: 1280, height: 720, fps: 30, videoKbps: 2500, audioKbps: 64, encoder: 'WebCodecs · moq-lite-04' });
    await b.stop();
    expect(session.close).toHaveBeenCalled();
    expect(state()).toBe('idle');
  });

  it('a wrong key ends the broadcast with the server\'s detail, no retry, no fallback', async () => {
    const open = vi.fn(async () => {
      throw new OnairError('invalid_stream_key', 'The stream key is not valid (it may have been rotated).');
    });
    const b = broadcast(open);
    b.start();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(statuses.at(-1)).toEqual({ state: 'error', detail: 'The stream key is not valid (it may have been rotated).', code: 'invalid_stream_key' });
    expect(fallbacks).toEqual([]);
    await b.stop();
  });

  it('falls back to WHIP when QUIC cannot connect before going live, or the browser lacks support, or the server turned it off', async () => {
    broadcast(async () => {
      throw new TransportUnavailableError('WebTransport (QUIC over UDP) could not connect: no answer within 4000 ms');
    }).start();
    await vi.advanceTimersByTimeAsync(0);
    broadcast(async () => new FakeSession(), 'this browser has no WebTransport').start();
    broadcast(async () => {
      throw new OnairError('webtransport_disabled', 'WebTransport publishing is turned off on this server.');
    }).start();
    await vi.advanceTimersByTimeAsync(0);
    expect(fallbacks).toEqual(['WebTransport (QUIC over UDP) could not connect: no answer within 4000 ms', 'this browser has no WebTransport', 'WebTransport publishing is turned off on this server.']);
  });

  it('a live session that ends is reopened with backoff, not given up for WHIP', async () => {
    const sessions: FakeSession[] = [];
    let refuse = false;
    const b = broadcast(async () => {
      if (refuse) throw new TransportUnavailableError('WebTransport (QUIC over UDP) could not connect: handshake failed');
      const session = new FakeSession();
      sessions.push(session);
      return session;
    });
    b.start();
    await vi.advanceTimersByTimeAsync(0);
    refuse = true;
    sessions[0]!.end({ detail: 'the connection was lost', serverReason: null });
    await vi.advanceTimersByTimeAsync(0);
    expect(state()).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(5000);
    expect(fallbacks).toEqual([]);
    expect(state()).toBe('reconnecting');
    refuse = false;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sessions).toHaveLength(2);
    expect(state()).toBe('live');
    await b.stop();
  });

  it('stops, without a tug of war, when another broadcaster takes the stream over', async () => {
    const sessions: FakeSession[] = [];
    const b = broadcast(async () => {
      const session = new FakeSession();
      sessions.push(session);
      return session;
    });
    b.start();
    await vi.advanceTimersByTimeAsync(0);
    sessions[0]!.end({ detail: 'the server closed the session: replaced', serverReason: 'replaced' });
    await vi.advanceTimersByTimeAsync(30_000);
    expect(statuses.at(-1)).toMatchObject({ state: 'error', code: 'publisher_replaced' });
    expect(sessions).toHaveLength(1);
    expect(fallbacks).toEqual([]);
  });

  it('retries a server that cannot be reached yet', async () => {
    let calls = 0;
    const b = broadcast(async () => {
      calls += 1;
      if (calls < 3) throw new OnairError('upstream_unreachable', 'The server could not be reached.');
      return new FakeSession();
    });
    b.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(statuses.at(-1)).toMatchObject({ state: 'connecting', code: 'upstream_unreachable' });
    await vi.advanceTimersByTimeAsync(4000);
    expect(calls).toBe(3);
    expect(state()).toBe('live');
    await b.stop();
  });
});
