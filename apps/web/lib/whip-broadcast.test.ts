/**
 * The broadcaster's recovery policy with a fake WHIP client and fake time: which problems end
 * the broadcast with the server's detail, which are retried, and that stop() DELETEs.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OnairError, type ErrorCode } from '@onair/shared/errors';
import type { SessionState } from '@onair/shared/webrtc-client';
import type { BroadcastStatus } from './whip-broadcast';

const publishWhip = vi.fn();
vi.mock('@onair/shared/webrtc-client', () => ({ publishWhip: (...args: unknown[]) => publishWhip(...args) }));
const { WhipBroadcast } = await import('./whip-broadcast');

class FakeSession {
  state: SessionState = 'connecting';
  senders = [];
  iceServers: RTCIceServer[] = [];
  pc = { getTransceivers: () => [] };
  private listeners: ((s: SessionState) => void)[] = [];
  on(_event: 'state', fn: (s: SessionState) => void) {
    this.listeners.push(fn);
    return () => undefined;
  }
  emit(state: SessionState) {
    this.state = state;
    for (const fn of this.listeners) fn(state);
  }
  close = vi.fn(async () => undefined);
  /** Time of the last RTCP receiver report, as getStats shows it (undefined: none). */
  reportAt: number | undefined;
  async getStats() {
    return this.reportAt === undefined ? [] : [{ id: 'r', type: 'remote-inbound-rtp', kind: 'video', timestamp: this.reportAt }];
  }
}

let statuses: BroadcastStatus[];
const state = () => statuses.at(-1)?.state;

function broadcast() {
  return new WhipBroadcast({ whipUrl: '/whip', streamKey: 'key', stream: {} as MediaStream, onStatus: (s) => statuses.push(s) });
}

const problem = (code: ErrorCode, detail: string) => new OnairError(code, detail);

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance', 'Date'] });
  // Backoff jitter at its midpoint: the delays are then exactly 1 s, 2 s, … (±20 % made the
  // timings below flaky: a short first delay and a short second one land inside one window).
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
  publishWhip.mockReset();
  statuses = [];
});

afterEach(() => {
  vi.useRealTimers();
  vi.mocked(Math.random).mockRestore();
});

describe('WHIP broadcast', () => {
  it('connecting → live when the peer connection connects; stop() DELETEs and says idle', async () => {
    const session = new FakeSession();
    publishWhip.mockResolvedValueOnce(session);
    const b = broadcast();
    b.start();
    expect(state()).toBe('connecting');
    await vi.advanceTimersByTimeAsync(0);
    expect(publishWhip).toHaveBeenCalledWith('/whip', 'key', expect.anything(), expect.objectContaining({ videoCodec: 'h264' }));
    session.emit('connected');
    expect(state()).toBe('live');
    await b.stop();
    expect(session.close).toHaveBeenCalledTimes(1);
    expect(state()).toBe('idle');
  });

  it.each([
    ['invalid_stream_key', 'The stream key is not valid.'],
    ['missing_credentials', 'A stream key is required.'],
    ['no_supported_codec', 'Send H.264 or VP8.'],
    ['publisher_already_live', 'Someone is already live with this key.'],
  ] as const)('%s on the first attempt ends in error with the server’s detail, no retry', async (code, detail) => {
    publishWhip.mockRejectedValue(problem(code, detail));
    const b = broadcast();
    b.start();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(statuses.at(-1)).toEqual({ state: 'error', detail, code });
    expect(publishWhip).toHaveBeenCalledTimes(1);
    await b.stop();
  });

  it('retries an unreachable ingest with growing delays, then goes live', async () => {
    const session = new FakeSession();
    publishWhip
      .mockRejectedValueOnce(problem('upstream_unreachable', 'The ingest is unreachable.'))
      .mockRejectedValueOnce(problem('unavailable', 'Starting up.'))
      .mockResolvedValueOnce(session);
    const b = broadcast();
    b.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(state()).toBe('connecting');
    expect(statuses.at(-1)?.detail).toMatch(/unreachable.*Retrying in/);
    await vi.advanceTimersByTimeAsync(1300);
    expect(publishWhip).toHaveBeenCalledTimes(2);
    expect(state()).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(1300);
    expect(publishWhip).toHaveBeenCalledTimes(2); // second delay ~2 s
    await vi.advanceTimersByTimeAsync(1300);
    expect(publishWhip).toHaveBeenCalledTimes(3);
    session.emit('connected');
    expect(state()).toBe('live');
    await b.stop();
  });

  it('after a failed connection, DELETEs the old session and publishes again; its own leftover 409 is retried', async () => {
    const first = new FakeSession();
    const third = new FakeSession();
    publishWhip
      .mockResolvedValueOnce(first)
      .mockRejectedValueOnce(problem('publisher_already_live', 'still live'))
      .mockResolvedValueOnce(third);
    const b = broadcast();
    b.start();
    await vi.advanceTimersByTimeAsync(0);
    first.emit('connected');
    first.emit('failed');
    expect(state()).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(0);
    expect(first.close).toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(5000);
    expect(publishWhip).toHaveBeenCalledTimes(3);
    third.emit('connected');
    expect(state()).toBe('live');
    await b.stop();
  });

  it('a connection that stays disconnected for over 2 s is replaced', async () => {
    const first = new FakeSession();
    const second = new FakeSession();
    publishWhip.mockResolvedValueOnce(first).mockResolvedValueOnce(second);
    const b = broadcast();
    b.start();
    await vi.advanceTimersByTimeAsync(0);
    first.emit('connected');
    first.emit('disconnected');
    expect(state()).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(1500);
    expect(publishWhip).toHaveBeenCalledTimes(1); // a blip may recover by itself
    await vi.advanceTimersByTimeAsync(3000);
    expect(first.close).toHaveBeenCalled();
    expect(publishWhip).toHaveBeenCalledTimes(2);
    await b.stop();
  });

  it('replaces a session whose receiver reports stop (server gone) before ICE notices', async () => {
    const first = new FakeSession();
    const second = new FakeSession();
    publishWhip.mockResolvedValueOnce(first).mockResolvedValueOnce(second);
    const b = broadcast();
    b.start();
    await vi.advanceTimersByTimeAsync(0);
    first.emit('connected');
    for (let t = 1; t <= 5; t++) {
      first.reportAt = t * 1000; // a report every second
      await vi.advanceTimersByTimeAsync(1000);
    }
    expect(publishWhip).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(3000); // reports stop: still within 4 s
    expect(publishWhip).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(3000);
    expect(first.close).toHaveBeenCalled();
    expect(publishWhip).toHaveBeenCalledTimes(2);
    expect(statuses.map((s) => s.detail)).toContain('The server stopped responding. Reconnecting…');
    await b.stop();
  });
});
