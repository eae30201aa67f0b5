/**
 * Certificates for the WebTransport server.
 *
 * Browsers accept a self-made certificate through `serverCertificateHashes` only when it is
 * ECDSA (P-256 here) and valid for at most 14 days (W3C WebTransport §4.4 "custom certificate
 * requirements"); the page pins the SHA-256 of its DER. `generateCertificate` makes one with
 * @peculiar/x509 on WebCrypto; `loadCertificateFiles` reads a configured PEM pair (e.g. from a
 * real CA) and checks it before the server uses it.
 */
import { createHash, createPrivateKey, webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import type { WebTransportCertificate } from './transport';

/** W3C WebTransport: a hashed certificate must be valid for no more than two weeks. */
export const MAX_HASHED_VALIDITY_MS = 14 * 24 * 3600_000;

export interface GeneratedCertificate extends WebTransportCertificate {
  /** SHA-256 of the certificate's DER, lower-case hex: what `serverCertificateHashes` pins. */
  sha256: string;
  notBefore: Date;
  notAfter: Date;
}

export interface GenerateCertificateOptions {
  /** DNS names and IP addresses the certificate is for (subjectAltName). */
  hosts: string[];
  /** Validity, ms; at most 14 days. Default 10 days. */
  validityMs?: number;
  /** The certificate's start is this minus a little (clock skew: 1 min, or a tenth of a short validity). Default now. */
  now?: Date;
}

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** SHA-256 of a PEM certificate's DER, hex. */
export function certificateSha256(certPem: string): string {
  return createHash('sha256').update(new NodeX509(certPem).raw).digest('hex');
}

function pem(label: string, der: ArrayBuffer): string {
  const base64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${base64}${base64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}

export async function generateCertificate(options: GenerateCertificateOptions): Promise<GeneratedCertificate> {
  const validityMs = options.validityMs ?? 10 * 24 * 3600_000;
  if (validityMs <= 0 || validityMs > MAX_HASHED_VALIDITY_MS) throw new RangeError(`certificate validity must be within 14 days, got ${validityMs} ms`);
  if (options.hosts.length === 0) throw new RangeError('a certificate needs at least one host');
  const notBefore = new Date((options.now ?? new Date()).getTime() - Math.min(60_000, validityMs / 10));
  const notAfter = new Date(notBefore.getTime() + validityMs);
  const keys = (await webcrypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
  const names = options.hosts.map((host) => (isIP(host) ? { type: 'ip' as const, value: host } : { type: 'dns' as const, value: host }));
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1'),
      name: `CN=${options.hosts[0]!.replace(/[,=+<>#;"\\]/g, '_')}`,
      notBefore,
      notAfter,
      signingAlgorithm: ECDSA_P256,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(names),
      ],
    },
    webcrypto as unknown as Crypto,
  );
  const certPem = certificate.toString('pem') + '\n';
  const keyPem = pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { certPem, keyPem, sha256: certificateSha256(certPem), notBefore, notAfter };
}

/** A configured PEM pair, as read from files: clear errors name the file and what is wrong. */
export class CertificateFileError extends Error {
  override readonly name = 'CertificateFileError';
}

/**
 * Reads and checks a PEM certificate (chain) and its private key (ONAIR_TLS_CERT /
 * ONAIR_TLS_KEY): both parse, the key belongs to the first certificate, and that certificate
 * is valid now. Throws CertificateFileError with the reason.
 */
export async function loadCertificateFiles(certPath: string, keyPath: string, now = new Date()): Promise<WebTransportCertificate & { sha256: string; notAfter: Date }> {
  const read = async (path: string, what: string) => {
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      throw new CertificateFileError(`cannot read the TLS ${what} ${path}: ${(error as Error).message}`);
    }
  };
  const [certPem, keyPem] = await Promise.all([read(certPath, 'certificate'), read(keyPath, 'key')]);
  return checkCertificatePair({ certPem, keyPem }, { certPath, keyPath, now });
}

export function checkCertificatePair(pair: WebTransportCertificate, where: { certPath?: string; keyPath?: string; now?: Date } = {}): WebTransportCertificate & { sha256: string; notAfter: Date } {
  const certName = where.certPath ?? 'certificate';
  const keyName = where.keyPath ?? 'key';
  if (!pair.certPem.includes('-----BEGIN CERTIFICATE-----')) throw new CertificateFileError(`${certName} is not a PEM certificate (no BEGIN CERTIFICATE block)`);
  let certificate: NodeX509;
  try {
    certificate = new NodeX509(pair.certPem);
  } catch (error) {
    throw new CertificateFileError(`${certName} does not parse as an X.509 certificate: ${(error as Error).message}`);
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(pair.keyPem);
  } catch (error) {
    throw new CertificateFileError(`${keyName} does not parse as a PEM private key: ${(error as Error).message}`);
  }
  if (!certificate.checkPrivateKey(key)) throw new CertificateFileError(`${keyName} is not the private key of ${certName}`);
  const now = where.now ?? new Date();
  const notBefore = new Date(certificate.validFrom);
  const notAfter = new Date(certificate.validTo);
  if (now < notBefore) throw new CertificateFileError(`${certName} is not valid before ${notBefore.toISOString()}`);
  if (now > notAfter) throw new CertificateFileError(`${certName} expired on ${notAfter.toISOString()}`);
  return { certPem: pair.certPem, keyPem: pair.keyPem, sha256: certificateSha256(pair.certPem), notAfter };
}
