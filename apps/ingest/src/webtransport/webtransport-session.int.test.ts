/**
 * A Node WebTransport client (quiche) against the server on 127.0.0.1: sessions, negotiation,
 * streams both ways, datagrams, stream error codes and session close, through the W3C shape the
 * MoQ ingest uses.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../../../test/support/poll';
import type { ClientWebTransport } from './quiche-client';
import { nextIncoming, readAll, startTestServer, text, untext, writeAll, type TestServer } from './testing/harness';
import type { WebTransportSession } from './transport';
import { WebTransportError } from './webtransport-error';

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({
    paths: ['/moq', '/echo/'],
    authorize: (request) => ({ status: 200, protocol: request.offeredProtocols.find((p) => p.startsWith('moq-lite')) }),
  });
});

afterAll(async () => {
  await t?.server.close();
});

async function open(path = '/moq', options: Parameters<TestServer['connect']>[1] = {}): Promise<{ client: ClientWebTransport; server: WebTransportSession }> {
  const client = await t.connect(path, options);
  const server = await t.sessions.next(5000, 'server session');
  return { client, server };
}

describe('WebTransport sessions (Node client ↔ server)', () => {
  it('establishes a session and negotiates the protocol (wt-available-protocols → wt-protocol)', async () => {
    const started = performance.now();
    const { client, server } = await open('/moq?key=abc', { protocols: ['moqt-15', 'moq-lite-04', 'moq-lite-03'], headers: { origin: 'http://127.0.0.1:3000' } });
    const readyMs = performance.now() - started;
    expect(client.protocol).toBe('moq-lite-04');
    expect(server.protocol).toBe('moq-lite-04');
    expect(server.request).toMatchObject({ path: '/moq?key=abc', origin: 'http://127.0.0.1:3000', offeredProtocols: ['moqt-15', 'moq-lite-04', 'moq-lite-03'] });
    expect(server.request.remote.address).toBe('127.0.0.1');
    expect(client.response.fields).toContainEqual(['sec-webtransport-http3-draft', 'draft02']);
    console.log(`session ready in ${readyMs.toFixed(1)} ms`);
    client.close();

    const plain = await open('/echo/x', { protocols: [] });
    expect(plain.client.protocol).toBe('');
    expect(plain.server.protocol).toBe('');
    plain.client.close();
  });

  it('client uni → server, server uni → client', async () => {
    const { client, server } = await open();
    const sent = await client.createUnidirectionalStream();
    await writeAll(sent, text('from the client'));
    expect(untext(await readAll(await nextIncoming(server.incomingUnidirectionalStreams)))).toBe('from the client');

    const back = await server.createUnidirectionalStream();
    await writeAll(back, text('from the server'));
    expect(untext(await readAll(await nextIncoming(client.incomingUnidirectionalStreams)))).toBe('from the server');
    client.close();
  });

  it('bidi echo, opened by either side', async () => {
    const { client, server } = await open();
    // Server echoes client-opened streams.
    void nextIncoming(server.incomingBidirectionalStreams).then((stream: WebTransportBidirectionalStream) => stream.readable.pipeTo(stream.writable));
    const fromClient = await client.createBidirectionalStream();
    await writeAll(fromClient.writable, text('ping'));
    expect(untext(await readAll(fromClient.readable))).toBe('ping');

    // Client echoes server-opened streams.
    void nextIncoming(client.incomingBidirectionalStreams).then((stream: WebTransportBidirectionalStream) => stream.readable.pipeTo(stream.writable));
    const fromServer = await server.createBidirectionalStream();
    await writeAll(fromServer.writable, text('pong'));
    expect(untext(await readAll(fromServer.readable))).toBe('pong');
    client.close();
  });

  it('echoes 1–3 MiB twelve times in a row, every FIN arriving (a quiche 0.18 race lost one in four)', async () => {
    const { client, server } = await open();
    void (async () => {
      const reader = server.incomingBidirectionalStreams.getReader();
      for (let next = await reader.read(); !next.done; next = await reader.read()) {
        const stream = next.value as WebTransportBidirectionalStream;
        void stream.readable.pipeTo(stream.writable).catch(() => {});
      }
    })().catch(() => {});
    for (let i = 0; i < 12; i++) {
      const payload = randomBytes((1 + (i % 3)) * 1024 * 1024);
      const stream = await client.createBidirectionalStream();
      const [echoed] = await Promise.all([readAll(stream.readable), writeAll(stream.writable, payload)]);
      expect(echoed.length).toBe(payload.length);
    }
    client.close();
  });

  it('moves 5 MB intact over one stream, and measures it', async () => {
    const { client, server } = await open();
    const payload = randomBytes(5 * 1024 * 1024);
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const [received] = await Promise.all([
      nextIncoming(server.incomingUnidirectionalStreams).then(readAll),
      client.createUnidirectionalStream().then((stream) => writeAll(stream, payload, 16 * 1024)),
    ]);
    const ms = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    expect(received.length).toBe(payload.length);
    expect(createHash('sha256').update(received).digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'));
    // Client and server share this process: the CPU figure is both ends together.
    console.log(`5 MiB in ${ms.toFixed(0)} ms (${(5 / (ms / 1000)).toFixed(1)} MiB/s), client+server CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms`);
    client.close();
  });

  it('datagrams both ways', async () => {
    const { client, server } = await open();
    expect(client.datagrams.maxDatagramSize).toBeGreaterThan(1000);
    expect(server.datagrams.maxDatagramSize).toBeGreaterThan(1000);
    const serverReader = server.datagrams.readable.getReader();
    const clientReader = client.datagrams.readable.getReader();
    const clientWriter = client.datagrams.writable.getWriter();
    const serverWriter = server.datagrams.writable.getWriter();
    // Unreliable by definition, but loopback does not lose: send until one arrives each way.
    const received = await pollUntil('a datagram at the server', async () => {
      await clientWriter.write(text('dg-up'));
      const result = await Promise.race([serverReader.read(), new Promise<undefined>((resolve) => setTimeout(resolve, 100))]);
      return result && !result.done ? untext(result.value) : undefined;
    });
    expect(received).toBe('dg-up');
    const answer = await pollUntil('a datagram at the client', async () => {
      await serverWriter.write(text('dg-down'));
      const result = await Promise.race([clientReader.read(), new Promise<undefined>((resolve) => setTimeout(resolve, 100))]);
      return result && !result.done ? untext(result.value) : undefined;
    });
    expect(answer).toBe('dg-down');
    // Too big for a datagram: dropped, not an error (W3C).
    await clientWriter.write(new Uint8Array(client.datagrams.maxDatagramSize + 1));
    expect(client.datagrams.droppedOutgoing).toBe(1);
    client.close();
  });

  it('maps RESET_STREAM and STOP_SENDING application codes both ways', async () => {
    const { client, server } = await open();

    // Client aborts its send side with code 7 → the server's reader fails with streamErrorCode 7.
    const up = await client.createUnidirectionalStream();
    const upWriter = up.getWriter();
    await upWriter.write(text('partial'));
    const serverIn = await nextIncoming(server.incomingUnidirectionalStreams);
    await upWriter.abort(new WebTransportError('bye', { streamErrorCode: 7 }));
    const upError = await readAll(serverIn).then(() => undefined, (error: unknown) => error);
    expect(upError).toBeInstanceOf(WebTransportError);
    expect((upError as WebTransportError).streamErrorCode).toBe(7);

    // Server cancels its receive side with code 9 → the client's writer fails with streamErrorCode 9.
    const bidi = await client.createBidirectionalStream();
    const bidiWriter = bidi.writable.getWriter();
    await bidiWriter.write(text('hello'));
    const serverBidi: WebTransportBidirectionalStream = await nextIncoming(server.incomingBidirectionalStreams);
    await serverBidi.readable.cancel(new WebTransportError('stop', { streamErrorCode: 9 }));
    const stopError = await pollUntil('the STOP_SENDING at the client', async () => {
      try {
        await bidiWriter.write(text('more'));
        return undefined;
      } catch (error) {
        return error;
      }
    });
    expect((stopError as WebTransportError).streamErrorCode).toBe(9);

    // The server's send side of the same stream still works after the client stopped writing.
    await writeAll(serverBidi.writable, text('reply'));
    expect(untext(await readAll(bidi.readable))).toBe('reply');

    // Server resets its send side with 0xffffffff → the client reads that code.
    const down = await server.createUnidirectionalStream();
    const downWriter = down.getWriter();
    await downWriter.write(text('x'));
    const clientIn = await nextIncoming(client.incomingUnidirectionalStreams);
    await downWriter.abort(new WebTransportError('gone', { streamErrorCode: 0xffffffff }));
    const downError = await readAll(clientIn).then(() => undefined, (error: unknown) => error);
    expect((downError as WebTransportError).streamErrorCode).toBe(0xffffffff);

    // Client cancels a server-opened bidi stream's readable with code 3 → STOP_SENDING reaches the server's writer.
    const serverOpened = await server.createBidirectionalStream();
    const serverWriter = serverOpened.writable.getWriter();
    await serverWriter.write(text('y'));
    const clientSide: WebTransportBidirectionalStream = await nextIncoming(client.incomingBidirectionalStreams);
    await clientSide.readable.cancel(new WebTransportError('no', { streamErrorCode: 3 }));
    const stop2 = await pollUntil('the STOP_SENDING at the server', async () => {
      try {
        await serverWriter.write(new Uint8Array(1024));
        return undefined;
      } catch (error) {
        return error;
      }
    });
    expect((stop2 as WebTransportError).streamErrorCode).toBe(3);
    client.close();
  });

  it('session close code and reason travel both ways; streams of a closed session fail', async () => {
    const first = await open();
    const stream = await first.client.createUnidirectionalStream();
    const writer = stream.getWriter();
    await writer.write(text('open'));
    const serverIn = await nextIncoming(first.server.incomingUnidirectionalStreams);
    first.client.close({ closeCode: 4242, reason: 'client done ✓' });
    expect(await first.server.closed).toEqual({ closeCode: 4242, reason: 'client done ✓' });
    expect(await first.client.closed).toEqual({ closeCode: 4242, reason: 'client done ✓' });
    await expect(readAll(serverIn)).rejects.toThrow();

    const second = await open();
    second.server.close({ closeCode: 1, reason: 'x'.repeat(2000) });
    const info = await second.client.closed;
    expect(info.closeCode).toBe(1);
    expect(info.reason).toBe('x'.repeat(1024)); // draft §6: at most 1024 bytes
    await expect(second.client.createBidirectionalStream()).rejects.toThrow(/closed/);
  });

  it('DRAIN_WEBTRANSPORT_SESSION resolves the other side\'s `draining`, both ways', async () => {
    const { client, server } = await open();
    let serverDraining = false;
    void server.draining.then(() => (serverDraining = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(serverDraining).toBe(false);
    client.session.drain();
    await server.draining;
    (server as unknown as { session: { drain(): void } }).session.drain();
    await client.draining;
    // Draining is not closing: the session still carries streams.
    const stream = await client.createUnidirectionalStream();
    await writeAll(stream, text('after drain'));
    expect(untext(await readAll(await nextIncoming(server.incomingUnidirectionalStreams)))).toBe('after drain');
    client.close();
  });

  it('an abrupt end (connection closed without a capsule) rejects `closed` with a session error', async () => {
    const { client, server } = await open();
    client.connection.close();
    const error = await server.closed.then(() => undefined, (reason: unknown) => reason);
    expect(error).toBeInstanceOf(WebTransportError);
    expect((error as WebTransportError).source).toBe('session');
    await pollUntil('the server to forget the session', () => t.server.getStats().sessions === 0 || undefined);
  });
});
