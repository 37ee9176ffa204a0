/**
 * Bounded structural pre-scan of MessagePack bytes, run before msgpackr sees them.
 *
 * msgpackr trusts declared lengths (it pre-sizes arrays and maps from them) and carries
 * non-standard extensions (records, structures, bundled strings) behind ext types and the
 * reserved byte 0xc1. Walking the bytes first, without allocating per value, guarantees
 * that what reaches msgpackr is small, shallow, plain MessagePack:
 *
 * - every declared str/bin/array/map length fits in the remaining bytes
 *   (a 10-byte input cannot declare a 2^32-element array);
 * - nesting depth and total item count stay under limits;
 * - no ext / fixext types (so no records, structures, timestamps, undefined) and no 0xc1;
 * - strings are well-formed UTF-8, so decoded strings re-encode to the same bytes;
 * - map keys are distinct strings and never `__proto__`, `constructor` or `prototype`;
 * - exactly one value, with no trailing bytes.
 */
import { ErrorCode, ProtocolError } from '../../errors.ts';
import { FORBIDDEN_KEYS } from './validate.ts';

export interface MsgpackScanLimits {
  /** Containers nested deeper than this are rejected; the top-level map is depth 1. */
  readonly maxDepth: number;
  /** Values counted over the whole input (map keys, map values, array elements, top level). */
  readonly maxItems: number;
}

export const DEFAULT_MSGPACK_SCAN_LIMITS: Readonly<MsgpackScanLimits> = Object.freeze({
  maxDepth: 8,
  maxItems: 8192,
});

const keyDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

class Scanner {
  private pos = 0;
  private items = 0;
  private readonly buf: Uint8Array;
  private readonly limits: MsgpackScanLimits;

  constructor(buf: Uint8Array, limits: MsgpackScanLimits) {
    this.buf = buf;
    this.limits = limits;
  }

  run(): void {
    this.value(0, false);
    if (this.pos !== this.buf.length) {
      throw new ProtocolError(
        ErrorCode.Malformed,
        `${this.buf.length - this.pos} trailing byte(s) after the message at offset ${this.pos}`,
      );
    }
  }

  private need(n: number, what: string): void {
    if (this.buf.length - this.pos < n) {
      throw new ProtocolError(
        ErrorCode.Truncated,
        `${what} needs ${n} byte(s) at offset ${this.pos}, ${this.buf.length - this.pos} left`,
      );
    }
  }

  private u8(): number {
    const b = this.buf[this.pos];
    if (b === undefined) {
      throw new ProtocolError(ErrorCode.Truncated, `input ends at offset ${this.pos}`);
    }
    this.pos++;
    return b;
  }

  /** Big-endian unsigned length of 1, 2 or 4 bytes. */
  private len(bytes: 1 | 2 | 4, what: string): number {
    this.need(bytes, `${what} length`);
    let n = 0;
    for (let i = 0; i < bytes; i++) n = n * 256 + (this.buf[this.pos + i] ?? 0);
    this.pos += bytes;
    return n;
  }

  private skip(n: number, what: string): void {
    this.need(n, what);
    this.pos += n;
  }

  private count(n: number): void {
    this.items += n;
    if (this.items > this.limits.maxItems) {
      throw new ProtocolError(
        ErrorCode.Oversized,
        `more than ${this.limits.maxItems} values (at offset ${this.pos})`,
      );
    }
  }

  /** Checks a container header: depth, item budget, then that the elements can fit. */
  private container(depth: number, elements: number, what: string): void {
    if (depth + 1 > this.limits.maxDepth) {
      throw new ProtocolError(ErrorCode.Oversized, `nesting deeper than ${this.limits.maxDepth}`);
    }
    this.count(elements);
    // Every element takes at least one byte.
    this.need(elements, `${what} of ${elements} element(s)`);
  }

  private str(length: number, isKey: boolean): string | undefined {
    this.need(length, 'string');
    const start = this.pos;
    const end = start + length;
    const bytes = this.buf.subarray(start, end);
    this.pos = end;
    if (isKey) {
      // Keys are needed as text (forbidden / duplicate checks); the fatal decoder validates.
      try {
        return keyDecoder.decode(bytes);
      } catch {
        throw new ProtocolError(ErrorCode.Malformed, `map key at offset ${start} is not valid UTF-8`);
      }
    }
    if (!isWellFormedUtf8(bytes)) {
      throw new ProtocolError(ErrorCode.Malformed, `string at offset ${start} is not valid UTF-8`);
    }
    return undefined;
  }

  private array(n: number, depth: number): void {
    this.container(depth, n, 'array');
    for (let i = 0; i < n; i++) this.value(depth + 1, false);
  }

