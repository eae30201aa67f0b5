/**
 * The WebRTC → HLS fallback policy on a fake clock: each case is a situation a viewer meets and
 * the moment the player should (or should not) give up on WebRTC.
 */
import { describe, expect, it } from 'vitest';
import { FallbackPolicy, parseModePreference } from './playback-fallback';
import type { PlayerState } from './playback';

/** `frames:<n>`: the session's framesDecoded as getStats reports it (about once a second). */
type Event = PlayerState | 'connected' | 'new-session' | `frames:${number}`;

/** Replays `[ms, event]` events from t=0 and returns the first time (checked every 100 ms up to `until`) the policy says switch. */
function firstSwitch(events: Array<[number, Event]>, until: number, webrtcAvailable = true): { at: number; reason: string } | null {
  const policy = new FallbackPolicy(0);
  let next = 0;
  for (let t = 0; t <= until; t += 100) {
    while (next < events.length && events[next]![0] <= t) {
      const [at, event] = events[next++]!;
      if (event === 'connected' || event === 'new-session') policy.observeTransport(event === 'connected');
      else if (event.startsWith('frames:')) policy.observeFramesDecoded(Number(event.slice(7)), at);
      else policy.observe(event as PlayerState, at);
    }
    const reason = policy.decide(t, webrtcAvailable);
    if (reason) return { at: t, reason };
  }
  return null;
}

