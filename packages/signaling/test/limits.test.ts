import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, LIMIT_NAMES, resolveLimits, TokenBucket } from '../src/limits.ts';

describe('limits', () => {
  it('defaults are on and documented values', () => {
    expect(resolveLimits()).toEqual(DEFAULT_LIMITS);
    expect(DEFAULT_LIMITS).toMatchObject({
      maxMessageBytes: 65_536,
      maxSessionsPerWorker: 1,
      heartbeatIntervalMs: 500,
      heartbeatTimeoutMs: 1000,
    });
    // Loss detection bound: timeout + interval ≤ 2 s.
    expect(DEFAULT_LIMITS.heartbeatTimeoutMs + DEFAULT_LIMITS.heartbeatIntervalMs).toBeLessThanOrEqual(2000);
  });

  it('refuses 0 (no "unlimited"), negatives, fractions, NaN, huge timers and unknown names', () => {
    for (const name of LIMIT_NAMES) {
      for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
        expect(() => resolveLimits({ [name]: bad }), `${name}=${bad}`).toThrow(RangeError);
      }
    }
    expect(() => resolveLimits({ nope: 1 } as never)).toThrow(/unknown limit/);
    expect(() => resolveLimits({ maxMessageBytes: 100 })).toThrow(RangeError);
  });

  it('requires the heartbeat timeout to exceed the interval', () => {
    expect(() => resolveLimits({ heartbeatIntervalMs: 500, heartbeatTimeoutMs: 500 })).toThrow(/must exceed/);
    expect(resolveLimits({ heartbeatIntervalMs: 100, heartbeatTimeoutMs: 250 }).heartbeatTimeoutMs).toBe(250);
  });
});

describe('TokenBucket', () => {
  it('allows the burst, then the refill rate', () => {
    const b = new TokenBucket(10, 3, 0);
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([true, true, true, false]);
    expect(b.take(99)).toBe(false); // 0.99 tokens
    expect(b.take(100)).toBe(true); // 1 token after 100 ms at 10/s
    expect(b.take(100)).toBe(false);
    // Never more than the burst, however long the pause.
    expect([b.take(60_000), b.take(60_000), b.take(60_000), b.take(60_000)]).toEqual([true, true, true, false]);
  });

  it('ignores a clock that goes backwards', () => {
    const b = new TokenBucket(1, 1, 1000);
    expect(b.take(1000)).toBe(true);
    expect(b.take(0)).toBe(false);
    expect(b.take(1000)).toBe(false);
    expect(b.take(2000)).toBe(true);
  });
});
