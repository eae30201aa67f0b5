import { describe, expect, it } from 'vitest';
import { ByteBudget } from './byte-budget';

describe('ByteBudget', () => {
  it('lets a burst through, then the refill rate', () => {
    const budget = new ByteBudget({ burstBytes: 1000, bytesPerSecond: 100 });
    expect(budget.take(600, 0)).toBe(true);
    expect(budget.take(400, 0)).toBe(true);
    expect(budget.take(1, 0)).toBe(false);
    expect(budget.take(50, 500)).toBe(true); // 50 refilled in 0.5 s
    expect(budget.take(1, 500)).toBe(false);
    expect(budget.take(1000, 60_000)).toBe(true); // refilled to the burst, not beyond
    expect(budget.take(1, 60_000)).toBe(false);
  });

  it("carries a probe stream for a day (the library's probes: every 100 ms, a few bytes) and announcements on top", () => {
    const budget = new ByteBudget();
    let refused = 0;
    for (let ms = 0; ms < 86_400_000; ms += 100) if (!budget.take(ms % 60_000 === 0 ? 2048 : 16, ms)) refused += 1;
    expect(refused).toBe(0);
  });

  it('stops one 4 MiB message early', () => {
    const budget = new ByteBudget();
    let taken = 0;
    while (budget.take(1200, 0)) taken += 1200;
    expect(taken).toBeLessThanOrEqual(256 * 1024);
  });
});
