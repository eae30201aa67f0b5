/**
 * The WebTransport ingest: a WebTransport server (../webtransport) whose sessions, once the stream
 * key in the CONNECT's `?key=` has been checked, become Media-over-QUIC publishers
 * (acceptMoqPublisher) attached to the stream's router exactly like WHIP publishers. It also
 * answers the discovery (`GET /api/webtransport`): the URL to connect to and the certificate
 * hashes for `serverCertificateHashes`.
 *
 * Ownership: MoqIngest → certificate source (a rotator of self-made certificates, or the
 * configured files) and one WebTransportServer per configured host; publisher sessions belong to
 * the MediaRouter once attached. `close()` stops the servers (their sessions end, and with them
 * the publishers) and is idempotent.
 */
import type { Logger } from '@onair/service/logger';
import type { WebTransportConfig } from '../config';
import type { MediaRouter } from '../router/media-router';
import type { StreamRecord } from '../streams/stream-store';
import { CertificateRotator } from '../webtransport/certificate-rotator';
import { loadCertificateFiles } from '../webtransport/certificates';
import { createWebTransportServer } from '../webtransport/server';
import type { WebTransportLimits } from '../webtransport/server-options';
import type { ConnectDecision, WebTransportCertificate, WebTransportConnectRequest, WebTransportServer, WebTransportServerStats, WebTransportSession } from '../webtransport/transport';
import { acceptMoqPublisher, selectMoqProtocol } from './accept-moq-publisher';
import { webTransportUrl, type WebTransportEndpoint } from './discovery-route';
import { MoqIngestError, sessionOrigin } from './moq-ingest-error';
import type { MoqPublisherStats } from './moq-publisher-peer';

export interface MoqIngestOptions {
  config: WebTransportConfig;
  /** Stream keys: the key in the CONNECT names the stream (the announced broadcast name is not trusted). */
  streams: { findByKey(key: string): Promise<StreamRecord | undefined> };
  media: MediaRouter;
  log: Logger;
  /** Overrides of the WebTransport server's limits (tests). */
  limits?: Partial<WebTransportLimits>;
  /** Overrides of the MoQ setup timeout, ms (tests). */
  setupTimeoutMs?: number;
}

export interface MoqIngestStats {
  server: WebTransportServerStats;
  /** Sessions whose MoQ setup is under way. */
  settingUp: number;
  /** Sessions that became publishers, and setups that failed by code, since start. */
  accepted: number;
  failed: Record<string, number>;
  publishers: MoqPublisherStats[];
}

/** The stream key a CONNECT carries (`?key=`), as WHIP carries it in `Authorization`. */
export function connectStreamKey(path: string): string | undefined {
  try {
    return new URL(path, 'https://onair.invalid').searchParams.get('key') ?? undefined;
  } catch {
    return undefined;
  }
}

