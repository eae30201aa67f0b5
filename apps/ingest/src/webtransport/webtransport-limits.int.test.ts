/**
 * Every limit of the server, hit on purpose by a Node client on 127.0.0.1: the offender is
 * refused or closed with a proper code, the refusal is counted, and memory stays bounded.
 */
import { createHash, randomBytes } from 'node:crypto';
import { H3 } from '@onair/webtransport/error-codes';
import { encodeFrame, FrameType } from '@onair/webtransport/frame';
import { encodeFieldSection } from '@onair/webtransport/qpack/field-section';
import { afterEach, describe, expect, it } from 'vitest';
import { pollUntil } from '../../../../test/support/poll';
import { WebTransportError } from './webtransport-error';
import { QuicheClientConnection, WebTransportConnectError, type ClientWebTransport } from './quiche-client';
import type { WebTransportLimits } from './server-options';
import { nextIncoming, readAll, startTestServer, text, type TestServer } from './testing/harness';

const servers: TestServer[] = [];
const clients: ClientWebTransport[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.connection.close();
  for (const server of servers.splice(0)) await server.server.close();
});

async function server(limits: Partial<WebTransportLimits>): Promise<TestServer> {
  const started = await startTestServer({ paths: ['/moq'], limits });
  servers.push(started);
  return started;
}

async function client(t: TestServer, path = '/moq'): Promise<ClientWebTransport> {
  const session = await t.connect(path);
  clients.push(session);
  return session;
}

async function refusedStatus(promise: Promise<unknown>): Promise<number | undefined> {
  const error = await promise.then(() => undefined, (reason: unknown) => reason);
  expect(error).toBeInstanceOf(WebTransportConnectError);
  return (error as WebTransportConnectError).status;
}

describe('session and connection limits', () => {
  it('sessions per IP: the third gets 429 until one ends', async () => {
    const t = await server({ maxSessionsPerIp: 2 });
    const first = await client(t);
    await client(t);
    expect(await refusedStatus(t.connect('/moq'))).toBe(429);
    expect(t.server.getStats().limitClosures.sessionsPerIp).toBe(1);
    expect(t.server.getStats().refused['429']).toBe(1);
    first.close();
    await pollUntil('the first session to end at the server', () => t.server.getStats().sessions === 1 || undefined);
    await client(t);
  });

  it('sessions in total: 503 past the cap', async () => {
    const t = await server({ maxSessions: 1 });
    await client(t);
    expect(await refusedStatus(t.connect('/moq'))).toBe(503);
    expect(t.server.getStats().limitClosures.sessions).toBe(1);
  });

  it('sessions per connection: a second CONNECT on the same connection gets 429', async () => {
    const t = await server({ maxSessionsPerConnection: 1 });
    const connection = await QuicheClientConnection.connect('127.0.0.1', t.port, { serverCertificateHashes: [t.certificate.sha256] });
    await connection.webTransport('/moq');
    expect(await refusedStatus(connection.webTransport('/moq'))).toBe(429);
    expect(t.server.getStats().limitClosures.sessionsPerConnection).toBe(1);
    connection.close();
  });

  it('connections per IP: Initial packets past the cap are dropped, the handshake never completes', async () => {
    const t = await server({ maxConnectionsPerIp: 1 });
    const first = await QuicheClientConnection.connect('127.0.0.1', t.port, { serverCertificateHashes: [t.certificate.sha256] });
    await expect(QuicheClientConnection.connect('127.0.0.1', t.port, { serverCertificateHashes: [t.certificate.sha256], timeoutMs: 700 })).rejects.toThrow(/timed out/);
    expect(t.server.getStats().limitClosures.connectionsPerIp).toBeGreaterThanOrEqual(1);
    first.close();
  });

  it('a connection that opens no session is closed after the bound', async () => {
    const t = await server({ sessionlessTimeoutMs: 300 });
    const connection = await QuicheClientConnection.connect('127.0.0.1', t.port, { serverCertificateHashes: [t.certificate.sha256] });
    const started = performance.now();
    const closed = await connection.closed;
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(closed.peer).toMatchObject({ isApp: true, errorCode: H3.NO_ERROR });
    expect(t.server.getStats().limitClosures.sessionlessConnection).toBe(1);
    // quiche keeps a closed connection for its draining period (RFC 9000 §10.2), then it is gone.
    await pollUntil('the server to forget the connection', () => t.server.getStats().connections === 0 || undefined);
  });

  it('a request whose HEADERS never complete gets 408 after the request timeout', async () => {
    const t = await server({ requestTimeoutMs: 300 });
    const connection = await QuicheClientConnection.connect('127.0.0.1', t.port, { serverCertificateHashes: [t.certificate.sha256] });
    const frame = encodeFrame(FrameType.HEADERS, encodeFieldSection([[':method', 'CONNECT'], [':path', '/moq']]));
    const request = connection.rawRequest(frame.subarray(0, frame.length - 2));
    expect((await request.response).status).toBe(408);
    expect(t.server.getStats().limitClosures.requestTimeout).toBe(1);
    connection.close();
  });

  it('a stream whose header never completes is dropped after the request timeout', async () => {
    const t = await server({ requestTimeoutMs: 300 });
    const connection = await QuicheClientConnection.connect('127.0.0.1', t.port, { serverCertificateHashes: [t.certificate.sha256] });
    connection.rawStream(false, Uint8Array.of(0x40)); // the first byte of a two-byte stream type, then nothing
    await pollUntil('the header timeout', () => t.server.getStats().limitClosures.streamHeaderTimeout === 1 || undefined, { timeoutMs: 3000 });
    connection.close();
  });
});

