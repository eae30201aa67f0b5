/**
 * Transcoder configuration: `ONAIR_*` environment variables, validated once at start.
 */
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, parseConfig } from '@onair/service/config';
import { TrustedProxies } from '@onair/shared/trusted-proxies';

const port = z.coerce.number().int().min(0).max(65535);

const envSchema = z
  .object({
    /** HTTP listen address (control API, /hls, /healthz, /metrics). Default loopback. */
    ONAIR_TRANSCODER_HOST: z.string().default('127.0.0.1'),
    ONAIR_TRANSCODER_PORT: port.default(8090),
    ONAIR_DATA_DIR: z.string().default('./.data'),
    /** Admin token for the control API, and sent to the ingest's admin API. */
    ONAIR_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    /**
     * Joins a cluster through Redis (`redis://host:6379/0`): events come from Redis and forwards
     * are made on each stream's origin node; ONAIR_INGEST_URL is then unused.
     */
    ONAIR_REDIS_URL: z.string().regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL').optional(),
    /** Base URL of the ingest (events and forwards). */
    ONAIR_INGEST_URL: z.string().url('must be a URL such as http://127.0.0.1:8080').default('http://127.0.0.1:8080'),
    /** `auto`: transcode every live stream; `manual`: only streams started through the API. */
    ONAIR_TRANSCODE_POLICY: z.enum(['auto', 'manual'], { error: 'must be auto or manual' }).default('auto'),
    /** ffmpeg binary: a path, or a name looked up in PATH. */
    ONAIR_FFMPEG_PATH: z.string().min(1).default('/usr/bin/ffmpeg'),
    /** UDP ports for ffmpeg's RTP input, e.g. `20000-29999` (even RTP port + odd RTCP port per track). */
    ONAIR_TRANSCODER_RTP_PORTS: z
      .string()
      .regex(/^\d+-\d+$/, 'must look like 20000-29999')
      .default('20000-29999'),
    /** Allowed CORS origin for /hls (players on other origins). */
    ONAIR_CORS_ORIGIN: z.string().default('*'),
    /**
     * This transcoder's name at the ingest. When it starts, the forwards of an earlier process with
     * the same name end at once; give each of several transcoders on one host its own.
     */
    ONAIR_TRANSCODER_ID: z
      .string()
      .regex(/^[A-Za-z0-9@._:-]{1,128}$/, 'must be 1–128 of A–Z a–z 0–9 @ . _ : -')
      .optional(),
    /**
     * The base URL of this transcoder's HLS origin as web nodes and caches reach it, written into
     * its job leases in a cluster (the site's /hls proxy looks it up there). Default
     * `http://<ONAIR_TRANSCODER_HOST>:<port>`; required in a cluster when the host is a wildcard.
     */
    ONAIR_TRANSCODER_PUBLIC_URL: z.string().url('must be a URL such as http://10.0.0.21:8090').optional(),
    /**
     * The address ingests send this transcoder's input RTP to and ffmpeg binds (an address of this
     * machine). Default 127.0.0.1: the ingest on the same machine. A transcoder on another host
     * gives its own address here (the ingest allows the address a transcoder calls from, and
     * ONAIR_TRANSCODER_HOSTS).
     */
    ONAIR_TRANSCODER_RTP_HOST: z.string().refine((host) => isIP(host) !== 0 && host !== '0.0.0.0' && host !== '::', 'must be an IP address of this machine (not a name or a wildcard)').default('127.0.0.1'),
    /** Proxies whose X-Forwarded-For is believed for the HLS viewer count (IPs, CIDR blocks, `loopback`). Default: none. */
    ONAIR_TRUSTED_PROXIES: z.string().default(''),
  })
  .passthrough();

export interface TranscoderConfig {
  host: string;
  port: number;
  dataDir: string;
  adminToken: string | undefined;
  ingestUrl: string;
  /** ONAIR_REDIS_URL: cluster mode. */
  redisUrl: string | undefined;
  policy: 'auto' | 'manual';
  ffmpegPath: string;
  rtpPorts: [number, number];
  corsOrigin: string;
  /** See ONAIR_TRANSCODER_ID; default `transcoder@<hostname>`. */
  id: string;
  /** Whose X-Forwarded-For the HLS viewer count believes (the site's own proxy proves itself apart from this). */
  trustedProxies: TrustedProxies;
  /** ONAIR_TRANSCODER_PUBLIC_URL without a trailing slash; undefined: from host and bound port. */
  publicUrl: string | undefined;
  /** ONAIR_TRANSCODER_RTP_HOST. */
  rtpHost: string;
  /** `<dataDir>/transcoder.db` */
  dbPath: string;
  /** `<dataDir>/hls`: one directory per stream. */
  hlsDir: string;
}

export function loadTranscoderConfig(env: NodeJS.ProcessEnv = process.env): TranscoderConfig {
  const raw = parseConfig(envSchema, env);
  const [min, max] = raw.ONAIR_TRANSCODER_RTP_PORTS.split('-').map(Number) as [number, number];
  if (!(min >= 1024 && max <= 65535 && min + 1 <= max)) {
    throw new ConfigError('Invalid configuration:\n  ONAIR_TRANSCODER_RTP_PORTS: must be within 1024-65535, low-high, with room for a port pair');
  }
  let trustedProxies: TrustedProxies;
  try {
    trustedProxies = TrustedProxies.parse(raw.ONAIR_TRUSTED_PROXIES);
  } catch (error) {
    throw new ConfigError(`Invalid configuration:\n  ONAIR_TRUSTED_PROXIES: ${(error as Error).message}`);
  }
  const dataDir = resolve(raw.ONAIR_DATA_DIR);
  // Web nodes and caches reach this origin at the URL in its job leases: a wildcard cannot be reached.
  if (raw.ONAIR_REDIS_URL && !raw.ONAIR_TRANSCODER_PUBLIC_URL && (isIP(raw.ONAIR_TRANSCODER_HOST) === 0 || raw.ONAIR_TRANSCODER_HOST === '0.0.0.0' || raw.ONAIR_TRANSCODER_HOST === '::')) {
    throw new ConfigError(`Invalid configuration:\n  ONAIR_TRANSCODER_PUBLIC_URL: required with ONAIR_REDIS_URL when ONAIR_TRANSCODER_HOST is ${raw.ONAIR_TRANSCODER_HOST} — the URL web nodes reach this transcoder's HLS at`);
  }
  return {
    host: raw.ONAIR_TRANSCODER_HOST,
    port: raw.ONAIR_TRANSCODER_PORT,
    dataDir,
    adminToken: raw.ONAIR_ADMIN_TOKEN,
    ingestUrl: raw.ONAIR_INGEST_URL.replace(/\/$/, ''),
    redisUrl: raw.ONAIR_REDIS_URL,
    policy: raw.ONAIR_TRANSCODE_POLICY,
    ffmpegPath: raw.ONAIR_FFMPEG_PATH,
    rtpPorts: [min, max],
    corsOrigin: raw.ONAIR_CORS_ORIGIN,
    id: raw.ONAIR_TRANSCODER_ID ?? `transcoder@${hostname().replace(/[^A-Za-z0-9@._:-]/g, '-').slice(0, 100) || 'localhost'}`,
    trustedProxies,
    publicUrl: raw.ONAIR_TRANSCODER_PUBLIC_URL?.replace(/\/$/, ''),
    rtpHost: raw.ONAIR_TRANSCODER_RTP_HOST,
    dbPath: resolve(dataDir, 'transcoder.db'),
    hlsDir: resolve(dataDir, 'hls'),
  };
}
