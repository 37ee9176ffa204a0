/**
 * Small schema helpers for control messages. They read from the `Map`s msgpackr yields
 * (mapsAsObjects: false) or from plain objects handed to the encoder, and build fresh plain
 * objects field by field, so nothing from the wire is ever spread or assigned by key.
 *
 * Error codes: absent / wrong-typed / out-of-range / unexpected field → ERR_INVALID_FIELD;
 * string, array or binary longer than its limit → ERR_OVERSIZED; a prototype key →
 * ERR_FORBIDDEN_KEY. Messages always name the field path ("task.grid.width").
 */
import { ErrorCode, ProtocolError } from '../../errors.ts';

export const UINT32_MAX = 0xffff_ffff;

/** Keys that could reach an object prototype if a decoder ever assigned them. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export function invalidField(path: string, what: string): ProtocolError {
  return new ProtocolError(ErrorCode.InvalidField, `${path === '' ? '(message)' : path}: ${what}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Uint8Array) return 'binary';
  if (value instanceof Map) return 'map';
  return typeof value;
}

export function asUint(value: unknown, path: string, min = 0, max = UINT32_MAX): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw invalidField(path, `expected an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) {
    throw invalidField(path, `${value} is outside ${min}..${max}`);
  }
  // -0 is an integer too; normalise so a round trip is exact.
  return value === 0 ? 0 : value;
}

export function asFiniteNonNegative(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalidField(path, `expected a finite number ≥ 0, got ${String(value)}`);
  }
  return value === 0 ? 0 : value;
}

export function asBool(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw invalidField(path, `expected a boolean, got ${describe(value)}`);
  return value;
}

/** `maxLength` counts UTF-16 code units (String#length). */
export function asString(value: unknown, path: string, maxLength: number): string {
  if (typeof value !== 'string') throw invalidField(path, `expected a string, got ${describe(value)}`);
  if (value.length > maxLength) {
    throw new ProtocolError(
      ErrorCode.Oversized,
      `${path}: string of ${value.length} chars exceeds ${maxLength}`,
    );
  }
  return value;
}

export function asLiteral<T extends string>(value: unknown, path: string, allowed: readonly T[]): T {
  if (typeof value === 'string') {
    for (const a of allowed) if (a === value) return a;
  }
  throw invalidField(
    path,
    `expected one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${
      typeof value === 'string' ? `'${value.slice(0, 32)}'` : describe(value)
    }`,
  );
}

/** Returns a fresh plain Uint8Array: decoded binaries must not alias the input buffer. */
export function asBytes(value: unknown, path: string, maxLength: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw invalidField(path, `expected binary, got ${describe(value)}`);
  if (value.length > maxLength) {
    throw new ProtocolError(
      ErrorCode.Oversized,
      `${path}: binary of ${value.length} bytes exceeds ${maxLength}`,
    );
  }
  return new Uint8Array(value);
}

/** Validates every element with `item`; returns a fresh array. */
export function asArray<T>(
  value: unknown,
  path: string,
  maxLength: number,
  item: (v: unknown, itemPath: string) => T,
): T[] {
  if (!Array.isArray(value)) throw invalidField(path, `expected an array, got ${describe(value)}`);
  if (value.length > maxLength) {
    throw new ProtocolError(
      ErrorCode.Oversized,
      `${path}: array of ${value.length} entries exceeds ${maxLength}`,
    );
  }
  const out: T[] = [];
  for (let i = 0; i < value.length; i++) out.push(item(value[i], `${path}[${i}]`));
  return out;
}