describe('stream limits', () => {
  it('concurrent uni streams are capped at the limit: the next waits for one to end', async () => {
    const t = await server({ maxIncomingUniStreams: 4 });
    const wt = await client(t);
    const session = await t.sessions.next();
    const writers: WritableStreamDefaultWriter<Uint8Array>[] = [];
    for (let i = 0; i < 4; i++) {
      const writer = (await wt.createUnidirectionalStream()).getWriter();
      await writer.write(text(`open ${i}`));
      writers.push(writer);
    }
    for (let i = 0; i < 4; i++) await nextIncoming(session.incomingUnidirectionalStreams);
    let fifthOpened = false;
    const fifth = wt.createUnidirectionalStream().then((stream) => {
      fifthOpened = true;
      return stream;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(fifthOpened).toBe(false);
    await writers[0]!.close();
    await fifth;
  });

  it('cancelled uni streams give their credit back (quiche 0.18 would not after STOP_SENDING)', async () => {
    const t = await server({ maxIncomingUniStreams: 3 });
    const wt = await client(t);
    const session = await t.sessions.next();
    for (let i = 0; i < 12; i++) {
      const writer = (await wt.createUnidirectionalStream()).getWriter();
      await writer.write(text(`group ${i}`));
      const incoming = await nextIncoming(session.incomingUnidirectionalStreams);
      const reader = incoming.getReader();
      await reader.read();
      await reader.cancel(new WebTransportError('skip', { streamErrorCode: 1 }));
      // The peer goes on and finishes its stream; the server drops the rest.
      await writer.write(new Uint8Array(32 * 1024));
      await writer.close();
    }
    await pollUntil('every stream gone at the server', () => t.server.getStats().streams === 0 || undefined);
  });

  it('abandoned streams fail for the application after the idle bound; too many of them close the session', async () => {
    const t = await server({ maxIncomingUniStreams: 8, streamIdleTimeoutMs: 300 });
    const wt = await client(t);
    const session = await t.sessions.next();
    const abandon = async (count: number) => {
      const readers: Array<Promise<string | undefined>> = [];
      for (let i = 0; i < count; i++) {
        await (await wt.createUnidirectionalStream()).getWriter().write(text('then nothing'));
        const incoming = await nextIncoming(session.incomingUnidirectionalStreams);
        readers.push(readAll(incoming).then(() => undefined, (error: Error) => error.message));
      }
      return Promise.all(readers);
    };
    const started = performance.now();
    expect(await abandon(2)).toEqual(['no data for 300 ms', 'no data for 300 ms']);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(t.server.getStats().limitClosures.streamIdle).toBe(2);
    // Still a working session: a finished stream goes through.
    const ok = await wt.createUnidirectionalStream();
    await ok.getWriter().close();
    // Two more abandoned: half of the session's stream credit is held by abandoned streams.
    await abandon(2);
    expect(await wt.closed).toEqual({ closeCode: 0, reason: 'too many abandoned streams' });
    expect(t.server.getStats().limitClosures.abandonedStreams).toBe(1);
  });

  it('streams over the session limit are refused even when QUIC credit would allow them', async () => {
    // Two sessions share a connection's QUIC credit (4 × 2), but each session may hold 4.
    const t = await server({ maxIncomingUniStreams: 4, maxSessionsPerConnection: 2, streamIdleTimeoutMs: 0 });
    const connection = await QuicheClientConnection.connect('127.0.0.1', t.port, { serverCertificateHashes: [t.certificate.sha256] });
    const wt = await connection.webTransport('/moq');
    await connection.webTransport('/moq');
    const session = await t.sessions.next();
    for (let i = 0; i < 5; i++) await (await wt.createUnidirectionalStream()).getWriter().write(text('x'));
    for (let i = 0; i < 4; i++) await nextIncoming(session.incomingUnidirectionalStreams);
    await pollUntil('the fifth stream refused', () => t.server.getStats().limitClosures.incomingUniStreams === 1 || undefined);
    expect(t.server.getStats().streams).toBe(4);
    connection.close();
  });
});

describe('receive backpressure: memory stays bounded when the application does not read', () => {
  const MiB = 1024 * 1024;

  async function writeUntilStalled(writable: WritableStream<Uint8Array>, total: number): Promise<{ accepted: number; writer: WritableStreamDefaultWriter<Uint8Array> }> {
    const writer = writable.getWriter();
    const chunk = randomBytes(64 * 1024);
    let accepted = 0;
    while (accepted < total) {
      const stalled = await Promise.race([writer.write(chunk).then(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 300))]);
      if (stalled) break;
      accepted += chunk.length;
    }
    return { accepted, writer };
  }

  it('one stream: the client stalls at about the stream window; reading resumes it and nothing is lost', async () => {
    const t = await server({ streamReceiveWindow: 1 * MiB, sessionReceiveWindow: 8 * MiB, receiveHighWaterMark: 64 * 1024 });
    const wt = await client(t);
    const session = await t.sessions.next();
    const stream = await wt.createUnidirectionalStream();
    const { accepted, writer } = await writeUntilStalled(stream, 50 * MiB);
    const stats = t.server.getStats();
    console.log(`stalled after ${(accepted / MiB).toFixed(2)} MiB accepted by the client; server JS queue ${stats.bufferedBytes} bytes`);
    // Stream window + what the server's JS queue took + one chunk in flight.
    expect(accepted).toBeLessThanOrEqual(1 * MiB + 64 * 1024 + 128 * 1024);
    expect(accepted).toBeGreaterThanOrEqual(512 * 1024);
    expect(stats.bufferedBytes).toBeLessThanOrEqual(64 * 1024 + 64 * 1024);
    // Now the application reads: everything written arrives, intact.
    const incoming = await nextIncoming(session.incomingUnidirectionalStreams);
    const hash = createHash('sha256');
    const reading = (async () => {
      let bytes = 0;
      for await (const chunk of incoming as unknown as AsyncIterable<Uint8Array>) {
        hash.update(chunk);
        bytes += chunk.byteLength;
      }
      return bytes;
    })();
    const tail = randomBytes(3 * MiB);
    await writer.write(tail);
    await writer.close();
    expect(await reading).toBeGreaterThan(accepted + tail.length - 1);
  });

  it('many streams: the session window caps the total', async () => {
    const t = await server({ streamReceiveWindow: 1 * MiB, sessionReceiveWindow: 2 * MiB, receiveHighWaterMark: 16 * 1024 });
    const wt = await client(t);
    let total = 0;
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await writeUntilStalled(await wt.createUnidirectionalStream(), 4 * MiB));
    for (const { accepted } of results) total += accepted;
    console.log(`6 streams stalled after ${(total / MiB).toFixed(2)} MiB in total (session window 2 MiB)`);
    expect(total).toBeLessThanOrEqual(2 * MiB + 6 * (16 * 1024 + 64 * 1024));
    expect(t.server.getStats().bufferedBytes).toBeLessThanOrEqual(6 * 32 * 1024);
  });
});
