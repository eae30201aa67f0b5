import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OnairError } from '@onair/shared/errors';
import { loadIngestConfig } from '../config';
import { PublisherSession } from '../router/sessions';
import type { InboundRtp, PeerState } from '../webrtc/engine';
import type { EdgePullOptions } from './edge-pull-peer';
import { EdgePulls, type SourcePullPeer } from './edge-pulls';
import type { Lease } from './stream-directory';

const log = pino({ level: 'silent' });
const config = loadIngestConfig({ ONAIR_REDIS_URL: 'redis://127.0.0.1:6379/0', ONAIR_ADMIN_TOKEN: 'test-admin-token-0123456789', ONAIR_EDGE_RENDITIONS: 'none', ONAIR_WEBTRANSPORT_PORT: 'off' });
const LEASE: Lease = { streamId: 's1', name: 'show', node: 'origin', url: 'http://origin:8080', token: 7, protocol: 'whip', session: 'p1', since: '2025-01-01T00:00:00.000Z', codecs: { video: { name: 'H264', clockRate: 90_000 } } };

class FakePull extends EventEmitter<{ state: [PeerState] }> implements SourcePullPeer {
  state: PeerState = 'connected';
  readonly codecs = { video: { kind: 'video' as const, name: 'H264', clockRate: 90_000, payloadType: 102 } };
  readonly layerUrl = null;
  onRtp(_listener: (packet: InboundRtp) => void): void {}
  requestKeyframe(): void {}
  async close(): Promise<void> {
    this.state = 'closed';
    this.emit('state', 'closed');
  }
}

let clock: number;
let opened: EdgePullOptions[];
/** What the next opens do: fail with this error, or (undefined) connect. */
let failWith: OnairError | undefined;
let audience: number;
let pulls: EdgePulls;

beforeEach(() => {
  clock = 1_000_000;
  opened = [];
  failWith = new OnairError('upstream_unreachable', "The stream's origin node did not answer.", { extensions: { retryAfterS: 2 } });
  audience = 1;
  pulls = new EdgePulls({
    directory: { lookup: async () => LEASE },
    media: {
      attachPublisher: async (protocol, streamId, peer) => new PublisherSession(protocol, streamId, peer, log, 60_000),
      attachRenditions: () => undefined,
      audience: () => audience,
      activeStreams: () => ['s1'],
      isLive: () => false,
      renditionsWanted: () => [],
    },
    config,
    node: { id: 'edge' },
    isOrigin: () => false,
    log,
    now: () => clock,
    openPull: async (options) => {
      opened.push(options);
      if (failWith) throw failWith;
      return new FakePull();
    },
  });
});

afterEach(() => pulls.close());

/** The refusal `reach` ends with: its code and Retry-After. */
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: OnairError) => ({ code: error.code, retryAfterS: error.extensions.retryAfterS }),
  );

describe('EdgePulls back-off after a failed pull', () => {
  it('a viewer POST (reach) within RETRY_MS of a failure starts no pull: it is told when to come back', async () => {
    expect(await refusal(pulls.reach('s1', 'show', []))).toEqual({ code: 'upstream_unreachable', retryAfterS: 2 });
    expect(opened).toHaveLength(1);
    // Every viewer's retry used to start a pull of its own: the origin was asked as often as viewers asked here.
    clock += 400;
    for (let i = 0; i < 5; i += 1) expect(await refusal(pulls.reach('s1', 'show', []))).toEqual({ code: 'upstream_unreachable', retryAfterS: 1 });
    expect(opened).toHaveLength(1);
    expect(pulls.stats).toMatchObject({ started: 1, failed: 1 });
    clock += 600;
    failWith = undefined;
    await pulls.reach('s1', 'show', []);
    expect(opened).toHaveLength(2);
    expect(pulls.list()).toEqual([{ streamId: 's1', upstream: 'origin', connected: true, renditions: [] }]);
  });

  it('a downstream edge (reach with a path) and the directory (follow) wait out the same back-off', async () => {
    await refusal(pulls.reach('s1', 'show', ['edge-2']));
    expect(opened).toHaveLength(1);
    expect(await refusal(pulls.reach('s1', 'show', ['edge-3']))).toMatchObject({ code: 'upstream_unreachable' });
    pulls.follow('s1', LEASE);
    expect(opened).toHaveLength(1);
    clock += 1_000;
    pulls.follow('s1', LEASE);
    expect(opened).toHaveLength(2);
  });

  it("repeats the upstream's own refusal during the back-off (stream_offline stays a 404)", async () => {
    failWith = new OnairError('stream_offline', 'The stream "show" is not live.');
    expect(await refusal(pulls.reach('s1', 'show', []))).toEqual({ code: 'stream_offline', retryAfterS: undefined });
    clock += 10;
    expect(await refusal(pulls.reach('s1', 'show', []))).toEqual({ code: 'stream_offline', retryAfterS: 1 });
    expect(opened).toHaveLength(1);
  });
});
