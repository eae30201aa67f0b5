import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EARLY_WHEP_KEY, earlyWhepScript, takeEarlyWhep, type EarlyWhep } from './whep-early';

/** Just enough of RTCPeerConnection for the inline script: an offer, an answer, events, close(). */
class FakePeerConnection {
  static made: FakePeerConnection[] = [];
  transceivers: Array<[string, unknown]> = [];
  localDescription: { sdp: string } | null = null;
  remoteDescription: { type: string; sdp: string } | null = null;
  listeners = new Map<string, Array<(event: unknown) => void>>();
  closed = false;
  constructor(readonly config: unknown) {
    FakePeerConnection.made.push(this);
  }
  addEventListener(type: string, listener: (event: unknown) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  fire(type: string, event: unknown): void {
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }
  addTransceiver(kind: string, init: unknown): void {
    this.transceivers.push([kind, init]);
  }
  createOffer() {
    return Promise.resolve({ type: 'offer', sdp: 'v=0\r\nfake-offer\r\n' });
  }
  setLocalDescription(offer: { sdp: string }) {
    this.localDescription = offer;
    return Promise.resolve();
  }
  setRemoteDescription(description: { type: string; sdp: string }) {
    this.remoteDescription = description;
    return Promise.resolve();
  }
  close(): void {
    this.closed = true;
  }
}

class FakeMediaStream {
  tracks: unknown[] = [];
  getTracks() {
    return this.tracks;
  }
  addTrack(track: unknown) {
    this.tracks.push(track);
  }
}

/** Runs the page's inline script alone, in a context that has only what a browser page gives it. */
function runScript(script: string, { withWebrtc = true, status = 201, receives = ['video/VP8', 'video/H264', 'video/rtx'] } = {}) {
  FakePeerConnection.made = [];
  const posts: Array<{ url: string; init: { method: string; headers: Record<string, string>; body: string } }> = [];
  const window: Record<string, unknown> = {};
  const video: { srcObject: unknown } = { srcObject: null };
  const selectors: string[] = [];
  const context: Record<string, unknown> = {
    window,
    document: {
      querySelector: (selector: string) => (selectors.push(selector), video),
      addEventListener: () => undefined,
    },
    performance: { now: () => 42 },
    MediaStream: FakeMediaStream,
    fetch: (url: string, init: (typeof posts)[number]['init']) => {
      posts.push({ url, init });
      return Promise.resolve(new Response(status === 201 ? 'v=0\r\nfake-answer\r\n' : '{"code":"stream_offline"}', { status, headers: status === 201 ? { location: '/whep/sessions/s1', 'content-type': 'application/sdp' } : { 'content-type': 'application/problem+json' } }));
    },
    Promise,
  };
  if (withWebrtc) {
    context.RTCPeerConnection = FakePeerConnection;
    context.RTCRtpReceiver = Object.assign(function RTCRtpReceiver() {}, { getCapabilities: (kind: string) => (kind === 'video' ? { codecs: receives.map((mimeType) => ({ mimeType })) } : null) });
  }
  runInNewContext(script, context);
  return { window, posts, video, selectors };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('the watch page inline WHEP script', () => {
  it('POSTs a recvonly audio + video offer, applies the answer and plays the tracks on the page video', async () => {
    const { window, posts, video, selectors } = runScript(earlyWhepScript('/whep/demo', 'video.player'));
    const early = window[EARLY_WHEP_KEY] as EarlyWhep;
    const answer = await early.answer;
    expect(posts).toHaveLength(1);
    expect(posts[0]!.url).toBe('/whep/demo');
    expect(posts[0]!.init.method).toBe('POST');
    expect(posts[0]!.init.headers['content-type']).toBe('application/sdp');
    expect(posts[0]!.init.body).toContain('fake-offer');
    const pc = FakePeerConnection.made[0]!;
    expect(pc.transceivers).toEqual([
      ['video', { direction: 'recvonly' }],
      ['audio', { direction: 'recvonly' }],
    ]);
    expect(pc.remoteDescription).toEqual({ type: 'answer', sdp: 'v=0\r\nfake-answer\r\n' });
    expect(answer).toMatchObject({ status: 201, location: '/whep/sessions/s1' });
    expect(early).toMatchObject({ url: '/whep/demo', started: 42, offerSentAt: 42 });
    // A track arrives: it plays on the page's video, in the stream the player will adopt.
    expect(video.srcObject).toBeNull();
    pc.fire('track', { track: 'video-track' });
    expect(selectors).toContain('video.player');
    expect(video.srcObject).toBe(early.stream);
    expect(early.stream.getTracks()).toEqual(['video-track']);
  });

  it('leaves a refusal (stream offline) for the player to read, without applying it', async () => {
    const { window } = runScript(earlyWhepScript('/whep/demo', 'video'), { status: 404 });
    const answer = await (window[EARLY_WHEP_KEY] as EarlyWhep).answer;
    expect(answer).toMatchObject({ status: 404, body: '{"code":"stream_offline"}', contentType: 'application/problem+json' });
    expect(FakePeerConnection.made[0]!.remoteDescription).toBeNull();
  });

  it('does nothing where there is no WebRTC (the player falls back on its own)', async () => {
    const { window, posts } = runScript(earlyWhepScript('/whep/demo', 'video'), { withWebrtc: false });
    await flush();
    expect(posts).toEqual([]);
    expect(window[EARLY_WHEP_KEY]).toBeUndefined();
  });

  it('leaves a browser that receives neither H.264 nor VP8 to the player (its codec check goes to HLS)', async () => {
    const { window, posts } = runScript(earlyWhepScript('/whep/demo', 'video'), { receives: ['video/AV1', 'video/VP9', 'video/rtx'] });
    await flush();
    expect(posts).toEqual([]);
    expect(window[EARLY_WHEP_KEY]).toBeUndefined();
    // VP8 alone is enough (Firefox without OpenH264: the ingest sends the VP8 rendition).
    const vp8 = runScript(earlyWhepScript('/whep/demo', 'video'), { receives: ['video/VP8'] });
    await flush();
    expect(vp8.posts).toHaveLength(1);
  });

  it('cannot be ended by what is in its arguments', async () => {
    const script = earlyWhepScript('/whep/</script><script>alert(1)</script>', 'video');
    expect(script).not.toContain('</script>');
    const { posts } = runScript(script);
    await flush();
    expect(posts[0]!.url).toBe('/whep/</script><script>alert(1)</script>');
  });
});

describe('takeEarlyWhep', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('hands the exchange over once, and drops one made for another stream', async () => {
    const window: Record<string, unknown> = {};
    vi.stubGlobal('window', window);
    const pc = new FakePeerConnection({});
    const early = { url: '/whep/a', pc, stream: new FakeMediaStream(), candidates: [], started: 1, offerSentAt: 2, answer: Promise.resolve({ status: 404 }) };
    window[EARLY_WHEP_KEY] = early;
    expect(takeEarlyWhep('/whep/a')).toBe(early);
    expect(takeEarlyWhep('/whep/a')).toBeUndefined();
    window[EARLY_WHEP_KEY] = early;
    expect(takeEarlyWhep('/whep/b')).toBeUndefined();
    expect(pc.closed).toBe(true);
    expect(window[EARLY_WHEP_KEY]).toBeUndefined();
  });
});