export class MoqIngest implements WebTransportEndpoint {
  private readonly servers: WebTransportServer[] = [];
  private readonly bound: Array<{ host: string; port: number }> = [];
  private readonly setups = new Set<WebTransportSession>();
  private readonly publishers = new Set<{ getStats(): MoqPublisherStats }>();
  private accepted = 0;
  private readonly failed: Record<string, number> = {};
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly options: MoqIngestOptions,
    private readonly certificate: WebTransportCertificate,
    private readonly rotator: CertificateRotator | undefined,
  ) {
    for (const host of options.config.hosts) {
      const server = createWebTransportServer({
        host,
        port: options.config.port,
        certificate,
        paths: [options.config.path],
        authorize: (request) => this.authorize(request),
        limits: options.limits,
        logger: options.log.child({ component: 'webtransport', host }),
      });
      server.on('session', (session) => void this.onSession(session));
      this.servers.push(server);
    }
  }

  /**
   * With ONAIR_TLS_CERT/KEY, those (checked now: a bad file stops the start with its name);
   * otherwise a self-made certificate for the configured hosts, rotated before it expires.
   */
  static async create(options: MoqIngestOptions): Promise<MoqIngest> {
    const { tls, hosts } = options.config;
    if (tls) return new MoqIngest(options, await loadCertificateFiles(tls.certFile, tls.keyFile), undefined);
    let ingest: MoqIngest | undefined;
    const rotator = new CertificateRotator({
      hosts: [...hosts, 'localhost'],
      install: (certificate) => ingest?.installCertificate(certificate),
      logger: options.log.child({ component: 'webtransport-certificate' }),
    });
    const first = await rotator.start();
    ingest = new MoqIngest(options, first, rotator);
    return ingest;
  }

  /** Binds every server; resolves with the addresses (port 0 → the one chosen). */
  async listen(): Promise<Array<{ host: string; port: number }>> {
    for (const server of this.servers) this.bound.push(await server.listen());
    return this.bound;
  }

  url(): string {
    const first = this.bound[0] ?? { host: this.options.config.hosts[0] ?? '127.0.0.1', port: this.options.config.port };
    return this.options.config.publicUrl ?? webTransportUrl(first.host, first.port, this.options.config.path);
  }

  certificateHashes(): string[] {
    return this.rotator?.hashes() ?? [];
  }

  /** Is `key` a stream key (the discovery's check, so a page can tell a wrong key from blocked QUIC)? */
  async knowsKey(key: string): Promise<boolean> {
    return (await this.options.streams.findByKey(key)) !== undefined;
  }

  getStats(): MoqIngestStats {
    const server = this.servers.map((s) => s.getStats()).reduce(mergeServerStats);
    return { server, settingUp: this.setups.size, accepted: this.accepted, failed: { ...this.failed }, publishers: [...this.publishers].map((p) => p.getStats()) };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.rotator?.stop();
      await Promise.allSettled(this.servers.map((server) => server.close()));
    })();
    return this.closing;
  }

  private installCertificate(certificate: WebTransportCertificate): void {
    for (const server of this.servers) server.setCertificate(certificate);
  }

  /** Decides a CONNECT before anything of its session is read (draft-ietf-webtrans-http3 §3.2). */
  private async authorize(request: WebTransportConnectRequest): Promise<ConnectDecision> {
    const key = connectStreamKey(request.path);
    const log = this.options.log.child({ client: request.remote.address });
    if (!key) {
      log.info('WebTransport CONNECT without a stream key (?key=): 401');
      return { status: 401, reason: 'missing_credentials' };
    }
    if (!(await this.options.streams.findByKey(key))) {
      log.info('WebTransport CONNECT with an unknown stream key: 403');
      return { status: 403, reason: 'invalid_stream_key' };
    }
    const protocol = selectMoqProtocol(request.offeredProtocols);
    return protocol ? { status: 200, protocol } : { status: 200 };
  }

  private async onSession(session: WebTransportSession): Promise<void> {
    const { request } = session;
    // Checked again: the key may have been rotated while the CONNECT was answered.
    const record = await this.options.streams.findByKey(connectStreamKey(request.path) ?? '').catch(() => undefined);
    const log = this.options.log.child({ stream: record?.id, session: session.id, client: request.remote.address, protocol: 'webtransport' });
    if (!record) {
      session.close({ closeCode: 403, reason: 'invalid_stream_key' });
      return;
    }
    this.setups.add(session);
    const started = performance.now();
    try {
      const peer = await acceptMoqPublisher(session, sessionOrigin(request.authority), {
        log,
        ...(this.options.setupTimeoutMs !== undefined ? { setupTimeoutMs: this.options.setupTimeoutMs } : {}),
      });
      if (this.closing) {
        await peer.close();
        return;
      }
      const publisher = await this.options.media.attachPublisher('webtransport', record.id, peer);
      this.accepted += 1;
      this.publishers.add(peer);
      publisher.once('closed', () => this.publishers.delete(peer));
      log.info({ name: record.name, video: peer.codecs.video?.fmtp, audio: peer.codecs.audio?.name, setupMs: Math.round(performance.now() - started), moq: peer.getStats().moqVersion }, 'WebTransport publisher live');
    } catch (error) {
      const code = error instanceof MoqIngestError ? error.code : 'internal_error';
      this.failed[code] = (this.failed[code] ?? 0) + 1;
      if (error instanceof MoqIngestError) log.info({ code, detail: error.message }, 'WebTransport publisher refused');
      else log.error({ err: error }, 'WebTransport publisher setup failed');
      try {
        session.close({ closeCode: 0, reason: code });
      } catch {
        // already closed
      }
    } finally {
      this.setups.delete(session);
    }
  }
}

function mergeServerStats(a: WebTransportServerStats, b: WebTransportServerStats): WebTransportServerStats {
  const sum = (x: Record<string, number>, y: Record<string, number>) => {
    const out = { ...x };
    for (const [k, v] of Object.entries(y)) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  return {
    connections: a.connections + b.connections,
    sessions: a.sessions + b.sessions,
    streams: a.streams + b.streams,
    bufferedBytes: a.bufferedBytes + b.bufferedBytes,
    refused: sum(a.refused, b.refused),
    limitClosures: sum(a.limitClosures, b.limitClosures),
  };
}
