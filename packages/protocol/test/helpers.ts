import { expect } from 'vitest';
import { ProtocolError, type ErrorCode } from '../src/errors.ts';
import { createRng } from '../src/schedule/index.ts';

/** Asserts that `fn` throws a ProtocolError with exactly `code`, and returns it. */
export function expectCode(fn: () => unknown, code: ErrorCode | string): ProtocolError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ProtocolError);
  const err = caught as ProtocolError;
  expect(err.code, err.message).toBe(code);
  return err;
}

/** Seeded uniform numbers in [0, 1), so failures reproduce. */
export function uniform01(seed: number): () => number {
  const next = createRng(seed);
  return () => next() / 2 ** 32;
}
