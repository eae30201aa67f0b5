import { describe, expect, it } from 'vitest';
import { FailureLimiter } from './rate-limit';

describe('FailureLimiter', () => {
  it('allows 10 failures a minute per client, then refuses with the time to wait', () => {
    const limiter = new FailureLimiter({ limit: 10, windowMs: 60_000 });
    for (let i = 0; i < 10; i++) {
      expect(limiter.check('1.2.3.4', 1000 + i).allowed).toBe(true);
      limiter.recordFailure('1.2.3.4', 1000 + i);
    }
    expect(limiter.check('1.2.3.4', 2000)).toEqual({ allowed: false, retryAfterMs: 59_000 });
    expect(limiter.check('5.6.7.8', 2000).allowed).toBe(true);
    // The oldest failure leaves the window a minute after it happened.
    expect(limiter.check('1.2.3.4', 61_000).allowed).toBe(true);
  });

  it('forgets a client after a success', () => {
    const limiter = new FailureLimiter({ limit: 2 });
    limiter.recordFailure('a', 0);
    limiter.recordFailure('a', 1);
    expect(limiter.check('a', 2).allowed).toBe(false);
    limiter.reset('a');
    expect(limiter.check('a', 3).allowed).toBe(true);
  });

  it('remembers at most maxClients clients', () => {
    const limiter = new FailureLimiter({ limit: 1, maxClients: 2 });
    limiter.recordFailure('a', 0);
    limiter.recordFailure('b', 0);
    limiter.recordFailure('c', 0);
    expect(limiter.check('a', 1).allowed).toBe(true);
    expect(limiter.check('c', 1).allowed).toBe(false);
  });
});
