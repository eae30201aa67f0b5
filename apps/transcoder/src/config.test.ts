import { describe, expect, it } from 'vitest';
import { loadTranscoderConfig } from './config';

describe('loadTranscoderConfig', () => {
  it('has loopback defaults', () => {
    const config = loadTranscoderConfig({ ONAIR_DATA_DIR: '/tmp/onair-x' });
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8090,
      ingestUrl: 'http://127.0.0.1:8080',
      policy: 'auto',
      ffmpegPath: '/usr/bin/ffmpeg',
      rtpPorts: [20000, 29999],
      dbPath: '/tmp/onair-x/transcoder.db',
      hlsDir: '/tmp/onair-x/hls',
      adminToken: undefined,
    });
    expect(config.id).toMatch(/^transcoder@[A-Za-z0-9@._:-]+$/);
  });

  it('reads every variable', () => {
    const config = loadTranscoderConfig({
      ONAIR_TRANSCODER_HOST: '0.0.0.0',
      ONAIR_TRANSCODER_PORT: '9000',
      ONAIR_DATA_DIR: '/data',
      ONAIR_ADMIN_TOKEN: 'a-token-of-16-chars-or-more',
      ONAIR_INGEST_URL: 'http://ingest:8080/',
      ONAIR_TRANSCODE_POLICY: 'manual',
      ONAIR_FFMPEG_PATH: 'ffmpeg',
      ONAIR_TRANSCODER_RTP_PORTS: '30000-30099',
      ONAIR_TRANSCODER_ID: 'tc-2@rack1',
    });
    expect(config).toMatchObject({ id: 'tc-2@rack1', host: '0.0.0.0', port: 9000, adminToken: 'a-token-of-16-chars-or-more', ingestUrl: 'http://ingest:8080', policy: 'manual', ffmpegPath: 'ffmpeg', rtpPorts: [30000, 30099] });
  });

  it('lists every problem at once', () => {
    expect(() => loadTranscoderConfig({ ONAIR_TRANSCODER_PORT: 'x', ONAIR_TRANSCODE_POLICY: 'sometimes', ONAIR_ADMIN_TOKEN: 'short', ONAIR_INGEST_URL: 'not a url' })).toThrow(
      /ONAIR_TRANSCODER_PORT[\s\S]*ONAIR_ADMIN_TOKEN: must be at least 16 characters[\s\S]*ONAIR_INGEST_URL: must be a URL[\s\S]*ONAIR_TRANSCODE_POLICY: must be auto or manual/,
    );
  });

  it('reads ONAIR_TRUSTED_PROXIES (nobody by default) and names what it cannot read', () => {
    expect(loadTranscoderConfig({}).trustedProxies.isEmpty).toBe(true);
    const config = loadTranscoderConfig({ ONAIR_TRUSTED_PROXIES: '10.0.0.0/8, 2001:db8::/32' });
    expect(config.trustedProxies.trusts('10.1.1.1')).toBe(true);
    expect(config.trustedProxies.trusts('127.0.0.1')).toBe(false);
    expect(() => loadTranscoderConfig({ ONAIR_TRUSTED_PROXIES: 'cdn.example' })).toThrow(/ONAIR_TRUSTED_PROXIES: "cdn\.example"/);
  });

  it('in a cluster: the HLS origin URL for the job leases (default from host and port; required on a wildcard host), and the RTP host', () => {
    expect(loadTranscoderConfig({ ONAIR_REDIS_URL: 'redis://r:6379' })).toMatchObject({ publicUrl: undefined, rtpHost: '127.0.0.1' });
    expect(() => loadTranscoderConfig({ ONAIR_REDIS_URL: 'redis://r:6379', ONAIR_TRANSCODER_HOST: '0.0.0.0' })).toThrow(/ONAIR_TRANSCODER_PUBLIC_URL: required with ONAIR_REDIS_URL/);
    expect(loadTranscoderConfig({ ONAIR_REDIS_URL: 'redis://r:6379', ONAIR_TRANSCODER_HOST: '0.0.0.0', ONAIR_TRANSCODER_PUBLIC_URL: 'http://10.0.0.21:8090/', ONAIR_TRANSCODER_RTP_HOST: '10.0.0.21' })).toMatchObject({
      publicUrl: 'http://10.0.0.21:8090',
      rtpHost: '10.0.0.21',
    });
    expect(() => loadTranscoderConfig({ ONAIR_TRANSCODER_RTP_HOST: 'tc.example' })).toThrow(/ONAIR_TRANSCODER_RTP_HOST: must be an IP address/);
    expect(() => loadTranscoderConfig({ ONAIR_TRANSCODER_RTP_HOST: '0.0.0.0' })).toThrow(/ONAIR_TRANSCODER_RTP_HOST/);
  });

  it.each(['100-200', '40000-40000', '50000-70000'])('rejects the RTP port range %s', (range) => {
    expect(() => loadTranscoderConfig({ ONAIR_TRANSCODER_RTP_PORTS: range })).toThrow(/ONAIR_TRANSCODER_RTP_PORTS/);
  });
});
