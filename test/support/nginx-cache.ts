/**
 * A test's own caching reverse proxy: Debian's nginx with `proxy_cache`, in front of an HLS
 * origin (a transcoder), on a loopback port, with its config, cache, temp files and logs in a
 * temporary directory — never the system's nginx or its config. What a CDN edge does for LL-HLS:
 * - the cache key is the path *and* the query string, so each blocking playlist reload
 *   (`_HLS_msn`/`_HLS_part`, RFC 8216bis §6.2.5.2) is its own cached answer, never another's;
 * - `proxy_cache_lock`: of many players asking for the same not-yet-cached URL at once (the
 *   next part, the next blocking reload), one request goes to the origin and the others wait
 *   for its answer;
 * - what to keep and for how long comes from the origin's Cache-Control (immutable media,
 *   `no-cache` playlists without directives, short max-age for blocking reloads).
 * Every request is logged with its cache status and whether it went upstream, which is how a
 * test counts what the origin saw.
 *
 *   const cache = await startNginxCache({ upstream: stack.transcoderUrl });
 *   … cache.url … (await cache.requests()).filter((r) => r.upstream) … await cache.close();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pollUntil } from './poll';
import { freePort } from './ports';

const NGINX = '/usr/sbin/nginx';

export interface CacheLogEntry {
  /** Path and query as the client sent them. */
  uri: string;
  status: number;
  /** `$upstream_cache_status`: HIT, MISS, EXPIRED, UPDATING, BYPASS… or '-' (not cacheable). */
  cacheStatus: string;
  /** The request (or part of it) went to the origin. */
  upstream: boolean;
}

export interface NginxCache {
  url: string;
  port: number;
  dir: string;
  /** The master's pid (its workers are its children). */
  pid: number;
  /** Every request nginx has finished, in order. */
  requests(): CacheLogEntry[];
  errorLog(): string;
  close(): Promise<void>;
}

export function nginxInstalled(): boolean {
  return existsSync(NGINX);
}

/**
 * `workerConnections`: nginx's per-worker connection cap (default 2048; a load bench holds thousands).
 * `cacheLock: false` turns proxy_cache_lock off: nginx's lock waiters poll every 500 ms
 * (ngx_http_file_cache.c), which a blocking reload feels; without it every concurrent miss goes upstream.
 */
export async function startNginxCache(options: { upstream: string; port?: number; workerConnections?: number; cacheLock?: boolean }): Promise<NginxCache> {
  if (!nginxInstalled()) throw new Error(`${NGINX} is missing: apt-get install nginx (npm test installs it)`);
  const upstream = new URL(options.upstream);
  const dir = mkdtempSync(join(tmpdir(), 'onair-nginx-'));
  // Run as root, nginx's workers are `nobody`: they must reach the cache and temp directories.
  chmodSync(dir, 0o755);
  const port = options.port ?? (await freePort());
  const user = process.getuid?.() === 0 ? 'user nobody nogroup;' : '';
  writeFileSync(join(dir, 'nginx.conf'), `
${user}
worker_processes 1;
worker_rlimit_nofile ${2 * (options.workerConnections ?? 2048) + 64};
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections ${options.workerConnections ?? 2048}; }
http {
  log_format cache '$upstream_cache_status\\t$upstream_addr\\t$status\\t$request_uri';
  access_log ${dir}/access.log cache;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  proxy_cache_path ${dir}/cache levels=1:2 keys_zone=hls:16m max_size=512m inactive=2m use_temp_path=off;
  upstream origin {
    server ${upstream.host};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location /hls/ {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache hls;
      # The blocking-reload directives are part of the answer: they are part of the key.
      proxy_cache_key $uri$is_args$args;
      proxy_cache_lock ${options.cacheLock === false ? 'off' : 'on'};
      proxy_cache_lock_timeout 10s;
      proxy_cache_lock_age 10s;
      proxy_read_timeout 30s;
    }
  }
}
`);
  const lines: string[] = [];
  const child: ChildProcess = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const collect = (chunk: Buffer) => lines.push(chunk.toString('utf8'));
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const errorLog = () => (existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '') + lines.join('');
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      child.kill('SIGTERM');
      // Its workers are in its process group (detached): none outlives a master that hangs.
      const force = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 5_000);
      await exited;
      clearTimeout(force);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await pollUntil('nginx to answer', async () => {
      if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${errorLog()}`);
      const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1_000) });
      return res.status > 0;
    }, { timeoutMs: 10_000, intervalMs: 50 });
  } catch (error) {
    await close();
    throw error;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dir,
    pid: child.pid!,
    requests() {
      const path = join(dir, 'access.log');
      if (!existsSync(path)) return [];
      return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((line) => {
        const [cacheStatus = '-', addr = '-', status = '0', uri = ''] = line.split('\t');
        return { uri, status: Number(status), cacheStatus, upstream: addr !== '-' };
      });
    },
    errorLog,
    close,
  };
}
