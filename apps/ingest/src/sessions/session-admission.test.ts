import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadIngestConfig } from '../config';
import type { AnySession } from '../router/sessions';
import { SessionAdmission } from './session-admission';

const log = pino({ level: 'silent' });
/** The response as far as a refusal writes to it: its Retry-After header. */
function res(): ServerResponse & { headers: Map<string, string> } {
  const headers = new Map<string, string>();
  return { headers, setHeader: (name: string, value: string) => headers.set(name.toLowerCase(), value) } as unknown as ServerResponse & { headers: Map<string, string> };
}

/** Just what hold() reads of a session: its state and its connected/closed events. */
class FakeSession extends EventEmitter {
  connected = false;
  closed = false;
  connect(): void {
    this.connected = true;
    this.emit('connected');
  }
  close(): void {
    this.closed = true;
    this.connected = false;
    this.emit('closed', 'test');
  }
}

const admission = (maxViewers: number) => new SessionAdmission(loadIngestConfig({ ONAIR_MAX_VIEWERS: String(maxViewers), ONAIR_WEBTRANSPORT_PORT: 'off' }));
const made = (session: FakeSession) => () => Promise.resolve(session as unknown as AnySession);

describe('SessionAdmission.hold', () => {
  it('takes the viewer slot before create() awaits: a second viewer is refused while the first is still being made', async () => {
    const a = admission(1);
    let finish!: (session: AnySession) => void;
    const first = a.hold('10.0.0.1', 'viewer', res(), log, () => new Promise<AnySession>((resolve) => (finish = resolve)));
    const refused = res();
    await expect(a.hold('10.0.0.2', 'viewer', refused, log, made(new FakeSession()))).rejects.toMatchObject({ code: 'too_many_viewers' });
    expect(refused.headers.get('retry-after')).toBe('10');
    const session = new FakeSession();
    finish(session as unknown as AnySession);
    await first;
    expect(a.limits.viewers).toBe(1);
  });

  it('a viewer keeps its slot once connected and gives it back when it closes; its pending slot goes at connect', async () => {
    const a = admission(5);
    const session = new FakeSession();
    await a.hold('10.0.0.1', 'viewer', res(), log, made(session));
    expect([a.limits.viewers, a.limits.pending]).toEqual([1, 1]);
    session.connect();
    expect([a.limits.viewers, a.limits.pending]).toEqual([1, 0]);
    session.close();
    expect([a.limits.viewers, a.limits.pending]).toEqual([0, 0]);
  });

  it('gives both slots back when create() fails, and when the session closed before it was handed over', async () => {
    const a = admission(5);
    await expect(a.hold('10.0.0.1', 'viewer', res(), log, () => Promise.reject(new Error('engine refused the offer')))).rejects.toThrow('engine refused');
    expect([a.limits.viewers, a.limits.pending]).toEqual([0, 0]);
    const gone = new FakeSession();
    gone.closed = true;
    await a.hold('10.0.0.1', 'viewer', res(), log, made(gone));
    expect([a.limits.viewers, a.limits.pending]).toEqual([0, 0]);
  });

  it('a refused pending slot takes no viewer slot; a publisher takes none at all', async () => {
    const a = new SessionAdmission(loadIngestConfig({ ONAIR_MAX_VIEWERS: '5', ONAIR_MAX_PENDING_PER_CLIENT: '1', ONAIR_WEBTRANSPORT_PORT: 'off' }));
    await a.hold('10.0.0.1', 'viewer', res(), log, made(new FakeSession()));
    await expect(a.hold('10.0.0.1', 'viewer', res(), log, made(new FakeSession()))).rejects.toMatchObject({ code: 'too_many_requests' });
    expect(a.limits.viewers).toBe(1);
    await a.hold('10.0.0.2', 'publisher', res(), log, made(new FakeSession()));
    expect([a.limits.viewers, a.limits.pending]).toEqual([1, 2]);
  });
});
