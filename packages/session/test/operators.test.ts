import { describe, expect, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { timer, map } from 'rxjs';
import { decodeInArrivalOrder, oneAhead, readyToGenerate, type UploadProgress } from '../src/index.ts';

/* Marble tests on virtual time: one frame = 1 ms. */

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const stages = (n: number): UploadProgress => ({ completeStages: n });
const done: UploadProgress = { uploadDone: true };

describe('readyToGenerate', () => {
  it('starts when the needed stages are complete, with their count', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const up = hot('--a--b--c--d--|', { a: stages(1), b: stages(2), c: stages(3), d: stages(4) });
      expectObservable(up.pipe(readyToGenerate({ need: 3, deadlineMs: 100, graceMs: 10 }))).toBe('--------(x|)', { x: 3 });
    });
  });

  it('starts at the deadline with whatever has arrived', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const up = hot('--a-------------', { a: stages(1) });
      expectObservable(up.pipe(readyToGenerate({ need: 4, deadlineMs: 12, graceMs: 50 }))).toBe('------------(x|)', { x: 1 });
    });
  });

  it('starts a grace period after the end of the upload when stages were lost', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const up = hot('-a--u----------', { a: stages(2), u: done });
      expectObservable(up.pipe(readyToGenerate({ need: 8, deadlineMs: 100, graceMs: 5 }))).toBe('---------(x|)', { x: 2 });
    });
  });

  it('starts at once when it needs no stage (the cloud may begin before any token lands)', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const up = hot('-----a--', { a: stages(1) });
      expectObservable(up.pipe(readyToGenerate({ need: 0, deadlineMs: 100, graceMs: 5 }))).toBe('(x|)', { x: 0 });
    });
  });

  it('counts only forward: a late, smaller count does not undo progress', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const up = hot('-a-b----', { a: stages(3), b: stages(1) });
      expectObservable(up.pipe(readyToGenerate({ need: 5, deadlineMs: 6, graceMs: 5 }))).toBe('------(x|)', { x: 3 });
    });
  });
});

describe('decodeInArrivalOrder', () => {
  it('decodes one chunk at a time, in arrival order, even when a later one would be quicker', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const chunks = hot('-ab------|', { a: 5, b: 1 });
      // decoding chunk x takes x frames
      const out = chunks.pipe(decodeInArrivalOrder((x: number) => timer(x).pipe(map(() => x * 10))));
      expectObservable(out).toBe('------xy-|', { x: 50, y: 10 });
    });
  });
});

describe('oneAhead', () => {
  async function* producer(log: string[], n: number, failAt = -1) {
    for (let i = 0; i < n; i++) {
      log.push(`make ${i}`);
      await new Promise((r) => setTimeout(r, 5));
      if (i === failAt) throw new Error(`step ${i} failed`);
      yield i;
    }
  }

  it('starts producing the next item while the current one is consumed, and keeps the order', async () => {
    const log: string[] = [];
    const got: number[] = [];
    for await (const x of oneAhead(producer(log, 3))) {
      log.push(`use ${x}`);
      await new Promise((r) => setTimeout(r, 20));
      got.push(x);
    }
    expect(got).toEqual([0, 1, 2]);
    expect(log.indexOf('make 1')).toBeLessThan(log.indexOf('use 0') + 1);
    expect(log.indexOf('make 1')).toBeGreaterThan(log.indexOf('make 0'));
  });

  it('surfaces a failure of the look-ahead when that item is asked for, and none when the consumer stops first', async () => {
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const x of oneAhead(producer([], 5, 2))) seen.push(x);
      })(),
    ).rejects.toThrow('step 2 failed');
    expect(seen).toEqual([0, 1]);
    for await (const x of oneAhead(producer([], 5, 1))) if (x === 0) break; // the failing step 1 is in flight
    await new Promise((r) => setTimeout(r, 20));
  });
});
