/**
 * Requests the server must refuse — unknown path, a refusing `authorize`, GET, malformed or
 * oversized HEADERS, broken QPACK, frames out of place — each answered as RFC 9114 says,
 * while a good session on another connection keeps echoing.
 */
import { H3 } from '@onair/webtransport/error-codes';
import { encodeFrame, FrameType } from '@onair/webtransport/frame';
import { encodeFieldSection, type Field } from '@onair/webtransport/qpack/field-section';
import { encodeWebTransportUniHeader } from '@onair/webtransport/stream-header';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../../../test/support/poll';
import { QuicheClientConnection, WebTransportConnectError, writeUntilStopped, type ClientWebTransport } from './quiche-client';
import { nextIncoming, readAll, startTestServer, text, untext, writeAll, type TestServer } from './testing/harness';
import type { ConnectDecision, WebTransportConnectRequest } from './transport';

let t: TestServer;
let good: ClientWebTransport;
const authorizeCalls: WebTransportConnectRequest[] = [];
/** Lets a test hold `authorize` open and decide it later. */
let holdDecision: ((decision: ConnectDecision) => void) | undefined;

beforeAll(async () => {
  t = await startTestServer({
    paths: ['/moq'],
    limits: { maxHeaderBytes: 4096, maxSessionsPerIp: 50 },
    authorize: (request) => {
      authorizeCalls.push(request);
      if (request.path.includes('key=wrong')) return { status: 403 };
      if (request.path.includes('hold')) return new Promise<ConnectDecision>((resolve) => (holdDecision = resolve));
      if (!request.path.includes('key=')) return { status: 401 };
      return { status: 200 };
    },
  });
  good = await t.connect('/moq?key=ok');
  const session = await t.sessions.next();
  void (async () => {
    for (;;) {
      const stream: WebTransportBidirectionalStream = await nextIncoming(session.incomingBidirectionalStreams, 60_000);
      void stream.readable.pipeTo(stream.writable).catch(() => {});
    }
  })().catch(() => {});
});

afterAll(async () => {
  good?.close();
  await t?.server.close();
});

/** The good session still answers. */
afterEach(async () => {
  const stream = await good.createBidirectionalStream();
  await writeAll(stream.writable, text('still here'));
  expect(untext(await readAll(stream.readable))).toBe('still here');
});

const connectFields = (path: string, extra: Field[] = []): Field[] => [
  [':method', 'CONNECT'],
  [':protocol', 'webtransport'],
  [':scheme', 'https'],
  [':authority', `127.0.0.1:${t.port}`],
  [':path', path],
  ...extra,
];

async function rawConnection(): Promise<QuicheClientConnection> {
  return QuicheClientConnection.connect('127.0.0.1', t.port, { serverCertificateHashes: [t.certificate.sha256] });
}

async function statusOf(promise: Promise<unknown>): Promise<number | undefined> {
  const error = await promise.then(() => undefined, (reason: unknown) => reason);
  expect(error).toBeInstanceOf(WebTransportConnectError);
  return (error as WebTransportConnectError).status;
}

