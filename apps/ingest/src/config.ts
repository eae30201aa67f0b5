/**
 * Ingest configuration: `ONAIR_*` environment variables, validated once at start.
 * Nothing listens on an address that is not named here.
 */
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, csv, parseConfig } from '@onair/service/config';
import { TrustedProxies } from '@onair/shared/trusted-proxies';
import { addressScope } from './sessions/address-scope';
import type { SessionLimitsOptions } from './sessions/session-limits';
import { privateByDefault } from './sessions/remote-candidate-gate';
import { NODE_ID } from './cluster/edge-auth';

const port = z.coerce.number().int().min(0).max(65535);

/**
 * ONAIR_MAX_VIEWERS's default, per process; before it, connected viewers had no cap. One event
 * loop sends every viewer's packets (the engines' send is synchronous), so more cores do not raise
 * it: 260–850 viewers at 2.5 Mbps filled one core in the fan-out bench (README), a lower bitrate or
 * audio only allows more. Each holds a UDP socket and ~0.2 MiB (1 759 sessions: 155 → 476 MiB).
 */
export const DEFAULT_MAX_VIEWERS = 2_000;

const iceServerSchema = z.object({
  urls: z.union([z.string(), z.array(z.string())]),
  username: z.string().optional(),
  credential: z.string().optional(),
});
export type IceServer = z.infer<typeof iceServerSchema>;

