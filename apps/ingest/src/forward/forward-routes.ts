/**
 * Forwards (admin API): the transcoder asks the ingest to send a live stream's RTP to local UDP
 * ports and receives the SDP that describes it, which ffmpeg reads. A forward is created under
 * the lease of a transcoder instance that holds the event stream open (forward-leases.ts) and
 * ends with it; a stream has at most `limits.forwardsPerStream` forwards.
 *
 *   POST   /api/streams/<id>/forwards {host, videoPort?, audioPort?, instance, keyframeIntervalMs?, holdUntilReadyMs?} → 201 {id, sdp}
 *          (409 forward_lease_unknown without a held lease, 409 too_many_forwards at the cap)
 *   GET    /api/streams/<id>/forwards → 200 {forwards: [{id, host, videoPort, audioPort, owner, instance, createdAt, packetsSent, bytesSent}]}
 *   POST   /api/streams/<id>/forwards/<forwardId>/keyframe → 202 {replayedPackets} (ffmpeg listens now:
 *          the first time, the packets since the last keyframe are sent again; otherwise PLI upstream)
 *   DELETE /api/streams/<id>/forwards/<forwardId> → 204
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { OnairError } from '@onair/shared/errors';
import { readJson, sendJson, type Router } from '@onair/service/http';
import type { IngestConfig } from '../config';
import type { MediaRouter } from '../router/media-router';
import type { ForwardSession } from '../router/sessions';
import { requireAdmin } from '../streams/admin-auth';
import type { StreamRecord, StreamStore } from '../streams/stream-store';
import type { ForwardLeases } from './forward-leases';
import { forwardDestinationAllowed } from './forward-destination';
import { forwardSdp, type ForwardTrack } from './forward-sdp';
import type { RtpForwardPeer } from './rtp-forward-peer';

const udpPort = z.number().int().min(1024).max(65535);

const createForwardSchema = z
  .object({
    /** Where the RTP goes. Loopback only unless the operator configured otherwise: see below. */
    host: z.string().refine((value) => isIP(value) !== 0, 'host must be an IP address'),
    videoPort: udpPort.optional(),
    audioPort: udpPort.optional(),
    /** Ask the publisher for a keyframe this often (passthrough packaging needs regular keyframes). */
    keyframeIntervalMs: z.number().int().min(250).max(60_000).optional(),
    /**
     * Send nothing until `POST …/keyframe` says the receiver listens (at most this long, ms), then
     * the packets since the publisher's last keyframe at once: the receiver starts decoding
     * without waiting for a new keyframe (see keyframe-replay.ts).
     */
    holdUntilReadyMs: z.number().int().min(1).max(10_000).optional(),
    /** The transcoder instance whose lease (its open event stream) the forward lives under. */
    instance: z.string().min(1).max(128),
  })
  .strict()
  .refine((body) => body.videoPort !== undefined || body.audioPort !== undefined, 'give videoPort, audioPort or both');

