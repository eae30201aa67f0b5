/**
 * Certificates on a live server: a rotation swaps the certificate for new handshakes while a
 * session made with the old one keeps working; configured PEM files are checked on load; a
 * client can verify the server with a CA instead of a pinned hash.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../../../test/support/poll';
import { CertificateRotator } from './certificate-rotator';
import { generateCertificate, loadCertificateFiles } from './certificates';
import { connectWebTransport, WebTransportConnectError } from './quiche-client';
import { readAll, startTestServer, text, untext, writeAll } from './testing/harness';
import { issueFromTestCa } from './testing/test-ca';
import type { WebTransportSession } from './transport';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'onair-wt-certs-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function echo(session: WebTransportSession): void {
  void (async () => {
    const reader = session.incomingBidirectionalStreams.getReader();
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      const stream = next.value as WebTransportBidirectionalStream;
      void stream.readable.pipeTo(stream.writable).catch(() => {});
    }
  })().catch(() => {});
}

async function roundTrip(client: Awaited<ReturnType<typeof connectWebTransport>>, message: string): Promise<string> {
  const stream = await client.createBidirectionalStream();
  await writeAll(stream.writable, text(message));
  return untext(await readAll(stream.readable));
}

describe('certificate rotation on a live server', () => {
  it('a session made before a rotation keeps working; new ones get the new certificate', async () => {
    const t = await startTestServer({ keepSessions: false, paths: ['/moq'] });
    t.server.on('session', echo);
    // Rotate every ~2 s (3 s validity, 2/3) so the timer itself is exercised.
    const rotator = new CertificateRotator({ hosts: ['127.0.0.1'], validityMs: 3000, install: (certificate) => t.server.setCertificate(certificate) });
    try {
      const first = await rotator.start();
      const url = t.url('/moq');
      const before = await connectWebTransport(url, { serverCertificateHashes: [first.sha256] });
      expect(await roundTrip(before, 'before')).toBe('before');

      // A page fetches the hashes once the next certificate is announced, and connects after the switch.
      const announced = await pollUntil('the next certificate announced', () => (rotator.next ? rotator.hashes() : undefined), { timeoutMs: 10_000 });
      expect(announced).toEqual([first.sha256, rotator.next!.sha256]);
      const second = await pollUntil('the automatic rotation', () => (rotator.current!.sha256 !== first.sha256 ? rotator.current : undefined), { timeoutMs: 10_000 });
      expect(second.sha256).toBe(announced[1]);
      const fetchedBefore = await connectWebTransport(url, { serverCertificateHashes: announced });
      expect(await roundTrip(fetchedBefore, 'fetched before the switch')).toBe('fetched before the switch');
      fetchedBefore.close();

      // The old session did not notice.
      expect(await roundTrip(before, 'still the old connection')).toBe('still the old connection');
      // New handshakes present the new certificate: the old hash alone no longer matches.
      const refused = await connectWebTransport(url, { serverCertificateHashes: [first.sha256] }).then(() => undefined, (error: unknown) => error);
      expect(refused).toBeInstanceOf(WebTransportConnectError);
      expect(String(refused)).toMatch(/not one of the pinned hashes/);
      const after = await connectWebTransport(url, { serverCertificateHashes: rotator.hashes() });
      expect(await roundTrip(after, 'after')).toBe('after');
      before.close();
      after.close();
    } finally {
      rotator.stop();
      await t.server.close();
    }
  });
});

describe('configured certificates', () => {
  it('loads a CA-issued PEM pair from files and serves with it; a client verifies it with the CA', async () => {
    const issued = await issueFromTestCa(['127.0.0.1', 'localhost']);
    await writeFile(join(dir, 'cert.pem'), issued.certPem);
    await writeFile(join(dir, 'key.pem'), issued.keyPem, { mode: 0o600 });
    const loaded = await loadCertificateFiles(join(dir, 'cert.pem'), join(dir, 'key.pem'));
    expect(loaded.certPem).toBe(issued.certPem);

    const t = await startTestServer({ keepSessions: false, paths: ['/moq'], certificate: loaded });
    t.server.on('session', echo);
    try {
      // BoringSSL checks the chain against the CA and the name against the SAN. quiche verifies
      // the name as a DNS name (an IP literal fails with bad_certificate), so connect by name.
      const verified = await connectWebTransport(t.url('/moq'), { ca: issued.caPem, serverName: 'localhost' });
      expect(await roundTrip(verified, 'verified')).toBe('verified');
      verified.close();
      // Another CA: the handshake fails (TLS unknown_ca).
      const other = await issueFromTestCa(['127.0.0.1']);
      const refused = await connectWebTransport(t.url('/moq'), { ca: other.caPem, serverName: 'localhost', timeoutMs: 3000 }).then(() => undefined, (error: unknown) => error);
      expect((refused as WebTransportConnectError).connectionError?.local?.errorCode).toBe(0x100 + 48);
    } finally {
      await t.server.close();
    }
  });

  it('says which file is wrong', async () => {
    const a = await generateCertificate({ hosts: ['localhost'] });
    const b = await generateCertificate({ hosts: ['localhost'] });
    await writeFile(join(dir, 'a.pem'), a.certPem);
    await writeFile(join(dir, 'b-key.pem'), b.keyPem);
    await expect(loadCertificateFiles(join(dir, 'a.pem'), join(dir, 'b-key.pem'))).rejects.toThrow(`${join(dir, 'b-key.pem')} is not the private key of ${join(dir, 'a.pem')}`);
    await expect(loadCertificateFiles(join(dir, 'missing.pem'), join(dir, 'b-key.pem'))).rejects.toThrow(`cannot read the TLS certificate ${join(dir, 'missing.pem')}`);
  });
});