const envSchema = z
  .object({
    /** HTTP listen address. Default loopback: expose deliberately with 0.0.0.0 or a LAN address. */
    ONAIR_INGEST_HOST: z.string().default('127.0.0.1'),
    ONAIR_INGEST_PORT: port.default(8080),
    /** Base URL clients use to reach the ingest (put in API responses, e.g. whipUrl). */
    ONAIR_INGEST_PUBLIC_URL: z.string().url().optional(),
    ONAIR_DATA_DIR: z.string().default('./.data'),
    ONAIR_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    /**
     * Addresses on which WebRTC media sockets bind and which are advertised as ICE host
     * candidates, comma-separated. Default: the HTTP host when it is a concrete address, else
     * 127.0.0.1.
     */
    ONAIR_ICE_HOSTS: z.string().optional(),
    /** UDP port range for media, e.g. `40000-40999`. Default: ephemeral ports. */
    ONAIR_ICE_PORT_RANGE: z
      .string()
      .regex(/^\d+-\d+$/, 'must look like 40000-40999')
      .optional(),
    /**
     * Send ICE checks to private-range candidates (RFC 1918, CGNAT, ULA): `true`/`false`. Default:
     * when an ICE host is private itself (a LAN server must reach LAN clients), else not.
     */
    ONAIR_ICE_ALLOW_PRIVATE: z.enum(['true', 'false']).optional(),
    /**
     * With media on loopback only: also offer each session on this machine's own addresses,
     * answering only this machine, for browsers here that never send to loopback (Firefox,
     * libnice) — webrtc/local-ice-relay.ts. `true`/`false`; default `true` when ONAIR_ICE_HOSTS is not
     * set and the ICE host is loopback (the one-machine default).
     */
    ONAIR_ICE_LOCAL_RELAY: z.enum(['true', 'false']).optional(),
    /** STUN/TURN servers as JSON (`[{"urls":"stun:stun.example.org"}]`); announced in WHIP/WHEP `Link` headers. */
    ONAIR_ICE_SERVERS: z.string().optional(),
    /** Public web app URL, for watch links in API responses. */
    ONAIR_WEB_PUBLIC_URL: z.string().url().optional(),
    /** Allowed CORS origin for WHIP/WHEP and the public API. */
    ONAIR_CORS_ORIGIN: z.string().default('*'),
    /**
     * WebRTC stack for WHEP viewers: `auto` (werift with the native send path when its addon
     * builds, else libdatachannel), `datachannel` (libdatachannel, C++ SRTP) or `werift`. With
     * several ICE hosts viewers use werift.
     */
    ONAIR_VIEWER_ENGINE: z.enum(['auto', 'datachannel', 'werift']).default('auto'),
    /** `off`: werift viewers encrypt and send in JS even where the native addon builds (webrtc/native-send.ts). */
    ONAIR_NATIVE_SEND: z.enum(['auto', 'off']).default('auto'),
    /** Proxies whose X-Forwarded-For is believed: IPs, CIDR blocks, `loopback`; nobody by default. */
    ONAIR_TRUSTED_PROXIES: z.string().optional(),
    /**
     * Where forwards may also go (IPs, CIDR blocks): transcoders on other hosts whose RTP address
     * is not the one they call the admin API from. Loopback, the ICE hosts and the calling
     * transcoder's own address are always allowed.
     */
    ONAIR_TRANSCODER_HOSTS: z.string().optional(),
    /** WHEP viewers (connected and connecting) the ingest takes (default DEFAULT_MAX_VIEWERS). */
    ONAIR_MAX_VIEWERS: z.coerce.number().int().min(1).default(DEFAULT_MAX_VIEWERS),
    /** Sessions not yet connected one client address may hold (default 20). */
    ONAIR_MAX_PENDING_PER_CLIENT: z.coerce.number().int().min(1).default(20),
    /** Sessions not yet connected in all (default 200). */
    ONAIR_MAX_PENDING: z.coerce.number().int().min(1).default(200),
    /** WHIP/WHEP POSTs one client address may make per 10 s (default 60). */
    ONAIR_MAX_SESSION_POSTS_PER_CLIENT: z.coerce.number().int().min(1).default(60),
    /**
     * UDP port of the WebTransport (HTTP/3, QUIC) ingest, bound on the ICE hosts; `off` turns it
     * off. Publishers connect to `https://<host>:<port>/moq?key=<stream key>`.
     */
    ONAIR_WEBTRANSPORT_PORT: z.union([z.literal('off'), port]).default(8443),
    /**
     * URL browsers are given for the WebTransport ingest (`GET /api/webtransport`), e.g.
     * `https://live.example.org:8443/moq` when a real certificate names that host. Default:
     * built from the first ICE host and the port.
     */
    ONAIR_WEBTRANSPORT_PUBLIC_URL: z.string().url().startsWith('https://', 'must be an https:// URL').optional(),
    /**
     * PEM certificate chain and private key for WebTransport, e.g. from Let's Encrypt. Without
     * them the ingest makes its own short-lived certificate and publishes its SHA-256 hash for
     * `serverCertificateHashes` (browsers accept that only for certificates valid < 14 days).
     */
    ONAIR_TLS_CERT: z.string().optional(),
    ONAIR_TLS_KEY: z.string().optional(),
    /**
     * Joins this ingest to a cluster through Redis (`redis://host:6379/0`, `rediss://…`): streams
     * and keys live there instead of the local SQLite, live streams are leased in its directory,
     * and a stream live on another node is pulled from there for viewers here. Unset: one machine.
     */
    ONAIR_REDIS_URL: z.string().regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL').optional(),
    /** This node's name in the cluster (unique per process). Default `<hostname>:<port>`. */
    ONAIR_NODE_ID: z.string().regex(NODE_ID, 'must be 1–128 of A–Z a–z 0–9 @ . _ : [ ] -').optional(),
    /**
     * A viewer asking for a stream live on another node: `pull` (default) serves it here from one
     * pull of the stream per node; `redirect` answers 307 to the origin's WHEP URL (RFC 9725).
     */
    ONAIR_EDGE_MODE: z.enum(['pull', 'redirect']).default('pull'),
    /** Pull through this node (another ingest's base URL, e.g. a regional edge) instead of from each stream's origin. */
    ONAIR_EDGE_UPSTREAM: z.string().url().optional(),
    /**
     * An edge pulling a stream also pulls its renditions (`all`, default: its viewers move between
     * them as on the origin) or the source only (`none`: one pull per stream, viewers there get the source).
     */
    ONAIR_EDGE_RENDITIONS: z.enum(['all', 'none']).default('all'),
  })
  .passthrough();

