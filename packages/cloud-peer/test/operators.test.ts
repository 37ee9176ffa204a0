import { describe, expect, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { timer, map } from 'rxjs';
import { decodeInArrivalOrder, readyToGenerate, type UploadProgress } from '../src/operators.ts';

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
