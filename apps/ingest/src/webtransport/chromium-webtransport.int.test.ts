/**
 * Headless Chromium's own `new WebTransport(url, { serverCertificateHashes })` against the
 * server: a page served from http://127.0.0.1 (a secure context) negotiates a protocol, echoes
 * over bidirectional streams both ways, sends and receives unidirectional streams and datagrams,
 * closes with a code and a reason, and sees a refused CONNECT fail. Also measures the server's
 * CPU per MiB received (the browser is another process, so the figure is the server's).
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../../../../test/support/browser';
import { nextIncoming, readAll, startTestServer, text, writeAll, type TestServer } from './testing/harness';
import type { WebTransportSession } from './transport';

let t: TestServer;
let web: Server;
let browser: TestBrowser;
let page: Page;
const closes: Array<Promise<WebTransportCloseInfo>> = [];
const uploads: Array<{ bytes: number; sha256: string; cpuMs: number; ms: number }> = [];

/** What the server does with every session of this test. */
async function serve(session: WebTransportSession): Promise<void> {
  closes.push(session.closed);
  // Echo client-opened bidirectional streams.
  void (async () => {
    const reader = session.incomingBidirectionalStreams.getReader();
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      const stream = next.value as WebTransportBidirectionalStream;
      void stream.readable.pipeTo(stream.writable).catch(() => {});
    }
  })().catch(() => {});
  // Echo datagrams.
  void (async () => {
    const writer = session.datagrams.writable.getWriter();
    for await (const datagram of session.datagrams.readable as unknown as AsyncIterable<Uint8Array>) await writer.write(datagram);
  })().catch(() => {});
  // Take the page's unidirectional upload, measure it, and answer its digest on a stream of ours.
  void (async () => {
    const upload = await nextIncoming(session.incomingUnidirectionalStreams, 60_000);
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const bytes = await readAll(upload);
    const cpu = process.cpuUsage(cpuBefore);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    uploads.push({ bytes: bytes.length, sha256, cpuMs: (cpu.user + cpu.system) / 1000, ms: performance.now() - started });
    await writeAll(await session.createUnidirectionalStream(), text(sha256));
    // And a bidirectional stream of ours, which the page echoes.
    const ours = await session.createBidirectionalStream();
    await writeAll(ours.writable, text('from the server'));
    const echoed = new TextDecoder().decode(await readAll(ours.readable));
    await writeAll(await session.createUnidirectionalStream(), text(`echoed: ${echoed}`));
  })().catch(() => {});
}

beforeAll(async () => {
  t = await startTestServer({
    keepSessions: false,
    paths: ['/moq'],
    authorize: (request) => (request.path.includes('deny') ? { status: 403 } : { status: 200, protocol: request.offeredProtocols.find((p) => p.startsWith('moq-lite')) }),
  });
  t.server.on('session', (session) => void serve(session));
  web = createServer((_, response) => response.end('<!doctype html><title>onair WebTransport test</title>'));
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  browser = await launchBrowser();
  page = await browser.context.newPage();
  await page.goto(`http://127.0.0.1:${(web.address() as { port: number }).port}/`);
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => web?.close(resolve));
  await t?.server.close();
});