export interface IngestConfig {
  host: string;
  port: number;
  publicUrl: string | undefined;
  webPublicUrl: string | undefined;
  dataDir: string;
  adminToken: string | undefined;
  corsOrigin: string;
  /** See ONAIR_VIEWER_ENGINE. */
  viewerEngine: 'auto' | 'datachannel' | 'werift';
  /** See ONAIR_NATIVE_SEND. */
  nativeSend: boolean;
  ice: {
    hosts: string[];
    portRange: [number, number] | undefined;
    servers: IceServer[];
    /** See ONAIR_ICE_ALLOW_PRIVATE. */
    allowPrivate: boolean;
    /** See ONAIR_ICE_LOCAL_RELAY. */
    localRelay: boolean;
    /** The part of `portRange` publishers bind in: its top 10 % (at least two ports), kept from viewers. */
    publisherPorts: [number, number] | undefined;
    /** The part of `portRange` WHEP viewers bind in: the rest. */
    viewerPorts: [number, number] | undefined;
  };
  /** Proxies whose forwarded client address is believed (ONAIR_TRUSTED_PROXIES). */
  trustedProxies: TrustedProxies;
  /** ONAIR_TRANSCODER_HOSTS: further destinations for forwards (see forward/forward-destination.ts). */
  transcoderHosts: TrustedProxies;
  /** Caps on sessions a client can make the ingest hold (sessions/session-limits.ts). */
  sessions: SessionLimitsOptions;
  /** The WebTransport ingest (Media over QUIC); undefined when ONAIR_WEBTRANSPORT_PORT=off. */
  webTransport: WebTransportConfig | undefined;
  /** Cluster mode (ONAIR_REDIS_URL); undefined on one machine. */
  cluster: ClusterConfig | undefined;
  limits: {
    /** Largest SDP offer accepted, in bytes (an offer from Chrome with simulcast is ~6 KiB). */
    sdpMaxBytes: number;
    /** A session whose ICE/DTLS has not connected within this many ms is closed. */
    connectTimeoutMs: number;
    /** At most one keyframe request upstream per this many ms. */
    keyframeIntervalMs: number;
    /** Remote ICE candidates accepted per session, offer and trickle together (sessions/remote-candidate-gate.ts). */
    maxRemoteCandidates: number;
    /** Most forwards (full copies of the stream to transcoders) one stream may have. */
    forwardsPerStream: number;
    /** How long a transcoder's forwards outlive its last event connection, ms (covers a reconnect). */
    forwardLeaseGraceMs: number;
    /** How long a viewer in a codec only an on-demand rendition gives it (VP8) waits for that rendition, ms. */
    renditionWaitMs: number;
  };
}

export interface ClusterConfig {
  redisUrl: string;
  /** ONAIR_NODE_ID; undefined = `<hostname>:<bound port>`, known once listening. */
  nodeId: string | undefined;
  edgeMode: 'pull' | 'redirect';
  /** ONAIR_EDGE_UPSTREAM without a trailing slash. */
  edgeUpstream: string | undefined;
  /** A stream lease lives this long without renewal, ms: how long a dead node's streams stay listed. */
  leaseTtlMs: number;
  /** Leases are renewed (and pulls reconciled with the directory) this often, ms. */
  leaseRenewMs: number;
  /** A pull without viewers ends after this long, ms. */
  edgeIdleMs: number;
  /** ONAIR_EDGE_RENDITIONS: a pull brings the stream's renditions along (edge-renditions.ts). */
  edgeRenditions: boolean;
  /** Nodes an edge pull may pass through, the origin included (edges chained through ONAIR_EDGE_UPSTREAM). */
  maxEdgeHops: number;
  /** An edge pull that has not connected after this long fails (the viewer gets 502 with Retry-After), ms. */
  edgeConnectTimeoutMs: number;
}

export interface WebTransportConfig {
  /** Addresses the UDP socket binds (one server per address): the ICE hosts. */
  hosts: string[];
  /** UDP port; 0 = an ephemeral port (tests). */
  port: number;
  /** `:path` publishers CONNECT to (the stream key comes in its `key` query parameter). */
  path: string;
  /** ONAIR_WEBTRANSPORT_PUBLIC_URL; undefined = derived from the bound address. */
  publicUrl: string | undefined;
  /** Configured certificate and key files; undefined = a self-made, rotated certificate. */
  tls: { certFile: string; keyFile: string } | undefined;
}

