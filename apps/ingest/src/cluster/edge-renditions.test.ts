import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { WhepLayers } from '@onair/shared/api';
import type { RenditionFeed, RenditionSource } from '../router/rendition-catalog';
import { P_SLICE, SPS } from '../router/router-test-kit';
import type { InboundRtp, PeerState } from '../webrtc/engine';
import type { EdgePullOptions } from './edge-pull-peer';
import { EdgeRenditions, MAX_PULLED, type RenditionPullPeer } from './edge-renditions';

const log = pino({ level: 'silent' });
const WHEP = 'http://origin/whep/show';
const LAYERS = 'http://origin/whep/sessions/source/layer';

type Layer = WhepLayers['layers'][number];
const layer = (encodingId: string, over: Partial<Layer> = {}): Layer => ({ encodingId, kind: 'transcoded', codec: 'H264', width: 640, height: 360, frameRate: 30, bitrateKbps: 800, targetKbps: 800, delayMs: 40, ...over });
const SOURCE_LAYER = layer('source', { kind: 'source', targetKbps: null, delayMs: null });

class FakePull extends EventEmitter<{ state: [PeerState] }> implements RenditionPullPeer {
  state: PeerState = 'connected';
  keyframeRequests = 0;
  closed = false;
  private listener: ((packet: InboundRtp) => void) | undefined;

  constructor(
    readonly options: EdgePullOptions,
    readonly codecs: RenditionPullPeer['codecs'],
    readonly layerUrl: string | null,
  ) {
    super();
  }

  onRtp(listener: (packet: InboundRtp) => void): void {
    this.listener = listener;
  }

  requestKeyframe(): void {
    this.keyframeRequests += 1;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.state = 'closed';
    this.emit('state', 'closed');
  }

  rtp(sequenceNumber: number, payload: Buffer): InboundRtp {
    const packet: InboundRtp = { kind: 'video', sequenceNumber, timestamp: sequenceNumber * 3000, ssrc: 42, payloadType: 102, marker: true, payload, size: 12 + payload.length };
    this.listener?.(packet);
    return packet;
  }
}

let clock: number;
let upstream: WhepLayers;
/** The layer resources of unpinned (codec) pulls, by URL. */
let own: Map<string, WhepLayers>;
let pulls: FakePull[];
let failNext: number;
let attached: RenditionSource[];
let attachFails: boolean;
let wanted: string[];
let renditions: EdgeRenditions;

