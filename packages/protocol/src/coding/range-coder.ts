import { ErrorCode, ProtocolError } from '../errors.ts';
import type { FrequencyTable } from './frequency-table.ts';

/*
 * A FIFO range coder (Subbotin/Schindler family, carry handling as in LZMA's rc) that takes a
 * different frequency table for every symbol, in the constriction style: the coder holds only its
 * state, the model is passed on each call.
 *
 * Why a 48-bit state and not 32: the tables total 2^24 so that 8192-symbol alphabets keep a
 * floor of 1 per symbol without distorting them. With a 32-bit range renormalized at 2^24, the
 * per-symbol scale floor(range / 2^24) drops to 1..255 and truncation wastes ~0.1 bit per symbol
 * (about 1% of an image). Keeping the range in [2^40, 2^48] leaves ≥ 2^16 of resolution (waste
 * < 2^-16 per symbol). All state values stay below 2^53, so JavaScript numbers hold them exactly
 * and every operation here is exact integer arithmetic; bytes go out one at a time, MSB first.
 *
 *   low   ∈ [0, 2^48)     bottom of the current interval (a carry may push it to < 2^49)
 *   range ∈ [2^40, 2^48]  width of the current interval after normalization
 */

const STATE_BYTES = 6;
const TOP = 2 ** 48;
const BOTTOM = 2 ** 40; // renormalize (shift a byte out) when range falls below this
const BYTE_SHIFT = 2 ** 40; // weight of the top byte of a 48-bit value
/** 2^-P for P = 0..24: dividing by a power of two by multiplication is exact. */
const INV_POW2 = Array.from({ length: 25 }, (_, p) => 2 ** -p);

export class RangeEncoder {
  private low = 0;
  private range = TOP;
  /** Byte waiting for a possible carry; -1 before the first byte (never written: it is always 0). */
  private cache = -1;
  /** Count of 0xFF bytes after `cache` that a carry would also turn to 0x00. */
  private pendingFF = 0;
  private out: Uint8Array;
  private length = 0;
  private finished = false;

  constructor(initialCapacity = 256) {
    this.out = new Uint8Array(Math.max(16, initialCapacity));
  }

  /** Codes `symbol` with `table`. Throws ERR_INVALID_ARGUMENT for a symbol outside the table. */
  encode(symbol: number, table: FrequencyTable): void {
    const cdf = table.cdf;
    const start = cdf[symbol];
    const end = cdf[symbol + 1];
    if (start === undefined || end === undefined || end <= start || symbol < 0 || (symbol | 0) !== symbol) {
      throw new ProtocolError(ErrorCode.InvalidArgument, `symbol ${symbol} is not in a ${cdf.length - 1}-symbol table`);
    }
    if (this.finished) throw new ProtocolError(ErrorCode.InvalidArgument, 'encoder already finished');
    const r = Math.floor(this.range * (INV_POW2[table.precision] as number));
    this.low += r * start;
    this.range = r * (end - start);
    while (this.range < BOTTOM) {
      this.shiftLow();
      this.range *= 256;
    }
  }

  /** Bytes the stream would have if it were finished now (without the final flush bytes). */
  get bytesWritten(): number {
    return this.length + this.pendingFF + (this.cache >= 0 ? 1 : 0);
  }

  /**
   * Flushes and returns the stream. It picks the value in [low, low + range) with the most
   * trailing zero bytes and drops those zeros: the decoder reads missing bytes as zero, so a
   * chunk pays for about one flush byte instead of six.
   */
  finish(): Uint8Array {
    if (this.finished) throw new ProtocolError(ErrorCode.InvalidArgument, 'encoder already finished');
    this.finished = true;
    // range ≥ 2^40, so the interval holds a multiple of 2^40 (possibly 2^48: then it carries).
    this.low = Math.ceil(this.low / BYTE_SHIFT) * BYTE_SHIFT;
    this.shiftLow();
    this.shiftLow();
    let n = this.length;
    while (n > 0 && this.out[n - 1] === 0) n--;
    return this.out.slice(0, n);
  }

