import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { OnDemandRenditions } from './on-demand-renditions';

const log = pino({ level: 'silent' });
let events: string[];
let manager: OnDemandRenditions;

beforeEach(() => {
  vi.useFakeTimers();
  events = [];
  manager = new OnDemandRenditions({
    log,
    maxJobs: 2,
    lingerMs: 5000,
    createJob: (streamId) => ({
      start: async () => void events.push(`start ${streamId}`),
      stop: async () => void events.push(`stop ${streamId}`),
    }),
  });
});
afterEach(() => vi.useRealTimers());

const want = (streamId: string, codecs: string[]) => manager.wanted({ streamId, name: streamId, codecs });

describe('OnDemandRenditions', () => {
  it('starts at the first want, once, and stops after the linger once nobody wants it', async () => {
    want('a', ['VP8']);
    want('a', ['VP8']);
    expect(manager.streams).toEqual(['a']);
    want('a', []);
    await vi.advanceTimersByTimeAsync(4999);
    expect(events).toEqual(['start a']);
    await vi.advanceTimersByTimeAsync(1);
    expect(events).toEqual(['start a', 'stop a']);
    expect(manager.streams).toEqual([]);
  });

  it('a want within the linger keeps the job (a viewer reloading its page)', async () => {
    want('a', ['vp8']);
    want('a', []);
    await vi.advanceTimersByTimeAsync(3000);
    want('a', ['VP8']);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(events).toEqual(['start a']);
  });

  it('stops at once when the stream goes offline; codecs it does not make start nothing', async () => {
    want('a', ['VP8']);
    want('b', ['AV1']);
    manager.offline('a');
    await vi.advanceTimersByTimeAsync(0);
    expect(events).toEqual(['start a', 'stop a']);
  });

  it(`runs at most maxJobs at a time`, async () => {
    for (const id of ['a', 'b', 'c']) want(id, ['VP8']);
    expect(manager.streams).toEqual(['a', 'b']);
    await manager.close();
    expect(events.sort()).toEqual(['start a', 'start b', 'stop a', 'stop b']);
  });
  it('with wantTtlMs (a cluster, whose origin repeats its wants): a want heard again lives on, one not heard again expires, then lingers', async () => {
    const cluster = new OnDemandRenditions({
      log,
      lingerMs: 5000,
      wantTtlMs: 3000,
      createJob: (streamId) => ({ start: async () => void events.push(`start ${streamId}`), stop: async () => void events.push(`stop ${streamId}`) }),
    });
    const clusterWant = () => cluster.wanted({ streamId: 'a', name: 'a', codecs: ['VP8'] });
    clusterWant();
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(1000);
      clusterWant();
    }
    expect(cluster.streams).toEqual(['a']);
    // The origin stops repeating (it died, or its `[]` was lost): 3 s to expire, 5 s of linger.
    await vi.advanceTimersByTimeAsync(7999);
    expect(events).toEqual(['start a']);
    await vi.advanceTimersByTimeAsync(1);
    expect(events).toEqual(['start a', 'stop a']);
  });
});