describe('refused CONNECTs and bad requests', () => {
  it('unknown path → 404, without asking authorize', async () => {
    const calls = authorizeCalls.length;
    expect(await statusOf(t.connect('/nope?key=ok'))).toBe(404);
    expect(authorizeCalls.length).toBe(calls);
    expect(t.server.getStats().refused['404']).toBeGreaterThanOrEqual(1);
  });

  it('authorize decides: 401 without a key, 403 with a wrong one', async () => {
    expect(await statusOf(t.connect('/moq'))).toBe(401);
    expect(await statusOf(t.connect('/moq?key=wrong'))).toBe(403);
    expect(authorizeCalls.at(-1)).toMatchObject({ path: '/moq?key=wrong', remote: { address: '127.0.0.1' } });
  });

  it('a stream sent before the answer is not read while authorize runs, and is refused with the session', async () => {
    const connection = await rawConnection();
    const sessionsBefore = t.server.getStats().sessions;
    const request = connection.request(connectFields('/moq?key=ok&hold'));
    // The client does not wait for the response: a WebTransport stream naming the CONNECT right away.
    const early = connection.rawStream(false, new Uint8Array([...encodeWebTransportUniHeader(request.streamId), ...text('secret')]));
    const decide = await pollUntil('authorize to be asked', () => holdDecision);
    holdDecision = undefined;
    expect(t.server.getStats().sessions).toBe(sessionsBefore);
    expect(t.server.getStats().streams).toBe(0);
    decide({ status: 403 });
    expect((await request.response).status).toBe(403);
    // The parked stream goes with the refused session (draft §4.5), and no session ever appeared.
    expect(await early.writeUntilStopped(new Uint8Array(4096))).toBe(H3.WEBTRANSPORT_BUFFERED_STREAM_REJECTED);
    expect(t.sessions.size).toBe(0);
    connection.close();
  });

  it('GET → 405 with the stream closed', async () => {
    const connection = await rawConnection();
    const request = connection.request([
      [':method', 'GET'],
      [':scheme', 'https'],
      [':authority', `127.0.0.1:${t.port}`],
      [':path', '/moq'],
    ]);
    const response = await request.response;
    expect(response.status).toBe(405);
    expect(response.fields).toContainEqual(['allow', 'CONNECT']);
    expect((await request.ended).fin).toBe(true);
    connection.close();
  });

  it('CONNECT for another protocol → 400', async () => {
    const connection = await rawConnection();
    const fields = connectFields('/moq?key=ok').map(([name, value]): Field => (name === ':protocol' ? [name, 'websocket'] : [name, value]));
    expect((await connection.request(fields).response).status).toBe(400);
    connection.close();
  });

  it('malformed HEADERS (upper-case name) → 400 and H3_MESSAGE_ERROR on the stream', async () => {
    const connection = await rawConnection();
    const request = connection.request(connectFields('/moq?key=ok', [['Origin', 'x']]));
    // Keep sending: quiche keeps a STOP_SENDING code only while data is in flight.
    const stopped = writeUntilStopped(connection.quic, request.streamId, encodeFrame(FrameType.DATA, new Uint8Array(4096)));
    expect((await request.response).status).toBe(400);
    expect(await stopped).toBe(H3.MESSAGE_ERROR);
    connection.close();
  });

  it('a header block over the limit → 431, before it is even read', async () => {
    const connection = await rawConnection();
    const huge = connection.request(connectFields('/moq?key=ok', [['x-big', 'v'.repeat(20_000)]]));
    expect((await huge.response).status).toBe(431);
    // Small on the wire, too large once Huffman-decoded and with the per-field overhead.
    const many = connection.request(connectFields('/moq?key=ok', Array.from({ length: 150 }, (_, i): Field => [`x-${i}`, 'a'])));
    expect((await many.response).status).toBe(431);
    expect(t.server.getStats().limitClosures.headerBytes).toBeGreaterThanOrEqual(2);
    connection.close();
  });

  it('a QPACK dynamic-table reference closes that connection with QPACK_DECOMPRESSION_FAILED', async () => {
    const connection = await rawConnection();
    // Required Insert Count 1: needs a dynamic table we said we do not have (RFC 9204 §2.2.3).
    connection.rawRequest(encodeFrame(FrameType.HEADERS, Uint8Array.of(0x02, 0x00, 0x80)));
    const closed = await connection.closed;
    expect(closed.peer).toMatchObject({ isApp: true, errorCode: H3.QPACK_DECOMPRESSION_FAILED });
  });

  it('DATA before HEADERS closes that connection with H3_FRAME_UNEXPECTED', async () => {
    const connection = await rawConnection();
    connection.rawRequest(encodeFrame(FrameType.DATA, text('body first')));
    expect((await connection.closed).peer).toMatchObject({ errorCode: H3.FRAME_UNEXPECTED });
  });

  it('garbage on a request stream and an unknown uni stream type never take the server down', async () => {
    const connection = await rawConnection();
    // A greased stream type is discarded (RFC 9114 §6.2): all of it is taken, nothing breaks.
    const unknown = connection.rawStream(false, Uint8Array.of(0x21, 1, 2, 3));
    for (let i = 0; i < 64; i++) await unknown.write(new Uint8Array(16 * 1024));
    await unknown.write(new Uint8Array(0), true);
    connection.rawRequest(Uint8Array.of(0x01, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff), { fin: true });
    const closed = await connection.closed;
    expect(closed.peer?.isApp).toBe(true);
  });

  it('a request that ends before its HEADERS are complete is reset with H3_REQUEST_INCOMPLETE', async () => {
    const connection = await rawConnection();
    const block = encodeFieldSection(connectFields('/moq?key=ok'));
    const frame = encodeFrame(FrameType.HEADERS, block);
    const request = connection.rawRequest(frame.subarray(0, frame.length - 3), { fin: true });
    expect((await request.ended).resetCode).toBe(H3.REQUEST_INCOMPLETE);
    connection.close();
  });
});