export function loadIngestConfig(env: NodeJS.ProcessEnv = process.env): IngestConfig {
  const raw = parseConfig(envSchema, env);
  const servers = raw.ONAIR_ICE_SERVERS ? parseIceServers(raw.ONAIR_ICE_SERVERS) : [];
  const iceHosts = raw.ONAIR_ICE_HOSTS ? csv(raw.ONAIR_ICE_HOSTS) : [isAdvertisable(raw.ONAIR_INGEST_HOST) ? raw.ONAIR_INGEST_HOST : '127.0.0.1'];
  // ICE host candidates are literal addresses a peer connects to (RFC 8445 §5.1.1.1): a name or
  // a wildcard would be advertised as is and never connect.
  const badHosts = iceHosts.filter((host) => !isAdvertisable(host));
  if (badHosts.length > 0) {
    throw new ConfigError(`Invalid configuration:\n  ONAIR_ICE_HOSTS: ${badHosts.join(', ')} — give IP addresses this machine owns, not names or wildcards (0.0.0.0, ::)`);
  }
  let portRange: [number, number] | undefined;
  if (raw.ONAIR_ICE_PORT_RANGE) {
    const [min, max] = raw.ONAIR_ICE_PORT_RANGE.split('-').map(Number) as [number, number];
    if (!(min >= 1024 && max <= 65535 && min <= max)) throw new ConfigError('Invalid configuration:\n  ONAIR_ICE_PORT_RANGE: must be within 1024-65535, low-high');
    portRange = [min, max];
  }
  let trustedProxies: TrustedProxies;
  try {
    trustedProxies = TrustedProxies.parse(raw.ONAIR_TRUSTED_PROXIES);
  } catch (error) {
    throw new ConfigError(`Invalid configuration:\n  ONAIR_TRUSTED_PROXIES: ${error instanceof Error ? error.message : String(error)}`);
  }
  let transcoderHosts: TrustedProxies;
  try {
    transcoderHosts = TrustedProxies.parse(raw.ONAIR_TRANSCODER_HOSTS);
  } catch (error) {
    throw new ConfigError(`Invalid configuration:\n  ONAIR_TRANSCODER_HOSTS: ${error instanceof Error ? error.message : String(error)}`);
  }
  if ((raw.ONAIR_TLS_CERT === undefined) !== (raw.ONAIR_TLS_KEY === undefined)) {
    throw new ConfigError('Invalid configuration:\n  ONAIR_TLS_CERT, ONAIR_TLS_KEY: give both (a certificate and its private key) or neither');
  }
  const webTransport: WebTransportConfig | undefined =
    raw.ONAIR_WEBTRANSPORT_PORT === 'off'
      ? undefined
      : {
          hosts: iceHosts,
          port: raw.ONAIR_WEBTRANSPORT_PORT,
          path: '/moq',
          publicUrl: raw.ONAIR_WEBTRANSPORT_PUBLIC_URL?.replace(/\/$/, ''),
          tls: raw.ONAIR_TLS_CERT && raw.ONAIR_TLS_KEY ? { certFile: resolve(raw.ONAIR_TLS_CERT), keyFile: resolve(raw.ONAIR_TLS_KEY) } : undefined,
        };
  let cluster: ClusterConfig | undefined;
  if (raw.ONAIR_REDIS_URL) {
    // Every node checks admin requests and derives the edge key from it: one token for all.
    if (!raw.ONAIR_ADMIN_TOKEN) throw new ConfigError('Invalid configuration:\n  ONAIR_ADMIN_TOKEN: required with ONAIR_REDIS_URL — give every node of the cluster the same token');
    // Other nodes pull from this URL and viewers are redirected to it: a wildcard cannot be reached.
    if (!raw.ONAIR_INGEST_PUBLIC_URL && !isAdvertisable(raw.ONAIR_INGEST_HOST)) {
      throw new ConfigError(`Invalid configuration:\n  ONAIR_INGEST_PUBLIC_URL: required with ONAIR_REDIS_URL when ONAIR_INGEST_HOST is ${raw.ONAIR_INGEST_HOST} — the URL other nodes reach this one at`);
    }
    cluster = {
      redisUrl: raw.ONAIR_REDIS_URL,
      nodeId: raw.ONAIR_NODE_ID,
      edgeMode: raw.ONAIR_EDGE_MODE,
      edgeUpstream: raw.ONAIR_EDGE_UPSTREAM?.replace(/\/$/, ''),
      leaseTtlMs: 5_000,
      leaseRenewMs: 1_000,
      edgeIdleMs: 10_000,
      edgeRenditions: raw.ONAIR_EDGE_RENDITIONS === 'all',
      maxEdgeHops: 4,
      edgeConnectTimeoutMs: 5_000,
    };
  }
  return {
    host: raw.ONAIR_INGEST_HOST,
    port: raw.ONAIR_INGEST_PORT,
    publicUrl: raw.ONAIR_INGEST_PUBLIC_URL?.replace(/\/$/, ''),
    webPublicUrl: raw.ONAIR_WEB_PUBLIC_URL?.replace(/\/$/, ''),
    dataDir: resolve(raw.ONAIR_DATA_DIR),
    adminToken: raw.ONAIR_ADMIN_TOKEN,
    corsOrigin: raw.ONAIR_CORS_ORIGIN,
    viewerEngine: raw.ONAIR_VIEWER_ENGINE,
    nativeSend: raw.ONAIR_NATIVE_SEND === 'auto',
    ice: { hosts: iceHosts, portRange, servers, ...splitPortRange(portRange), allowPrivate: raw.ONAIR_ICE_ALLOW_PRIVATE ? raw.ONAIR_ICE_ALLOW_PRIVATE === 'true' : privateByDefault(iceHosts),
      // On by default only when nothing was said about ICE hosts: ONAIR_ICE_HOSTS=127.0.0.1 means exactly that.
      localRelay: raw.ONAIR_ICE_LOCAL_RELAY ? raw.ONAIR_ICE_LOCAL_RELAY === 'true' : !raw.ONAIR_ICE_HOSTS && iceHosts.every((host) => addressScope(host) === 'loopback'),
    },
    trustedProxies,
    transcoderHosts,
    sessions: {
      pendingPerClient: raw.ONAIR_MAX_PENDING_PER_CLIENT,
      pendingTotal: raw.ONAIR_MAX_PENDING,
      postsPerClient: raw.ONAIR_MAX_SESSION_POSTS_PER_CLIENT,
      postWindowMs: 10_000,
      maxViewers: raw.ONAIR_MAX_VIEWERS,
    },
    webTransport,
    cluster,
    limits: { sdpMaxBytes: 32 * 1024, connectTimeoutMs: 15_000, keyframeIntervalMs: 500, maxRemoteCandidates: 10, forwardsPerStream: 4, forwardLeaseGraceMs: 5_000, renditionWaitMs: 10_000 },
  };
}

