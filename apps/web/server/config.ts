/**
 * The web server's configuration: `ONAIR_WEB_*` and `ONAIR_TRUSTED_PROXIES`, validated once at
 * start. (The pages and route handlers read their own runtime settings — ingest and transcoder
 * URLs, the admin token — per request; see lib/server/runtime-config.ts.)
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, parseConfig } from '@onair/service/config';
import { TrustedProxies } from '@onair/shared/trusted-proxies';

const port = z.coerce.number().int().min(0).max(65535);
const positive = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const envSchema = z
  .object({
    ONAIR_WEB_HOST: z.string().default('127.0.0.1'),
    ONAIR_WEB_PORT: port.default(3000),
    ONAIR_DATA_DIR: z.string().default('./.data'),
    /** Comma-separated IPs / CIDR blocks / `loopback` whose X-Forwarded-* headers are believed. Default: nobody. */
    ONAIR_TRUSTED_PROXIES: z.string().default(''),
    /** Longest time to receive a whole request (headers and body), ms. */
    ONAIR_WEB_REQUEST_TIMEOUT_MS: positive(1000, 600_000).default(30_000),
    /** Open connections at most, all clients together. */
    ONAIR_WEB_MAX_CONNECTIONS: positive(1, 1_000_000).default(1024),
    /** Open connections at most from one client address (trusted proxies excepted). */
    ONAIR_WEB_MAX_CONNECTIONS_PER_CLIENT: positive(1, 1_000_000).default(128),
  })
  .passthrough();

export interface WebServerConfig {
  host: string;
  port: number;
  /** Absolute path of the data directory (the dashboard's session epoch lives there). */
  dataDir: string;
  trustedProxies: TrustedProxies;
  /** Whole request (headers + body) must arrive within this, ms. */
  requestTimeoutMs: number;
  /** Headers must arrive within this, ms (≤ requestTimeoutMs). */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this, ms. */
  keepAliveTimeoutMs: number;
  /** A connection with no traffic either way (e.g. a client that stops reading) is closed after this, ms. */
  idleTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerClient: number;
  /**
   * Largest request body the server lets through to Next, in bytes, whatever the route: a backstop
   * above the routes' own limits (256 KiB WHIP/WHEP, 64 KiB dashboard) for any path that reads a
   * body before a handler can bound it (Next's proxy.ts clones up to 10 MiB by default).
   */
  maxBodyBytes: number;
  /** After answering before the body was read (413), discard this much more at most, then close. */
  lingerBytes: number;
  /** …for this long at most, ms. */
  lingerMs: number;
}

export function loadWebServerConfig(env: Record<string, string | undefined> = process.env): WebServerConfig {
  const raw = parseConfig(envSchema, env as NodeJS.ProcessEnv);
  let trustedProxies: TrustedProxies;
  try {
    trustedProxies = TrustedProxies.parse(raw.ONAIR_TRUSTED_PROXIES);
  } catch (error) {
    throw new ConfigError(`Invalid configuration:\n  ONAIR_TRUSTED_PROXIES: ${(error as Error).message}`);
  }
  return {
    host: raw.ONAIR_WEB_HOST,
    port: raw.ONAIR_WEB_PORT,
    dataDir: resolve(raw.ONAIR_DATA_DIR),
    trustedProxies,
    requestTimeoutMs: raw.ONAIR_WEB_REQUEST_TIMEOUT_MS,
    headersTimeoutMs: Math.min(10_000, raw.ONAIR_WEB_REQUEST_TIMEOUT_MS),
    keepAliveTimeoutMs: 5_000,
    idleTimeoutMs: 60_000,
    maxConnections: raw.ONAIR_WEB_MAX_CONNECTIONS,
    maxConnectionsPerClient: raw.ONAIR_WEB_MAX_CONNECTIONS_PER_CLIENT,
    maxBodyBytes: 1024 * 1024,
    // A client stops when it reads the answer, but what it wrote before is still in flight
    // (socket buffers alone hold ~4 MiB on loopback), and one busy writing reads late: at 16 MiB
    // some clients on loopback were cut before they had read the answer. Dropping bytes costs
    // little; the 2 s bound is what ends a client that never stops.
    lingerBytes: 64 * 1024 * 1024,
    lingerMs: 2_000,
  };
}
