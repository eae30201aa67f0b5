/**
 * Keeps the WebTransport server on a fresh self-made certificate: a hashed certificate may be
 * valid for 14 days at most, so a long-running server replaces it before it expires — by default
 * once two thirds of its validity have passed. The server's `setCertificate` only affects new
 * handshakes, so live sessions keep theirs.
 *
 * Pages pin the hash they fetched; one fetched just before a rotation must still connect, so
 * `hashes()` lists the current certificate's hash and the previous one's (until it expires) —
 * give both to `serverCertificateHashes`.
 */
import type { Logger } from 'pino';
import { generateCertificate, type GeneratedCertificate } from './certificates';
import type { WebTransportCertificate } from './transport';

export interface CertificateRotatorOptions {
  /** DNS names and IP addresses of the certificates. */
  hosts: string[];
  /** Validity of each certificate, ms (≤ 14 days). Default 10 days. */
  validityMs?: number;
  /** Fraction of the validity after which the next certificate takes over. Default 2/3. */
  rotateAfter?: number;
  /** Where each new certificate goes (the server's `setCertificate`). */
  install(certificate: WebTransportCertificate): void;
  logger?: Logger;
}

export class CertificateRotator {
  private currentCertificate: GeneratedCertificate | undefined;
  private previousCertificate: GeneratedCertificate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: CertificateRotatorOptions) {
    const fraction = options.rotateAfter ?? 2 / 3;
    if (!(fraction > 0 && fraction < 1)) throw new RangeError(`rotateAfter must be between 0 and 1, got ${fraction}`);
  }

  /** Makes and installs the first certificate; later ones follow on a timer. */
  async start(): Promise<GeneratedCertificate> {
    this.stopped = false;
    return this.rotate();
  }

  /** Makes a new certificate now and installs it; the old one becomes `previous`. */
  async rotate(): Promise<GeneratedCertificate> {
    const next = await generateCertificate({ hosts: this.options.hosts, validityMs: this.options.validityMs });
    this.options.install(next);
    this.previousCertificate = this.currentCertificate;
    this.currentCertificate = next;
    this.options.logger?.info({ sha256: next.sha256, notAfter: next.notAfter.toISOString() }, 'WebTransport certificate installed');
    this.schedule(next);
    return next;
  }

  private schedule(certificate: GeneratedCertificate): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    const validity = certificate.notAfter.getTime() - certificate.notBefore.getTime();
    const due = certificate.notBefore.getTime() + validity * (this.options.rotateAfter ?? 2 / 3);
    // setTimeout holds at most 2^31 − 1 ms (~24.8 days): enough for ≤ 14-day certificates.
    this.timer = setTimeout(() => {
      this.rotate().catch((error) => {
        this.options.logger?.error({ err: error }, 'WebTransport certificate rotation failed; retrying in 60 s');
        this.timer = setTimeout(() => void this.rotate().catch(() => {}), 60_000);
        this.timer.unref();
      });
    }, Math.max(0, due - Date.now()));
    this.timer.unref();
  }

  get current(): GeneratedCertificate | undefined {
    return this.currentCertificate;
  }

  get previous(): GeneratedCertificate | undefined {
    return this.previousCertificate;
  }

  /** SHA-256 (hex) of the certificates a client may see: current first, then previous while still valid. */
  hashes(now = new Date()): string[] {
    return [this.currentCertificate, this.previousCertificate].filter((certificate): certificate is GeneratedCertificate => certificate !== undefined && certificate.notAfter > now).map((certificate) => certificate.sha256);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