describe('Chromium native WebTransport ↔ the server', () => {
  it('negotiates, echoes, streams both ways, datagrams, closes with a code', async () => {
    const upload = 8 * 1024 * 1024;
    const result = await page.evaluate(
      async ({ port, hash, upload }) => {
        const hex = (buffer: ArrayBuffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('');
        const readAllIn = async (readable: ReadableStream<Uint8Array>) => {
          const chunks: Uint8Array[] = [];
          for await (const chunk of readable as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk);
          const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
          let offset = 0;
          for (const chunk of chunks) {
            out.set(chunk, offset);
            offset += chunk.byteLength;
          }
          return out;
        };
        const value = new Uint8Array(hash.match(/../g)!.map((h: string) => parseInt(h, 16)));
        const started = performance.now();
        const wt = new WebTransport(`https://127.0.0.1:${port}/moq?key=abc`, { serverCertificateHashes: [{ algorithm: 'sha-256', value }], protocols: ['moq-lite-04', 'moql'] } as WebTransportOptions);
        await wt.ready;
        const readyMs = performance.now() - started;
        const protocol = (wt as unknown as { protocol: string }).protocol;

        // Bidirectional echo of 1 MiB.
        const payload = crypto.getRandomValues(new Uint8Array(1024 * 1024 / 16)).slice();
        const big = new Uint8Array(1024 * 1024);
        for (let i = 0; i < 16; i++) big.set(payload, i * payload.length);
        const bidi = await wt.createBidirectionalStream();
        const writer = bidi.writable.getWriter();
        const echoed = readAllIn(bidi.readable);
        for (let offset = 0; offset < big.length; offset += 64 * 1024) await writer.write(big.subarray(offset, offset + 64 * 1024));
        await writer.close();
        const echo = await echoed;
        const echoIntact = hex(await crypto.subtle.digest('SHA-256', echo)) === hex(await crypto.subtle.digest('SHA-256', big));

        // Unidirectional upload; the server answers its digest on a stream of its own.
        const incoming = wt.incomingUnidirectionalStreams.getReader();
        const upStream = await wt.createUnidirectionalStream();
        const upWriter = upStream.getWriter();
        const block = new Uint8Array(64 * 1024).map((_, i) => i & 0xff);
        for (let offset = 0; offset < upload; offset += block.length) await upWriter.write(block);
        await upWriter.close();
        const digestStream = await incoming.read();
        const serverDigest = new TextDecoder().decode(await readAllIn(digestStream.value!));
        const whole = new Uint8Array(upload);
        for (let offset = 0; offset < upload; offset += block.length) whole.set(block, offset);
        const uploadDigest = hex(await crypto.subtle.digest('SHA-256', whole));

        // A bidirectional stream the server opens: echo it.
        const serverBidi = await wt.incomingBidirectionalStreams.getReader().read();
        await serverBidi.value!.readable.pipeTo(serverBidi.value!.writable);
        const echoReport = new TextDecoder().decode(await readAllIn((await incoming.read()).value!));

        // Datagrams: 20 out, echoes back.
        const datagramWriter = wt.datagrams.writable.getWriter();
        const datagramReader = wt.datagrams.readable.getReader();
        let datagramsBack = 0;
        const counting = (async () => {
          for (;;) {
            const next = await datagramReader.read();
            if (next.done) return;
            if (new TextDecoder().decode(next.value).startsWith('dg')) datagramsBack++;
          }
        })();
        for (let i = 0; i < 20 && datagramsBack < 20; i++) {
          await datagramWriter.write(new TextEncoder().encode(`dg${i}`));
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await Promise.race([counting, new Promise((resolve) => setTimeout(resolve, 500))]);

        wt.close({ closeCode: 7, reason: 'bye from the page' });
        await wt.closed;

        // A CONNECT the server refuses.
        const denied = new WebTransport(`https://127.0.0.1:${port}/moq?deny=1`, { serverCertificateHashes: [{ algorithm: 'sha-256', value }] } as WebTransportOptions);
        denied.closed.catch(() => {});
        const deniedError = await denied.ready.then(
          () => 'ready',
          (error: unknown) => String(error),
        );
        return { readyMs, protocol, echoIntact, echoBytes: echo.length, serverDigest, uploadDigest, echoReport, datagramsBack, deniedError };
      },
      { port: t.port, hash: t.certificate.sha256, upload },
    );

    expect(result.protocol).toBe('moq-lite-04');
    expect(result.echoBytes).toBe(1024 * 1024);
    expect(result.echoIntact).toBe(true);
    expect(result.serverDigest).toBe(result.uploadDigest);
    expect(result.echoReport).toBe('echoed: from the server');
    expect(result.datagramsBack).toBeGreaterThan(0);
    expect(result.deniedError).toMatch(/WebTransportError/);
    expect(await closes[0]).toEqual({ closeCode: 7, reason: 'bye from the page' });
    expect(t.server.getStats().refused['403']).toBe(1);
    const measured = uploads[0]!;
    expect(measured.bytes).toBe(upload);
    const mib = measured.bytes / (1024 * 1024);
    console.log(
      `Chromium: ready in ${result.readyMs.toFixed(0)} ms; upload ${mib} MiB in ${measured.ms.toFixed(0)} ms (${(mib / (measured.ms / 1000)).toFixed(1)} MiB/s), ` +
        `server CPU ${measured.cpuMs.toFixed(0)} ms = ${(measured.cpuMs / mib).toFixed(1)} ms per MiB; datagrams echoed ${result.datagramsBack}/20`,
    );
  });
});