export function registerForwardRoutes(router: Router, { store, media, config, leases }: { store: StreamStore; media: MediaRouter; config: IngestConfig; leases: ForwardLeases }): void {
  const find = (idOrName: string) => store.requireByIdOrName(idOrName);
  const forwardOf = (record: StreamRecord, forwardId: string): ForwardSession => {
    const session = media.session('forward', forwardId) as ForwardSession;
    if (session.streamId !== record.id) throw new OnairError('session_not_found', `No forward ${forwardId} on stream "${record.name}".`);
    return session;
  };

  router.on('POST', '/api/streams/:id/forwards', async ({ req, res, params, log }) => {
    requireAdmin(req, config.adminToken);
    const record = await find(params.id!);
    const body = await readJson(req, createForwardSchema);
    // The admin token already guards this; the address check keeps a leaked token from
    // turning the ingest into a UDP cannon aimed at other hosts.
    if (!forwardDestinationAllowed(body.host, { iceHosts: config.ice.hosts, transcoderHosts: config.transcoderHosts }, req.socket.remoteAddress)) {
      throw new OnairError('bad_request', `Forwarding to ${body.host} is not allowed: only loopback, the configured ICE hosts (${config.ice.hosts.join(', ')}), the address the request comes from, or ONAIR_TRANSCODER_HOSTS.`);
    }
    if (!(await leases.ensureHeld(body.instance))) {
      throw new OnairError('forward_lease_unknown', `The transcoder instance "${body.instance}" holds no event stream (GET /api/events?owner=…&instance=…): open it first; the forward ends when it closes.`);
    }
    // Each forward is a full copy of the stream, and each may ask for keyframes: a few suffice
    // (one per transcoder, one more while a job replaces its input).
    const existing = media.forwards(record.id).length;
    if (existing >= config.limits.forwardsPerStream) {
      throw new OnairError('too_many_forwards', `Stream "${record.name}" already has ${existing} forwards, the most allowed (${config.limits.forwardsPerStream}).`);
    }
    const session = media.forward(record.id, { host: body.host, ports: { video: body.videoPort, audio: body.audioPort } }, { keyframeIntervalMs: body.keyframeIntervalMs });
    leases.attach(body.instance, session);
    const peer = session.peer as RtpForwardPeer;
    // Before any packet: the peer connects in a microtask, packets come from later events.
    if (body.holdUntilReadyMs) peer.holdUntilReady(body.holdUntilReadyMs);
    const tracks: ForwardTrack[] = [];
    for (const kind of ['video', 'audio'] as const) {
      const codec = peer.codecs[kind];
      const port = kind === 'video' ? body.videoPort : body.audioPort;
      if (codec && port) tracks.push({ kind, codec: codec.name, clockRate: codec.clockRate, channels: codec.channels, payloadType: codec.payloadType, fmtp: codec.fmtp, port });
    }
    log.info({ stream: record.name, forward: session.id, host: body.host, videoPort: body.videoPort, audioPort: body.audioPort, owner: leases.ownerOf(body.instance), instance: body.instance }, 'forward started');
    sendJson(res, 201, { id: session.id, sdp: forwardSdp({ streamName: record.name, host: body.host, tracks }) }, { Location: `/api/streams/${record.id}/forwards/${session.id}` });
  });

  router.on('GET', '/api/streams/:id/forwards', async ({ req, res, params }) => {
    requireAdmin(req, config.adminToken);
    const record = await find(params.id!);
    const forwards = media.forwards(record.id).map((session) => {
      const peer = session.peer as RtpForwardPeer;
      const instance = leases.instanceOf(session);
      return {
        id: session.id,
        host: peer.target.host,
        videoPort: peer.target.ports.video,
        audioPort: peer.target.ports.audio,
        owner: instance === undefined ? undefined : leases.ownerOf(instance),
        instance,
        createdAt: session.createdAt.toISOString(),
        packetsSent: peer.sent.packets,
        bytesSent: peer.sent.bytes,
      };
    });
    sendJson(res, 200, { forwards });
  });

  router.on('POST', '/api/streams/:id/forwards/:forwardId/keyframe', async ({ req, res, params }) => {
    requireAdmin(req, config.adminToken);
    const replayedPackets = (forwardOf(await find(params.id!), params.forwardId!).peer as RtpForwardPeer).receiverReady();
    sendJson(res, 202, { replayedPackets });
  });

  router.on('DELETE', '/api/streams/:id/forwards/:forwardId', async ({ req, res, params, log }) => {
    requireAdmin(req, config.adminToken);
    const record = await find(params.id!);
    forwardOf(record, params.forwardId!).close('forward_deleted');
    log.info({ stream: record.name, forward: params.forwardId }, 'forward stopped');
    res.writeHead(204).end();
  });
}

/** Loopback or one of the configured ICE hosts: the ingest's own addresses, where renditions may arrive. */
export function isAllowedForwardHost(host: string, config: IngestConfig): boolean {
  return host === '::1' || host.startsWith('127.') || config.ice.hosts.includes(host);
}
