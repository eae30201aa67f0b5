import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff';

describe('backoffDelay', () => {
  it.each([
    [1, 500],
    [2, 1000],
    [3, 2000],
    [5, 8000],
    [6, 10_000],
    [50, 10_000],
    [0, 500],
  ])('attempt %i without jitter → %i ms', (attempt, expected) => {
    expect(backoffDelay(attempt, { jitter: 0 })).toBe(expected);
  });

  it('spreads by ±jitter', () => {
    expect(backoffDelay(2, { jitter: 0.2 }, () => 0)).toBe(800);
    expect(backoffDelay(2, { jitter: 0.2 }, () => 1)).toBe(1200);
  });
});