/** What a pull was opened for: the rendition its URL pins, or its offered codec. */
const target = (pull: FakePull) => new URL(pull.options.whepUrl).searchParams.get('layer') ?? `codec:${pull.options.codecs?.video?.name}`;
const open = () => pulls.filter((pull) => !pull.closed);
const current = (codec = 'H264') => attached.filter((set) => set.codec === codec).at(-1);
const names = (set: RenditionSource | undefined) => set?.feeds.map((feed) => feed.name);
/** Lets the background opens (fake, already connected) finish. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

beforeEach(() => {
  clock = 1_000_000;
  upstream = { pinned: null, active: 'source', pending: null, layers: [SOURCE_LAYER, layer('720p', { width: 1280, height: 720, targetKbps: 2800 }), layer('360p')] };
  own = new Map();
  pulls = [];
  failNext = 0;
  attached = [];
  attachFails = false;
  wanted = [];
  renditions = new EdgeRenditions({
    streamId: 's1',
    whepUrl: WHEP,
    layerUrl: LAYERS,
    codecs: { video: { name: 'H264', clockRate: 90_000 } },
    ice: { hosts: ['127.0.0.1'], portRange: undefined },
    headers: () => ({ authorization: 'Bearer edge' }),
    timeoutMs: 5_000,
    attach: (set) => {
      if (attachFails) throw new Error('stream offline');
      attached.push(set);
    },
    wantedCodecs: () => wanted,
    now: () => clock,
    log,
    openPull: async (options) => {
      if (failNext > 0) {
        failNext -= 1;
        throw new Error('upstream_unreachable');
      }
      const codec = options.codecs?.video?.name ?? 'H264';
      const pull = new FakePull(options, { video: { kind: 'video', name: codec, clockRate: 90_000, payloadType: codec === 'VP8' ? 96 : 102 } }, `http://origin/whep/sessions/pull-${pulls.length}/layer`);
      pulls.push(pull);
      return pull;
    },
    readLayers: async (url) => {
      if (url === LAYERS) return upstream;
      const layers = own.get(url);
      if (!layers) throw new Error(`no layer resource at ${url}`);
      return layers;
    },
  });
});

afterEach(() => renditions.close());

describe('EdgeRenditions', () => {
  it("pulls each of the origin's renditions pinned to it, and attaches them as one set in the origin's order", async () => {
    await renditions.refresh();
    await settle();
    expect(pulls.map(target).sort()).toEqual(['360p', '720p']);
    for (const pull of pulls) {
      expect(pull.options.audio).toBe(false);
      expect(pull.options.headers).toEqual({ authorization: 'Bearer edge' });
    }
    expect(names(current())).toEqual(['720p', '360p']);
    expect(current()!.feeds[0]).toMatchObject({ kind: 'transcoded', width: 1280, height: 720, targetKbps: 2800, codec: 'H264' });
    expect(renditions.pulled).toEqual(['720p', '360p']);
  });

  it("stamps each packet with the origin's delay of its rendition (the audio hold follows it) and delivers it through the set", async () => {
    await renditions.refresh();
    await settle();
    const got: Array<{ feed: string; delay: number | undefined }> = [];
    current()!.onVideo((feed, packet) => got.push({ feed: feed.name, delay: packet.mediaDelayMs }));
    pulls.find((pull) => target(pull) === '360p')!.rtp(1, SPS);
    upstream.layers[2] = layer('360p', { delayMs: 95 });
    await renditions.refresh();
    pulls.find((pull) => target(pull) === '360p')!.rtp(2, P_SLICE);
    expect(got).toEqual([{ feed: '360p', delay: 40 }, { feed: '360p', delay: 95 }]);
    expect(current()!.feeds[1]!.stats(clock)).toMatchObject({ delayMs: 95 });
  });

  it('drops a rendition the origin no longer has: its pull ends and the set is attached again, the other feed the same object', async () => {
    await renditions.refresh();
    await settle();
    const before = current()!;
    const kept = before.feeds.find((feed) => feed.name === '720p');
    upstream.layers = [SOURCE_LAYER, upstream.layers[1]!];
    await renditions.refresh();
    expect(pulls.find((pull) => target(pull) === '360p')!.closed).toBe(true);
    expect(names(current())).toEqual(['720p']);
    expect(current()).not.toBe(before);
    expect(current()!.feeds[0]).toBe(kept);
  });

  it('a pull the origin ends (the rendition went there) leaves the set at once', async () => {
    await renditions.refresh();
    await settle();
    await pulls.find((pull) => target(pull) === '720p')!.close();
    expect(names(current())).toEqual(['360p']);
  });

  it('pulls a name once, at most MAX_PULLED, never `source` or `auto`', async () => {
    const many = Array.from({ length: MAX_PULLED + 3 }, (_, i) => layer(`r${i}`));
    upstream.layers = [SOURCE_LAYER, layer('auto'), layer('360p'), layer('360p'), ...many];
    await renditions.refresh();
    await settle();
    const targets = pulls.map(target);
    expect(targets).toHaveLength(MAX_PULLED);
    expect(new Set(targets).size).toBe(MAX_PULLED);
    expect(targets).not.toContain('auto');
  });

  it('tries a failed pull again after 1 s, then 2 s, then 4 s', async () => {
    upstream.layers = [SOURCE_LAYER, layer('360p')];
    const attempts = () => pulls.length + (3 - failNext);
    failNext = 3;
    await renditions.refresh();
    await settle();
    expect(attempts()).toBe(1);
    for (const [waitMs, expected] of [[999, 1], [1, 2], [1_999, 2], [1, 3], [3_999, 3], [1, 4]] as const) {
      clock += waitMs;
      await renditions.refresh();
      await settle();
      expect(attempts(), `after ${waitMs} ms more`).toBe(expected);
    }
    expect(names(current())).toEqual(['360p']);
  });

  it('attaches again at the next refresh when the router refused the set (between publishers)', async () => {
    attachFails = true;
    await renditions.refresh();
    await settle();
    expect(attached).toEqual([]);
    attachFails = false;
    await renditions.refresh();
    expect(names(current())).toEqual(['720p', '360p']);
  });

  it('a viewer here in VP8 brings an unpinned VP8 pull; its own layer resource names the rendition; unwanted, it ends', async () => {
    await renditions.refresh();
    await settle();
    const h264Sets = attached.filter((set) => set.codec === 'H264').length;
    wanted = ['VP8'];
    await renditions.refresh();
    await settle();
    const vp8 = pulls.find((pull) => target(pull) === 'codec:VP8')!;
    expect(vp8.options.whepUrl).toBe(WHEP);
    // The origin's transcoder has not made it yet: nothing to attach in VP8.
    expect(current('VP8')).toBeUndefined();
    own.set(vp8.layerUrl!, { pinned: null, active: '720p-vp8', pending: null, layers: [layer('720p-vp8', { codec: 'VP8', width: 1280, height: 720 })] });
    await renditions.refresh();
    expect(names(current('VP8'))).toEqual(['720p-vp8']);
    expect(current('VP8')!.feeds[0]!.codec).toBe('VP8');
    // The H.264 set is not replaced for it.
    expect(attached.filter((set) => set.codec === 'H264')).toHaveLength(h264Sets);
    const vp8Set = current('VP8')!;
    const ended = vi.fn();
    vp8Set.once('closed', ended);
    wanted = [];
    await renditions.refresh();
    expect(vp8.closed).toBe(true);
    expect(ended).toHaveBeenCalledWith('renditions_ended');
  });

  it('asks a pulled rendition for a keyframe once per window however many viewers wait', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      await renditions.refresh();
      await new Promise((resolve) => setImmediate(resolve));
      const feed = current()!.feeds[0] as RenditionFeed;
      const pull = pulls.find((p) => target(p) === feed.name)!;
      for (let i = 0; i < 5; i++) feed.requestKeyframe!('viewer-waiting');
      expect(pull.keyframeRequests).toBe(1);
      vi.advanceTimersByTime(600);
      expect(pull.keyframeRequests).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('the router closing the current set for good (the source pull ended) ends every pull; nothing opens after', async () => {
    await renditions.refresh();
    await settle();
    const set = current()!;
    set.close('stream_offline');
    expect(open()).toEqual([]);
    // Closed: a refresh opens nothing.
    await renditions.refresh();
    await settle();
    expect(open()).toEqual([]);
  });

  it('waits for its first pulls when a viewer asks for a rendition by name (settled), at most the given time', async () => {
    const started = renditions.settled(1_000);
    await started;
    expect(names(current())).toEqual(['720p', '360p']);
  });
});
