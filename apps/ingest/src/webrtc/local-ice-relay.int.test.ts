/**
 * The local ICE relay's rules on loopback sockets (127.0.0.0/8 stands in for "this machine's
 * addresses"): it passes datagrams both ways, the engine sees the sender's own address (not the
 * relay's), a source that is not this machine is refused, and it holds at most 4 senders.
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { pollUntil } from '../../../../test/support/poll';
import { engineCandidate, LocalIceRelay, withCandidates } from './local-ice-relay';

const sockets: Socket[] = [];
const relays: LocalIceRelay[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
  for (const relay of relays.splice(0)) relay.close();
});

async function udp(address: string): Promise<{ socket: Socket; port: number; received: Array<{ data: string; from: string }> }> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  const received: Array<{ data: string; from: string }> = [];
  socket.on('message', (message, from) => received.push({ data: message.toString(), from: `${from.address}:${from.port}` }));
  await new Promise<void>((resolve) => socket.bind(0, address, () => resolve()));
  return { socket, port: socket.address().port, received };
}

describe('LocalIceRelay', () => {
  it('passes datagrams both ways; the engine sees the sender\'s address; strangers are refused', async () => {
    const engine = await udp('127.0.0.1');
    // The "engine" answers whoever wrote to it, as an ICE agent answers a check.
    engine.socket.on('message', (message, from) => engine.socket.send(`re:${message.toString()}`, from.port, from.address));
    const relay = await LocalIceRelay.open({ engine: { address: '127.0.0.1', port: engine.port }, addresses: ['127.0.0.2'], localSources: new Set(['127.0.0.1', '127.0.0.3']), portRange: undefined });
    relays.push(relay);
    expect(relay.candidates).toHaveLength(1);
    const front = Number(relay.candidates[0]!.split(' ')[5]);
    expect(relay.candidates[0]).toMatch(/^onairlocal0 1 udp \d+ 127\.0\.0\.2 \d+ typ host$/);

    const browser = await udp('127.0.0.3');
    browser.socket.send('check', front, '127.0.0.2');
    await pollUntil('the answer back at the browser', () => browser.received.length > 0, { timeoutMs: 2_000, intervalMs: 10 });
    expect(browser.received[0]).toEqual({ data: 're:check', from: `127.0.0.2:${front}` });
    // The engine saw the browser's own address (a back socket bound to it), never the relay's.
    expect(engine.received[0]!.from.startsWith('127.0.0.3:')).toBe(true);

    const stranger = await udp('127.0.0.4');
    stranger.socket.send('probe', front, '127.0.0.2');
    await pollUntil('the stranger refused', () => relay.stats.refused === 1, { timeoutMs: 2_000, intervalMs: 10 });
    expect(engine.received.map((r) => r.data)).toEqual(['check']);
    expect(stranger.received).toEqual([]);
  });

  it('carries at most 4 senders', async () => {
    const engine = await udp('127.0.0.1');
    const relay = await LocalIceRelay.open({ engine: { address: '127.0.0.1', port: engine.port }, addresses: ['127.0.0.2'], localSources: new Set(['127.0.0.3']), portRange: undefined });
    relays.push(relay);
    const front = Number(relay.candidates[0]!.split(' ')[5]);
    for (let i = 0; i < 6; i += 1) (await udp('127.0.0.3')).socket.send(`s${i}`, front, '127.0.0.2');
    await pollUntil('six datagrams handled', () => relay.stats.forwarded + relay.stats.refused === 6, { timeoutMs: 2_000, intervalMs: 10 });
    expect(relay.stats).toEqual({ forwarded: 4, refused: 2 });
  });
});

describe('answer helpers', () => {
  const answer = ['v=0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:0', 'a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host', 'a=end-of-candidates', 'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=mid:1', ''].join('\r\n');
  it('finds the engine\'s loopback candidate', () => {
    expect(engineCandidate(answer, '127.0.0.1')).toEqual({ address: '127.0.0.1', port: 40000 });
    expect(engineCandidate(answer, '::1')).toBeUndefined();
  });
  it('adds candidates after the existing ones', () => {
    expect(withCandidates(answer, ['x 1 udp 1 10.0.0.5 5000 typ host'])).toBe(answer.replace('40000 typ host\r\n', '40000 typ host\r\na=candidate:x 1 udp 1 10.0.0.5 5000 typ host\r\n'));
  });
});
