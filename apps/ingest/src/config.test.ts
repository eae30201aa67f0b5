import { describe, expect, it } from 'vitest';
import { loadIngestConfig, splitPortRange } from './config';

describe('loadIngestConfig', () => {
  it('defaults to loopback for HTTP and ICE', () => {
    const config = loadIngestConfig({});
    expect(config).toMatchObject({ host: '127.0.0.1', port: 8080, ice: { hosts: ['127.0.0.1'], portRange: undefined, servers: [] } });
  });

  it.each([
    [{ ONAIR_INGEST_HOST: '0.0.0.0' }, ['127.0.0.1']],
    [{ ONAIR_INGEST_HOST: '192.168.1.20' }, ['192.168.1.20']],
    [{ ONAIR_ICE_HOSTS: '192.168.1.20, ::1' }, ['192.168.1.20', '::1']],
  ])('ICE hosts for %j are %j', (env, hosts) => {
    expect(loadIngestConfig(env).ice.hosts).toEqual(hosts);
  });

  it.each([
    [{ ONAIR_ICE_HOSTS: 'example.org' }, 'ONAIR_ICE_HOSTS'],
    [{ ONAIR_ICE_HOSTS: '0.0.0.0' }, 'ONAIR_ICE_HOSTS'],
    [{ ONAIR_ICE_PORT_RANGE: '5000' }, 'ONAIR_ICE_PORT_RANGE'],
    [{ ONAIR_ICE_PORT_RANGE: '60000-50000' }, 'ONAIR_ICE_PORT_RANGE'],
    [{ ONAIR_ICE_SERVERS: 'stun:x' }, 'ONAIR_ICE_SERVERS'],
    [{ ONAIR_INGEST_PORT: 'eighty' }, 'ONAIR_INGEST_PORT'],
    [{ ONAIR_ADMIN_TOKEN: 'short' }, 'ONAIR_ADMIN_TOKEN'],
    [{ ONAIR_TRUSTED_PROXIES: '10.0.0.0/33' }, 'ONAIR_TRUSTED_PROXIES'],
    [{ ONAIR_MAX_VIEWERS: '0' }, 'ONAIR_MAX_VIEWERS'],
    [{ ONAIR_WEBTRANSPORT_PORT: 'on' }, 'ONAIR_WEBTRANSPORT_PORT'],
    [{ ONAIR_WEBTRANSPORT_PUBLIC_URL: 'http://live.example.org/moq' }, 'ONAIR_WEBTRANSPORT_PUBLIC_URL'],
    [{ ONAIR_TLS_CERT: '/etc/ssl/live.pem' }, 'ONAIR_TLS_KEY'],
  ])('refuses %j naming %s', (env, name) => {
    expect(() => loadIngestConfig(env)).toThrow(expect.objectContaining({ name: 'ConfigError', message: expect.stringContaining(name) }));
  });

  it('caps WHEP viewers by default (ONAIR_MAX_VIEWERS: connected viewers were bounded by nothing)', () => {
    expect(loadIngestConfig({}).sessions.maxViewers).toBe(2_000);
    expect(loadIngestConfig({ ONAIR_MAX_VIEWERS: '50000' }).sessions.maxViewers).toBe(50_000);
  });

  it('parses STUN/TURN servers and a port range', () => {
    const config = loadIngestConfig({ ONAIR_ICE_SERVERS: '[{"urls":"turn:t.example.org","username":"u","credential":"c"}]', ONAIR_ICE_PORT_RANGE: '40000-40099' });
    expect(config.ice.servers).toEqual([{ urls: 'turn:t.example.org', username: 'u', credential: 'c' }]);
    expect(config.ice.portRange).toEqual([40000, 40099]);
  });

  it.each([
    [{}, { localRelay: true, allowPrivate: false }],
    [{ ONAIR_ICE_HOSTS: '127.0.0.1' }, { localRelay: false, allowPrivate: false }],
    [{ ONAIR_ICE_LOCAL_RELAY: 'false' }, { localRelay: false, allowPrivate: false }],
    [{ ONAIR_ICE_HOSTS: '192.168.1.20' }, { localRelay: false, allowPrivate: true }],
    [{ ONAIR_ICE_HOSTS: '203.0.113.10' }, { localRelay: false, allowPrivate: false }],
    [{ ONAIR_ICE_HOSTS: '203.0.113.10', ONAIR_ICE_ALLOW_PRIVATE: 'true' }, { localRelay: false, allowPrivate: true }],
  ])('ICE policy for %j: %j', (env, expected) => {
    expect(loadIngestConfig(env).ice).toMatchObject(expected);
  });

  it.each([
    [undefined, undefined, undefined],
    [[40000, 40049], [40045, 40049], [40000, 40044]],
    [[40000, 40000], [40000, 40000], [40000, 40000]],
    [[40000, 40001], [40001, 40001], [40000, 40000]],
    [[40000, 40019], [40018, 40019], [40000, 40017]],
    [[40000, 40999], [40900, 40999], [40000, 40899]],
  ] as const)('ports %j: publishers %j, viewers %j', (range, publishers, viewers) => {
    expect(splitPortRange(range as [number, number] | undefined)).toEqual({ publisherPorts: publishers, viewerPorts: viewers });
  });

  it('serves WebTransport on UDP 8443 of the ICE hosts by default, with a self-made certificate', () => {
    expect(loadIngestConfig({ ONAIR_ICE_HOSTS: '192.168.1.20,::1' }).webTransport).toEqual({ hosts: ['192.168.1.20', '::1'], port: 8443, path: '/moq', publicUrl: undefined, tls: undefined });
  });

  it('turns WebTransport off, or takes a configured certificate and public URL', () => {
    expect(loadIngestConfig({ ONAIR_WEBTRANSPORT_PORT: 'off' }).webTransport).toBeUndefined();
    const config = loadIngestConfig({ ONAIR_WEBTRANSPORT_PORT: '4433', ONAIR_TLS_CERT: '/etc/ssl/live.pem', ONAIR_TLS_KEY: '/etc/ssl/live.key', ONAIR_WEBTRANSPORT_PUBLIC_URL: 'https://live.example.org:4433/moq/' });
    expect(config.webTransport).toMatchObject({ port: 4433, publicUrl: 'https://live.example.org:4433/moq', tls: { certFile: '/etc/ssl/live.pem', keyFile: '/etc/ssl/live.key' } });
  });
});

