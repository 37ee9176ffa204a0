import { afterEach, describe, expect, it, vi } from 'vitest';
import { timedRuntime, type InferenceClock, type Runtime, type TensorLike } from '../src/index.ts';

describe('timedRuntime', () => {
  afterEach(() => vi.restoreAllMocks());

  it('counts the wall time with a run in flight: overlapping runs (a worker thread) count once', async () => {
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const gates: ((v: Record<string, TensorLike>) => void)[] = [];
    const runtime: Runtime = {
      tensor: (type, data, dims) => ({ type, data, dims }),
      createSession: async () => ({ run: () => new Promise((resolve) => gates.push(resolve)) }),
    };
    const clock: InferenceClock = { ms: 0, runs: 0 };
    const a = await timedRuntime(runtime, clock).createSession(new Uint8Array());
    const b = await timedRuntime(runtime, clock).createSession(new Uint8Array()); // another runtime, same clock
    now = 10;
    const first = a.run({});
    now = 20;
    const second = b.run({});
    now = 50;
    gates[0]?.({});
    await first;
    expect(clock.ms).toBe(0); // the second run is still in flight
    now = 70;
    gates[1]?.({});
    await second;
    expect(clock).toEqual({ ms: 60, runs: 2 }); // 10..70, not 40 + 50
    now = 100;
    const third = a.run({});
    now = 105;
    gates[2]?.({});
    await third;
    expect(clock).toEqual({ ms: 65, runs: 3 });
  });
});
