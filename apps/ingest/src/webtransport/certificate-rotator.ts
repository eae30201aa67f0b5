/**
 * Keeps the WebTransport server on a fresh self-made certificate: a hashed certificate may be
 * valid for 14 days at most, so a long-running server replaces it before it expires — by default
 * once two thirds of its validity have passed. The server's `setCertificate` only affects new
 * handshakes, so live sessions keep theirs.
 *
 * Pages pin the hashes they fetched, then connect. A page that fetched just before a rotation
 * must still connect after it, so the next certificate is made a while before it is installed
 * (`announceAheadMs`) and `hashes()` lists it beside the current one from then on: whichever of
 * the two the server presents at the page's handshake, the page has its hash.
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
  /** How long before taking over the next certificate is made and announced, ms. Default 1 h (at most a sixth of the validity). */
  announceAheadMs?: number;
  /** Where each new certificate goes (the server's `setCertificate`). */
  install(certificate: WebTransportCertificate): void;
  logger?: Logger;
}

export class CertificateRotator {
  private currentCertificate: GeneratedCertificate | undefined;
  private previousCertificate: GeneratedCertificate | undefined;
  private nextCertificate: GeneratedCertificate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private announceTimer: NodeJS.Timeout | undefined;
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

  /** Installs the announced next certificate (made now if none was), and the old one becomes `previous`. */
  async rotate(): Promise<GeneratedCertificate> {
    const next = this.nextCertificate ?? (await this.generate());
    this.nextCertificate = undefined;
    this.options.install(next);
    this.previousCertificate = this.currentCertificate;
    this.currentCertificate = next;
    this.options.logger?.info({ sha256: next.sha256, notAfter: next.notAfter.toISOString() }, 'WebTransport certificate installed');
    this.schedule(next);
    return next;
  }

  private generate(): Promise<GeneratedCertificate> {
    return generateCertificate({ hosts: this.options.hosts, validityMs: this.options.validityMs });
  }

  /** Makes the next certificate and adds its hash to `hashes()`, ahead of the rotation. */
  private async announceNext(): Promise<void> {
    if (this.nextCertificate || this.stopped) return;
    const next = await this.generate();
    if (this.stopped) return;
    this.nextCertificate = next;
    this.options.logger?.info({ sha256: next.sha256 }, 'next WebTransport certificate announced');
  }

  private schedule(certificate: GeneratedCertificate): void {
    clearTimeout(this.timer);
    clearTimeout(this.announceTimer);
    if (this.stopped) return;
    const validity = certificate.notAfter.getTime() - certificate.notBefore.getTime();
    const due = certificate.notBefore.getTime() + validity * (this.options.rotateAfter ?? 2 / 3);
    const ahead = Math.min(this.options.announceAheadMs ?? 3600_000, validity / 6);
    // setTimeout holds at most 2^31 − 1 ms (~24.8 days): enough for ≤ 14-day certificates.
    this.announceTimer = setTimeout(() => {
      this.announceNext().catch((error) => this.options.logger?.error({ err: error }, 'could not make the next WebTransport certificate; it is made at the rotation'));
    }, Math.max(0, due - ahead - Date.now()));
    this.announceTimer.unref();
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

  /** The certificate announced to take over at the next rotation, once made. */
  get next(): GeneratedCertificate | undefined {
    return this.nextCertificate;
  }

  /** SHA-256 (hex) of the certificates a client may be shown at its handshake: the current one, then the announced next. */
  hashes(now = new Date()): string[] {
    return [this.currentCertificate, this.nextCertificate].filter((certificate): certificate is GeneratedCertificate => certificate !== undefined && certificate.notAfter > now).map((certificate) => certificate.sha256);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.announceTimer);
  }
}
