import { describe, expect, it } from 'vitest';
import { GroupBufferBudget, type GroupBufferShare } from './group-buffer-budget';

/** Resolved already? (room() of a stream that may read resolves at once). */
async function settled(promise: Promise<void>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await Promise.resolve();
  await Promise.resolve();
  return done;
}

describe('GroupBufferBudget', () => {
  it('lets every stream read below the cap; past it only the first holder, until bytes are handed on', async () => {
    const budget = new GroupBufferBudget(1000);
    const [a, b, c] = [budget.open(), budget.open(), budget.open()] as [GroupBufferShare, GroupBufferShare, GroupBufferShare];
    b.hold(300);
    a.hold(600);
    expect(await settled(c.room())).toBe(true);
    c.hold(200); // 1100 held: over the cap
    const [roomA, roomB, roomC] = [a.room(), b.room(), c.room()];
    expect(await settled(roomB)).toBe(true); // b began holding first: its frame must be able to finish
    expect(await settled(roomA)).toBe(false);
    expect(await settled(roomC)).toBe(false);
    expect(budget.getStats()).toEqual({ heldBytes: 1100, peakBytes: 1100, waits: 2, waiting: 2 });
    b.hold(900); // the first holder reads on past the cap
    expect(await settled(roomA)).toBe(false);
    b.hold(0); // its frame went to the library: 800 held
    expect(await settled(roomA)).toBe(true);
    expect(await settled(roomC)).toBe(true);
    expect(budget.getStats()).toMatchObject({ heldBytes: 800, peakBytes: 1700, waiting: 0 });
  });

  it('makes the next holder first once the first one has handed its frame on, and a stream that holds nothing waits', async () => {
    const budget = new GroupBufferBudget(100);
    const [a, b, c] = [budget.open(), budget.open(), budget.open()] as [GroupBufferShare, GroupBufferShare, GroupBufferShare];
    a.hold(80);
    b.hold(80);
    const [roomB, roomC] = [b.room(), c.room()];
    expect(await settled(roomB)).toBe(false);
    a.hold(0);
    a.hold(10); // a new frame: a is now behind b
    expect(await settled(roomB)).toBe(true);
    expect(await settled(a.room())).toBe(true); // 90 held, under the cap
    expect(await settled(roomC)).toBe(true);
  });

  it('lets one frame larger than the whole cap through (nothing else holds: no wedge)', async () => {
    const budget = new GroupBufferBudget(10);
    const a = budget.open();
    for (let held = 0; held <= 1000; held += 100) {
      a.hold(held);
      expect(await settled(a.room())).toBe(true);
    }
  });

  it('frees what a stream held when it ends (reset, cancelled), wakes the waiting, and releases twice safely', async () => {
    const budget = new GroupBufferBudget(100);
    const [a, b] = [budget.open(), budget.open()] as [GroupBufferShare, GroupBufferShare];
    a.hold(150);
    b.hold(1);
    const roomB = b.room();
    expect(await settled(roomB)).toBe(false);
    a.release();
    a.release();
    expect(await settled(roomB)).toBe(true);
    expect(budget.getStats()).toMatchObject({ heldBytes: 1, waiting: 0 });
    // A stream ended while it waited: its wait ends too (its reader then sees the end).
    a.hold(200);
    const roomB2 = b.room();
    b.release();
    expect(await settled(roomB2)).toBe(true);
  });
});