describe('FallbackPolicy', () => {
  it('keeps WebRTC when it goes live within 4 s', () => {
    expect(firstSwitch([[0, 'connecting'], [900, 'live']], 60_000)).toBeNull();
  });

  it('falls back 4 s after starting when ICE never connects', () => {
    expect(firstSwitch([[0, 'connecting']], 60_000)).toEqual({ at: 4000, reason: 'connect_timeout' });
  });

  it('waits longer for the first keyframe once connected, but not forever', () => {
    expect(firstSwitch([[0, 'connecting'], [600, 'connected'], [5900, 'live']], 60_000)).toBeNull();
    expect(firstSwitch([[0, 'connecting'], [600, 'connected']], 60_000)).toEqual({ at: 10_000, reason: 'connect_timeout' });
    // Connected, then the session failed and the next one does not connect: back to 4 s.
    expect(firstSwitch([[0, 'connecting'], [600, 'connected'], [2000, 'reconnecting'], [2000, 'new-session']], 60_000)).toEqual({ at: 4000, reason: 'connect_timeout' });
  });

  it('falls back when the POST keeps failing (5xx, network error)', () => {
    expect(firstSwitch([[0, 'connecting'], [150, 'reconnecting'], [1300, 'connecting'], [1400, 'reconnecting']], 60_000)).toEqual({ at: 4000, reason: 'connect_timeout' });
  });

  it('does not count time offline: the stream is not live, HLS would not play either', () => {
    // Offline for a minute, then the stream goes live and WebRTC connects within a second.
    expect(firstSwitch([[0, 'connecting'], [100, 'offline'], [60_000, 'connecting'], [60_800, 'live']], 120_000)).toBeNull();
    // …or does not connect: 4 s from when it started trying again.
    expect(firstSwitch([[0, 'connecting'], [100, 'offline'], [60_000, 'connecting']], 120_000)).toEqual({ at: 64_000, reason: 'connect_timeout' });
  });

  it('gives a stream that was live 6 s to recover, and lets a quick recovery pass', () => {
    expect(firstSwitch([[0, 'connecting'], [800, 'live'], [10_000, 'reconnecting'], [11_500, 'live']], 60_000)).toBeNull();
    expect(firstSwitch([[0, 'connecting'], [800, 'live'], [10_000, 'reconnecting']], 60_000)).toEqual({ at: 16_000, reason: 'recover_timeout' });
  });

  it('does not blame WebRTC while the session that played is still connected (the publisher stopped sending)', () => {
    expect(firstSwitch([[0, 'connecting'], [500, 'connected'], [800, 'live'], [10_000, 'reconnecting']], 60_000)).toBeNull();
    // The mode gives up on the silent session and the new one does not connect: 6 s from the start of the outage.
    expect(firstSwitch([[0, 'connecting'], [500, 'connected'], [800, 'live'], [10_000, 'reconnecting'], [13_000, 'new-session']], 60_000)).toEqual({ at: 16_000, reason: 'recover_timeout' });
  });

  it('does not fall back when the broadcaster stops (reconnecting, then offline)', () => {
    expect(firstSwitch([[0, 'connecting'], [800, 'live'], [10_000, 'reconnecting'], [12_500, 'offline']], 60_000)).toBeNull();
  });

  /** getStats samples once a second from `from` to `to`, framesDecoded rising by `perSecond`. */
  const decoding = (from: number, to: number, perSecond = 6, start = 0): Array<[number, Event]> =>
    Array.from({ length: Math.floor((to - from) / 1000) + 1 }, (_, i) => [from + i * 1000, `frames:${start + i * perSecond}`] as [number, Event]);

  it('does not fall back while frames are decoding on a machine too busy to render them (44 frames decoded at 7 s)', () => {
    // ICE/DTLS up late (the machine is slow), frames decoding from 2 s, no frame rendered yet.
    expect(firstSwitch([[0, 'connecting'], ...decoding(2000, 60_000)], 60_000)).toBeNull();
    expect(firstSwitch([[0, 'connecting'], [1500, 'connected'], ...decoding(2000, 60_000)], 60_000)).toBeNull();
    // Was live, rendering starved (the mode says reconnecting), decoding goes on.
    expect(firstSwitch([[0, 'connecting'], [800, 'live'], [5000, 'reconnecting'], ...decoding(5000, 60_000, 6, 30)], 60_000)).toBeNull();
  });

  it('falls back when decoding stops and WebRTC does not recover: the clock starts at the last frame decoded', () => {
    // Frames decoded until 5 s on a session that then drops (not connected): 6 s after the last progress.
    expect(firstSwitch([[0, 'connecting'], ...decoding(2000, 5000), [5500, 'reconnecting']], 60_000)).toEqual({ at: 11_000, reason: 'recover_timeout' });
    // The count standing still is not progress; a new session starting from 0 is not either.
    expect(firstSwitch([[0, 'connecting'], [1000, 'frames:0'], [2000, 'frames:0'], [3000, 'frames:0']], 60_000)).toEqual({ at: 4000, reason: 'connect_timeout' });
    expect(firstSwitch([[0, 'connecting'], [1000, 'frames:40'], [1500, 'reconnecting'], [2000, 'frames:0'], [3000, 'frames:0']], 60_000)).toEqual({ at: 7000, reason: 'recover_timeout' });
  });

  it("switches at once when the browser cannot decode the stream's codec; an unknown codec changes nothing", () => {
    const policy = new FallbackPolicy(0);
    policy.observe('connecting', 0);
    policy.observeVideoCodec(null);
    expect(policy.decide(100)).toBeNull();
    policy.observeVideoCodec(true);
    expect(policy.decide(200)).toBeNull();
    policy.observeVideoCodec(false);
    expect(policy.decide(300)).toBe('codec_unsupported');
    // Even while frames were decoding (they cannot be, but the answer must not depend on it).
    policy.observeFramesDecoded(10, 400);
    expect(policy.decide(400)).toBe('codec_unsupported');
  });

  it("says codec_unsupported when the WHEP answer is 406 no_supported_codec (the page's early POST beat the live list's codec check)", () => {
    const policy = new FallbackPolicy(0);
    policy.observe('connecting', 0);
    policy.observe('error', 150, 'no_supported_codec');
    expect(policy.decide(150)).toBe('codec_unsupported');
    const other = new FallbackPolicy(0);
    other.observe('error', 150, 'invalid_sdp');
    expect(other.decide(150)).toBe('webrtc_error');
  });

  it('switches at once on a hard error or without WebRTC', () => {
    expect(firstSwitch([[0, 'connecting'], [200, 'error']], 60_000)).toEqual({ at: 200, reason: 'webrtc_error' });
    expect(firstSwitch([], 60_000, false)).toEqual({ at: 0, reason: 'webrtc_unavailable' });
  });
});

describe('parseModePreference', () => {
  it.each([
    ['hls', 'hls'],
    ['webrtc', 'webrtc'],
    [['hls', 'webrtc'], 'hls'],
    ['HLS', 'auto'],
    [undefined, 'auto'],
    ['', 'auto'],
  ] as const)('%j → %s', (value, expected) => {
    expect(parseModePreference(value as string | string[] | undefined)).toBe(expected);
  });
});
