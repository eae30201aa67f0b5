/**
 * Ingest configuration: `ONAIR_*` environment variables, validated once at start.
 * Nothing listens on an address that is not named here.
 */
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, csv, parseConfig } from '@onair/service/config';

const port = z.coerce.number().int().min(0).max(65535);

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
    /** STUN/TURN servers as JSON (`[{"urls":"stun:stun.example.org"}]`); announced in WHIP/WHEP `Link` headers. */
    ONAIR_ICE_SERVERS: z.string().optional(),
    /** Public web app URL, for watch links in API responses. */
    ONAIR_WEB_PUBLIC_URL: z.string().url().optional(),
    /** Allowed CORS origin for WHIP/WHEP and the public API. */
    ONAIR_CORS_ORIGIN: z.string().default('*'),
    /**
     * WebRTC stack for WHEP viewers: `datachannel` (libdatachannel, C++ SRTP: ~2.5× the viewers
     * per core) or `werift` (pure JS, like publishers). With several ICE hosts viewers use werift.
     */
    ONAIR_VIEWER_ENGINE: z.enum(['datachannel', 'werift']).default('datachannel'),
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
  viewerEngine: 'datachannel' | 'werift';
  ice: {
    hosts: string[];
    portRange: [number, number] | undefined;
    servers: IceServer[];
  };
  /** The WebTransport ingest (Media over QUIC); undefined when ONAIR_WEBTRANSPORT_PORT=off. */
  webTransport: WebTransportConfig | undefined;
  limits: {
    /** Largest SDP offer accepted, in bytes (an offer from Chrome with simulcast is ~6 KiB). */
    sdpMaxBytes: number;
    /** A session whose ICE/DTLS has not connected within this many ms is closed. */
    connectTimeoutMs: number;
    /** At most one keyframe request upstream per this many ms. */
    keyframeIntervalMs: number;
    /** Most forwards (full copies of the stream to transcoders) one stream may have. */
    forwardsPerStream: number;
    /** How long a transcoder's forwards outlive its last event connection, ms (covers a reconnect). */
    forwardLeaseGraceMs: number;
  };
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
  return {
    host: raw.ONAIR_INGEST_HOST,
    port: raw.ONAIR_INGEST_PORT,
    publicUrl: raw.ONAIR_INGEST_PUBLIC_URL?.replace(/\/$/, ''),
    webPublicUrl: raw.ONAIR_WEB_PUBLIC_URL?.replace(/\/$/, ''),
    dataDir: resolve(raw.ONAIR_DATA_DIR),
    adminToken: raw.ONAIR_ADMIN_TOKEN,
    corsOrigin: raw.ONAIR_CORS_ORIGIN,
    viewerEngine: raw.ONAIR_VIEWER_ENGINE,
    ice: { hosts: iceHosts, portRange, servers },
    webTransport,
    limits: { sdpMaxBytes: 32 * 1024, connectTimeoutMs: 15_000, keyframeIntervalMs: 500, forwardsPerStream: 4, forwardLeaseGraceMs: 5_000 },
  };
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