describe('cluster configuration (ONAIR_REDIS_URL)', () => {
  const token = { ONAIR_ADMIN_TOKEN: 'test-admin-token-0123456789' };

  it('is off without ONAIR_REDIS_URL (npm start: one machine, SQLite)', () => {
    expect(loadIngestConfig({}).cluster).toBeUndefined();
  });

  it('has pull edges, a 5 s lease renewed every second, at most 4 hops by default', () => {
    expect(loadIngestConfig({ ONAIR_REDIS_URL: 'redis://10.0.0.5:6379/0', ...token }).cluster).toEqual({
      redisUrl: 'redis://10.0.0.5:6379/0', nodeId: undefined, edgeMode: 'pull', edgeUpstream: undefined,
      leaseTtlMs: 5_000, leaseRenewMs: 1_000, edgeIdleMs: 10_000, edgeRenditions: true, maxEdgeHops: 4, edgeConnectTimeoutMs: 5_000,
    });
    const chained = loadIngestConfig({ ONAIR_REDIS_URL: 'rediss://redis.internal:6380', ONAIR_NODE_ID: 'edge-fra-1', ONAIR_EDGE_MODE: 'redirect', ONAIR_EDGE_UPSTREAM: 'http://10.0.1.2:8080/', ...token }).cluster;
    expect(chained).toMatchObject({ nodeId: 'edge-fra-1', edgeMode: 'redirect', edgeUpstream: 'http://10.0.1.2:8080' });
  });

  it.each([
    [{ ONAIR_REDIS_URL: 'redis://r:6379' }, 'ONAIR_ADMIN_TOKEN'],
    [{ ONAIR_REDIS_URL: 'redis://r:6379', ONAIR_INGEST_HOST: '0.0.0.0', ...token }, 'ONAIR_INGEST_PUBLIC_URL'],
    [{ ONAIR_REDIS_URL: 'http://r:6379', ...token }, 'ONAIR_REDIS_URL'],
    [{ ONAIR_REDIS_URL: 'redis://r:6379', ONAIR_NODE_ID: 'a b', ...token }, 'ONAIR_NODE_ID'],
    [{ ONAIR_REDIS_URL: 'redis://r:6379', ONAIR_EDGE_MODE: 'proxy', ...token }, 'ONAIR_EDGE_MODE'],
  ])('refuses %j, naming %s', (env, name) => {
    expect(() => loadIngestConfig(env)).toThrow(name);
  });

  it('a wildcard host is fine with a public URL other nodes reach', () => {
    expect(loadIngestConfig({ ONAIR_REDIS_URL: 'redis://r:6379', ONAIR_INGEST_HOST: '0.0.0.0', ONAIR_INGEST_PUBLIC_URL: 'http://10.0.0.7:8080', ...token }).cluster?.redisUrl).toBe('redis://r:6379');
  });
});