  private shiftLow(): void {
    const low = this.low;
    if (low < 0xff * BYTE_SHIFT || low >= TOP) {
      const carry = low >= TOP ? 1 : 0;
      if (this.cache >= 0) this.push((this.cache + carry) & 0xff);
      for (; this.pendingFF > 0; this.pendingFF--) this.push((0xff + carry) & 0xff);
      this.cache = Math.floor(low / BYTE_SHIFT) & 0xff;
    } else {
      this.pendingFF++;
    }
    this.low = (low % BYTE_SHIFT) * 256;
  }

  private push(byte: number): void {
    if (this.length === this.out.length) {
      const grown = new Uint8Array(this.out.length * 2);
      grown.set(this.out);
      this.out = grown;
    }
    this.out[this.length++] = byte;
  }
}

export class RangeDecoder {
  private readonly bytes: Uint8Array;
  private pos = 0;
  /** value - low: the offset of the coded value inside the current interval; always < range. */
  private code = 0;
  private range = TOP;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    for (let i = 0; i < STATE_BYTES; i++) this.code = this.code * 256 + this.nextByte();
  }

  /**
   * Decodes one symbol with `table`. Every call does a bounded amount of work whatever the bytes
   * (a binary search plus at most three byte reads), and past the end of input it reads zeros, so
   * garbage can only yield wrong symbols — which the chunk checksum catches — or ERR_CORRUPT_STREAM
   * when the value lands in the sliver of range no symbol owns.
   */
  decode(table: FrequencyTable): number {
    const cdf = table.cdf;
    const r = Math.floor(this.range * (INV_POW2[table.precision] as number));
    const target = Math.floor(this.code / r);
    const n = cdf.length - 1;
    if (target >= (cdf[n] as number)) {
      throw new ProtocolError(ErrorCode.CorruptStream, `code value beyond the table total at byte ${this.pos}`);
    }
    // Largest s with cdf[s] ≤ target.
    let lo = 0;
    let hi = n;
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if ((cdf[mid] as number) <= target) lo = mid;
      else hi = mid;
    }
    const start = cdf[lo] as number;
    this.code -= r * start;
    this.range = r * ((cdf[lo + 1] as number) - start);
    while (this.range < BOTTOM) {
      this.code = this.code * 256 + this.nextByte();
      this.range *= 256;
    }
    return lo;
  }

  /**
   * Call after the last symbol: a stream our encoder wrote is always read to its end, so unread
   * bytes mean the payload is not what the header says (ERR_MALFORMED).
   */
  finish(): void {
    if (this.pos < this.bytes.length) {
      throw new ProtocolError(ErrorCode.Malformed, `${this.bytes.length - this.pos} trailing bytes after the last symbol`);
    }
  }

  private nextByte(): number {
    const b = this.pos < this.bytes.length ? (this.bytes[this.pos] as number) : 0;
    this.pos++;
    return b;
  }
}

/** Codes `symbols[i]` with `tables[i]` (or one shared table) into a fresh, self-contained stream. */
export function encodeSymbols(symbols: ArrayLike<number>, tables: FrequencyTable | ((i: number) => FrequencyTable)): Uint8Array {
  const enc = new RangeEncoder(symbols.length + 16);
  const tableAt = typeof tables === 'function' ? tables : () => tables;
  for (let i = 0; i < symbols.length; i++) enc.encode(symbols[i] as number, tableAt(i));
  return enc.finish();
}

/** Decodes `count` symbols written by `encodeSymbols` with the same tables. */
export function decodeSymbols(bytes: Uint8Array, count: number, tables: FrequencyTable | ((i: number) => FrequencyTable)): Uint32Array {
  const dec = new RangeDecoder(bytes);
  const tableAt = typeof tables === 'function' ? tables : () => tables;
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = dec.decode(tableAt(i));
  dec.finish();
  return out;
}
