import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ForwardLeases } from './forward-leases';

/** Stands in for a ForwardSession: closes once, says so. */
class FakeForward extends EventEmitter<{ closed: [string] }> {
  closeReason: string | undefined;
  close(reason: string): void {
    if (this.closeReason) return;
    this.closeReason = reason;
    this.emit('closed', reason);
  }
}

const GRACE = 5_000;
let leases: ForwardLeases;

beforeEach(() => {
  vi.useFakeTimers();
  leases = new ForwardLeases({ graceMs: GRACE, log: pino({ level: 'silent' }) });
});
afterEach(() => {
  leases.close();
  vi.useRealTimers();
});

describe('ForwardLeases', () => {
  it('ends the forwards of an instance whose last event connection closed, after the grace period', () => {
    const release = leases.hold('transcoder@a', 'i1');
    const forward = new FakeForward();
    leases.attach('i1', forward);
    release();
    vi.advanceTimersByTime(GRACE - 1);
    expect(forward.closeReason).toBeUndefined();
    expect(leases.isHeld('i1')).toBe(true);
    vi.advanceTimersByTime(1);
    expect(forward.closeReason).toBe('lease_expired');
    expect(leases.isHeld('i1')).toBe(false);
  });

  it('keeps them when the instance reconnects within the grace period', () => {
    const release = leases.hold('transcoder@a', 'i1');
    const forward = new FakeForward();
    leases.attach('i1', forward);
    release();
    vi.advanceTimersByTime(GRACE - 100);
    const again = leases.hold('transcoder@a', 'i1');
    vi.advanceTimersByTime(10 * GRACE);
    expect(forward.closeReason).toBeUndefined();
    again();
    vi.advanceTimersByTime(GRACE);
    expect(forward.closeReason).toBe('lease_expired');
  });

  it('counts connections: one of two closing ends nothing', () => {
    const first = leases.hold('transcoder@a', 'i1');
    const second = leases.hold('transcoder@a', 'i1');
    const forward = new FakeForward();
    leases.attach('i1', forward);
    first();
    first(); // releasing twice counts once
    vi.advanceTimersByTime(10 * GRACE);
    expect(forward.closeReason).toBeUndefined();
    second();
    vi.advanceTimersByTime(GRACE);
    expect(forward.closeReason).toBe('lease_expired');
  });

  it('ends an older instance\'s forwards at once when a new instance of the same owner registers', () => {
    leases.hold('transcoder@a', 'old');
    const stale = new FakeForward();
    leases.attach('old', stale);
    const other = new FakeForward();
    leases.hold('transcoder@b', 'other');
    leases.attach('other', other);
    leases.hold('transcoder@a', 'new');
    expect(stale.closeReason).toBe('owner_restarted');
    expect(leases.isHeld('old')).toBe(false);
    expect(leases.isHeld('new')).toBe(true);
    expect(other.closeReason).toBeUndefined();
    expect(leases.ownerOf('other')).toBe('transcoder@b');
  });

  it('refuses forwards for an instance it does not know', () => {
    expect(leases.isHeld('nobody')).toBe(false);
    expect(() => leases.attach('nobody', new FakeForward())).toThrow(expect.objectContaining({ code: 'forward_lease_unknown', status: 409 }));
  });

  it('forgets a forward that closed for another reason', () => {
    leases.hold('transcoder@a', 'i1');
    const forward = new FakeForward();
    leases.attach('i1', forward);
    forward.close('forward_deleted');
    expect(leases.forwardsOf('i1')).toBe(0);
  });

  it('close() ends every timer and forward', () => {
    const release = leases.hold('transcoder@a', 'i1');
    const forward = new FakeForward();
    leases.attach('i1', forward);
    release();
    leases.close();
    expect(forward.closeReason).toBe('server_closing');
    expect(vi.getTimerCount()).toBe(0);
  });
});
