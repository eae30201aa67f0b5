import { createPrivateKey, X509Certificate } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CertificateRotator } from './certificate-rotator';
import { certificateSha256, CertificateFileError, checkCertificatePair, generateCertificate, MAX_HASHED_VALIDITY_MS } from './certificates';
import type { WebTransportCertificate } from './transport';

describe('generateCertificate (for serverCertificateHashes)', () => {
  it('makes an ECDSA P-256 certificate for the hosts, valid under 14 days, with its SHA-256', async () => {
    const generated = await generateCertificate({ hosts: ['127.0.0.1', 'localhost', '::1'] });
    const certificate = new X509Certificate(generated.certPem);
    expect(certificate.publicKey.asymmetricKeyType).toBe('ec');
    expect(certificate.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(certificate.subjectAltName).toBe('IP Address:127.0.0.1, DNS:localhost, IP Address:0:0:0:0:0:0:0:1');
    expect(certificate.checkPrivateKey(createPrivateKey(generated.keyPem))).toBe(true);
    expect(certificate.ca).toBe(false);
    const validity = new Date(certificate.validTo).getTime() - new Date(certificate.validFrom).getTime();
    expect(validity).toBeLessThanOrEqual(MAX_HASHED_VALIDITY_MS);
    expect(validity).toBeGreaterThan(9 * 24 * 3600_000);
    expect(generated.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(generated.sha256).toBe(certificateSha256(generated.certPem));
    expect(generated.notAfter.getTime() - generated.notBefore.getTime()).toBe(10 * 24 * 3600_000);
  });

  it('refuses validity over 14 days and an empty host list', async () => {
    await expect(generateCertificate({ hosts: ['localhost'], validityMs: MAX_HASHED_VALIDITY_MS + 1 })).rejects.toThrow(/14 days/);
    await expect(generateCertificate({ hosts: [] })).rejects.toThrow(/host/);
  });

  it('two certificates differ (fresh key, fresh serial)', async () => {
    const [a, b] = await Promise.all([generateCertificate({ hosts: ['localhost'] }), generateCertificate({ hosts: ['localhost'] })]);
    expect(a.sha256).not.toBe(b.sha256);
    expect(a.keyPem).not.toBe(b.keyPem);
  });
});

describe('checkCertificatePair (ONAIR_TLS_CERT / ONAIR_TLS_KEY)', () => {
  it('accepts a matching, valid pair', async () => {
    const generated = await generateCertificate({ hosts: ['localhost'] });
    expect(checkCertificatePair(generated).sha256).toBe(generated.sha256);
  });

  it.each<[string, (a: WebTransportCertificate, b: WebTransportCertificate) => WebTransportCertificate, RegExp]>([
    ['a key of another certificate', (a, b) => ({ certPem: a.certPem, keyPem: b.keyPem }), /is not the private key of cert\.pem/],
    ['no PEM certificate', (a) => ({ certPem: 'hello', keyPem: a.keyPem }), /not a PEM certificate/],
    ['a broken certificate', (a) => ({ certPem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', keyPem: a.keyPem }), /does not parse as an X\.509/],
    ['a broken key', (a) => ({ certPem: a.certPem, keyPem: 'nope' }), /key\.pem does not parse as a PEM private key/],
  ])('refuses %s with a clear error', async (_name, pick, message) => {
    const [a, b] = await Promise.all([generateCertificate({ hosts: ['localhost'] }), generateCertificate({ hosts: ['localhost'] })]);
    expect(() => checkCertificatePair(pick(a, b), { certPath: 'cert.pem', keyPath: 'key.pem' })).toThrowError(CertificateFileError);
    expect(() => checkCertificatePair(pick(a, b), { certPath: 'cert.pem', keyPath: 'key.pem' })).toThrowError(message);
  });

  it('refuses an expired or not yet valid certificate', async () => {
    const generated = await generateCertificate({ hosts: ['localhost'], validityMs: 3600_000 });
    expect(() => checkCertificatePair(generated, { now: new Date(Date.now() + 2 * 3600_000) })).toThrowError(/expired on/);
    expect(() => checkCertificatePair(generated, { now: new Date(Date.now() - 2 * 3600_000) })).toThrowError(/not valid before/);
  });
});

describe('CertificateRotator', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('announces the next certificate an hour ahead, then installs it after 2/3 of the validity', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const installed: string[] = [];
    const rotator = new CertificateRotator({ hosts: ['localhost'], validityMs: 9 * 3600_000, install: (certificate) => installed.push(certificateSha256(certificate.certPem)) });
    const first = await rotator.start();
    expect(installed).toEqual([first.sha256]);
    expect(rotator.hashes()).toEqual([first.sha256]);

    // 2/3 of 9 h (less the start's skew) is ~5.99 h: the next is announced an hour (at most 9 h / 6 = 1.5 h) before.
    await vi.advanceTimersByTimeAsync(4.9 * 3600_000);
    expect(rotator.next).toBeUndefined();
    await vi.advanceTimersByTimeAsync(0.2 * 3600_000);
    await vi.waitFor(() => expect(rotator.next).toBeDefined());
    const second = rotator.next!;
    // A page that fetches now gets both: the handshake it makes before or after the switch matches one.
    expect(rotator.hashes()).toEqual([first.sha256, second.sha256]);
    expect(installed).toHaveLength(1);

    await vi.advanceTimersByTimeAsync(0.95 * 3600_000);
    await vi.waitFor(() => expect(installed).toHaveLength(2));
    expect(installed[1]).toBe(second.sha256);
    expect(rotator.current?.sha256).toBe(second.sha256);
    expect(rotator.previous?.sha256).toBe(first.sha256);
    expect(rotator.hashes()).toEqual([second.sha256]);
    rotator.stop();
    await vi.advanceTimersByTimeAsync(24 * 3600_000);
    expect(installed).toHaveLength(2);
    expect(rotator.next).toBeUndefined();
  });

  it('refuses a rotation point outside (0, 1)', () => {
    expect(() => new CertificateRotator({ hosts: ['localhost'], rotateAfter: 1, install: () => {} })).toThrowError(RangeError);
  });
});