/**
 * Viewers are anonymous and publishers are not: a flood of WHEP offers that never connect held
 * every port of a 50-port range, and the broadcaster's reconnect then got none. The top 10 % of
 * the range (at least two ports from four on) is the publishers' alone; a range of one port is shared.
 */
export function splitPortRange(range: [number, number] | undefined): { publisherPorts: [number, number] | undefined; viewerPorts: [number, number] | undefined } {
  if (!range) return { publisherPorts: undefined, viewerPorts: undefined };
  const [low, high] = range;
  const size = high - low + 1;
  if (size < 2) return { publisherPorts: range, viewerPorts: range };
  // Two at least, where there is room: a reconnecting publisher holds its new port while the old one still runs.
  const reserved = size < 4 ? 1 : Math.max(2, Math.ceil(size / 10));
  return { publisherPorts: [high - reserved + 1, high], viewerPorts: [low, high - reserved] };
}

function isAdvertisable(host: string): boolean {
  return isIP(host) !== 0 && host !== '0.0.0.0' && host !== '::';
}

function parseIceServers(json: string): IceServer[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new ConfigError('Invalid configuration:\n  ONAIR_ICE_SERVERS: must be JSON, e.g. [{"urls":"stun:stun.example.org:3478"}]');
  }
  const parsed = z.array(iceServerSchema).safeParse(value);
  if (!parsed.success) throw new ConfigError(`Invalid configuration:\n  ONAIR_ICE_SERVERS: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  return parsed.data;
}