  private map(n: number, depth: number): void {
    this.container(depth, 2 * n, 'map');
    const keys = new Set<string>();
    for (let i = 0; i < n; i++) {
      const keyAt = this.pos;
      const key = this.value(depth + 1, true);
      if (key === undefined) {
        throw new ProtocolError(ErrorCode.InvalidField, `map key at offset ${keyAt} is not a string`);
      }
      if (FORBIDDEN_KEYS.has(key)) {
        throw new ProtocolError(ErrorCode.ForbiddenKey, `forbidden map key '${key}' at offset ${keyAt}`);
      }
      if (keys.has(key)) {
        throw new ProtocolError(ErrorCode.Malformed, `duplicate map key '${key.slice(0, 32)}' at offset ${keyAt}`);
      }
      keys.add(key);
      this.value(depth + 1, false);
    }
  }

  /**
   * Skips one value. When `isKey`, only a string is accepted and its text is returned;
   * any other key type returns `undefined` so the caller can report it.
   */
  private value(depth: number, isKey: boolean): string | undefined {
    if (depth === 0) this.count(1);
    const at = this.pos;
    const t = this.u8();
    if (t >= 0xa0 && t <= 0xbf) return this.str(t & 0x1f, isKey);
    if (t === 0xd9) return this.str(this.len(1, 'str8'), isKey);
    if (t === 0xda) return this.str(this.len(2, 'str16'), isKey);
    if (t === 0xdb) return this.str(this.len(4, 'str32'), isKey);
    if (isKey) {
      // Rewind so the caller reports the key's own offset; nothing else to skip.
      this.pos = at;
      return undefined;
    }

    if (t <= 0x7f || t >= 0xe0) return undefined; // positive / negative fixint
    if (t <= 0x8f) {
      this.map(t & 0x0f, depth);
      return undefined;
    }
    if (t <= 0x9f) {
      this.array(t & 0x0f, depth);
      return undefined;
    }
    switch (t) {
      case 0xc0: // nil
      case 0xc2: // false
      case 0xc3: // true
        return undefined;
      case 0xc1:
        throw new ProtocolError(ErrorCode.Malformed, `reserved byte 0xc1 at offset ${at}`);
      case 0xc4:
        this.skip(this.len(1, 'bin8'), 'bin8');
        return undefined;
      case 0xc5:
        this.skip(this.len(2, 'bin16'), 'bin16');
        return undefined;
      case 0xc6:
        this.skip(this.len(4, 'bin32'), 'bin32');
        return undefined;
      case 0xc7:
      case 0xc8:
      case 0xc9:
      case 0xd4:
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8:
        throw new ProtocolError(
          ErrorCode.UnknownType,
          `MessagePack extension type 0x${t.toString(16)} at offset ${at} is not part of the protocol`,
        );
      case 0xca: // float32
        this.skip(4, 'float32');
        return undefined;
      case 0xcb: // float64
        this.skip(8, 'float64');
        return undefined;
      case 0xcc: // uint8
      case 0xd0: // int8
        this.skip(1, 'int8');
        return undefined;
      case 0xcd:
      case 0xd1:
        this.skip(2, 'int16');
        return undefined;
      case 0xce:
      case 0xd2:
        this.skip(4, 'int32');
        return undefined;
      case 0xcf:
      case 0xd3:
        this.skip(8, 'int64');
        return undefined;
      case 0xdc:
        this.array(this.len(2, 'array16'), depth);
        return undefined;
      case 0xdd:
        this.array(this.len(4, 'array32'), depth);
        return undefined;
      case 0xde:
        this.map(this.len(2, 'map16'), depth);
        return undefined;
      case 0xdf:
        this.map(this.len(4, 'map32'), depth);
        return undefined;
      default:
        // Every byte value is covered above; reaching here means the table above is wrong.
        throw new ProtocolError(ErrorCode.Malformed, `unexpected type byte 0x${t.toString(16)} at offset ${at}`);
    }
  }
}

/**
 * Strict UTF-8 check (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
 * Allocation-free, unlike a fatal TextDecoder, because values can be up to 64 KiB.
 */
export function isWellFormedUtf8(b: Uint8Array): boolean {
  const n = b.length;
  let i = 0;
  while (i < n) {
    const c = b[i] ?? 0;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0; // overlong
      else if (c === 0xed) hi = 0x9f; // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90; // overlong
      else if (c === 0xf4) hi = 0x8f; // > U+10FFFF
    } else return false;
    if (i + need >= n) return false; // sequence cut off by the end of the string
    const c1 = b[i + 1] ?? 0;
    if (c1 < lo || c1 > hi) return false;
    for (let k = 2; k <= need; k++) {
      const ck = b[i + k] ?? 0;
      if (ck < 0x80 || ck > 0xbf) return false;
    }
    i += need + 1;
  }
  return true;
}

/** Throws a ProtocolError unless `bytes` is one plain, bounded MessagePack value. */
export function scanMsgpack(
  bytes: Uint8Array,
  limits: MsgpackScanLimits = DEFAULT_MSGPACK_SCAN_LIMITS,
): void {
  if (bytes.length === 0) throw new ProtocolError(ErrorCode.Truncated, 'empty message');
  new Scanner(bytes, limits).run();
}