/** Rejects repeated entries (sets encoded as arrays, where a repeat is ambiguous). */
export function assertUnique(values: readonly string[], path: string): void {
  const seen = new Set<string>();
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? '';
    if (seen.has(v)) throw invalidField(`${path}[${i}]`, `duplicate entry '${v.slice(0, 32)}'`);
    seen.add(v);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * One map-shaped value being validated. Each accessor consumes a key; `end()` then rejects
 * any key nobody asked for, which makes the schema strict without listing keys twice.
 * An `undefined` value counts as absent (how TypeScript callers spell "not set").
 */
export class Fields {
  readonly path: string;
  private readonly entries: ReadonlyMap<string, unknown>;
  private readonly consumed: Set<string>;

  private constructor(entries: ReadonlyMap<string, unknown>, path: string, consumed = new Set<string>()) {
    this.entries = entries;
    this.path = path;
    this.consumed = consumed;
  }

  /** Same fields and consumption state under another path (the root, once its type is known). */
  withPath(path: string): Fields {
    return new Fields(this.entries, path, this.consumed);
  }

  /** Accepts a `Map` with string keys (decoder) or a plain object (encoder). */
  static from(value: unknown, path: string): Fields {
    const entries = new Map<string, unknown>();
    if (value instanceof Map) {
      for (const [k, v] of value as Map<unknown, unknown>) {
        if (typeof k !== 'string') throw invalidField(path, `map key of type ${describe(k)}`);
        Fields.checkKey(k, path);
        if (v !== undefined) entries.set(k, v);
      }
    } else if (isPlainObject(value)) {
      for (const k of Object.keys(value)) {
        Fields.checkKey(k, path);
        const v = value[k];
        if (v !== undefined) entries.set(k, v);
      }
    } else {
      throw invalidField(path, `expected a map, got ${describe(value)}`);
    }
    return new Fields(entries, path);
  }

  private static checkKey(key: string, path: string): void {
    if (FORBIDDEN_KEYS.has(key)) {
      throw new ProtocolError(ErrorCode.ForbiddenKey, `${path}: forbidden key '${key}'`);
    }
  }

  /** Path of a child field, e.g. "task" + "grid" → "task.grid". */
  child(key: string): string {
    return this.path === '' ? key : `${this.path}.${key}`;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Raw value of a required key. */
  required(key: string): unknown {
    this.consumed.add(key);
    if (!this.entries.has(key)) throw invalidField(this.child(key), 'missing required field');
    return this.entries.get(key);
  }

  /** Raw value of an optional key, `undefined` when absent. */
  optional(key: string): unknown {
    this.consumed.add(key);
    return this.entries.get(key);
  }

  uint(key: string, min = 0, max = UINT32_MAX): number {
    return asUint(this.required(key), this.child(key), min, max);
  }

  optUint(key: string, min = 0, max = UINT32_MAX): number | undefined {
    const v = this.optional(key);
    return v === undefined ? undefined : asUint(v, this.child(key), min, max);
  }

  finiteNonNegative(key: string): number {
    return asFiniteNonNegative(this.required(key), this.child(key));
  }

  bool(key: string): boolean {
    return asBool(this.required(key), this.child(key));
  }

  string(key: string, maxLength: number): string {
    return asString(this.required(key), this.child(key), maxLength);
  }

  literal<T extends string>(key: string, allowed: readonly T[]): T {
    return asLiteral(this.required(key), this.child(key), allowed);
  }

  optLiteral<T extends string>(key: string, allowed: readonly T[]): T | undefined {
    const v = this.optional(key);
    return v === undefined ? undefined : asLiteral(v, this.child(key), allowed);
  }

  optBytes(key: string, maxLength: number): Uint8Array | undefined {
    const v = this.optional(key);
    return v === undefined ? undefined : asBytes(v, this.child(key), maxLength);
  }

  array<T>(key: string, maxLength: number, item: (v: unknown, itemPath: string) => T): T[] {
    return asArray(this.required(key), this.child(key), maxLength, item);
  }

  struct(key: string): Fields {
    return Fields.from(this.required(key), this.child(key));
  }

  optStruct(key: string): Fields | undefined {
    const v = this.optional(key);
    return v === undefined ? undefined : Fields.from(v, this.child(key));
  }

  /** Strictness: any key not consumed by an accessor is an unknown field. */
  end(): void {
    for (const key of this.entries.keys()) {
      if (!this.consumed.has(key)) throw invalidField(this.child(key), 'unknown field');
    }
  }
}
