/**
 * Control messages: small MessagePack maps on the reliable control data channel, with short
 * wire keys and integer type codes (control format 2, wire-keys.ts).
 *
 * Decoding is layered so that no unvalidated byte can cost memory or reach an object
 * prototype: size limit → structural pre-scan (msgpack-scan.ts) → msgpackr with maps as
 * `Map` → per-message schema that builds fresh plain objects. Encoding runs the same schema
 * first, so a peer never sends what it would itself reject.
 */
import { Packr, Unpackr } from 'msgpackr';
import { ErrorCode, ProtocolError, isProtocolError } from '../../errors.ts';
import { readClose } from './close.ts';
import type { CloseMessage } from './close.ts';
import { readError } from './error.ts';
import type { ErrorMessage } from './error.ts';
import { DEFAULT_MSGPACK_SCAN_LIMITS, scanMsgpack } from './msgpack-scan.ts';
import { readNack } from './nack.ts';
import type { NackMessage } from './nack.ts';
import { readOpen } from './open.ts';
import type { OpenMessage } from './open.ts';
import { readResult } from './result.ts';
import type { ResultMessage } from './result.ts';
import { readTask } from './task.ts';
import type { TaskMessage } from './task.ts';
import { readStep } from './step.ts';
import type { StepMessage } from './step.ts';
import { readAnswer } from './answer.ts';
import { readChunkMessage, readDone } from './chunk.ts';
import type { ChunkMessage, DoneMessage } from './chunk.ts';
import type { AnswerMessage } from './answer.ts';
import { Fields, invalidField } from './validate.ts';
import { fromWire, toWire } from './wire-keys.ts';

export type ControlMessage =
  | OpenMessage
  | TaskMessage
  | ResultMessage
  | NackMessage
  | ErrorMessage
  | CloseMessage
  | StepMessage
  | AnswerMessage
  | ChunkMessage
  | DoneMessage;

export type ControlType = ControlMessage['type'];

export const CONTROL_TYPES: readonly ControlType[] = Object.freeze([
  'open',
  'task',
  'result',
  'nack',
  'error',
  'close',
  'step',
  'answer',
  'chunk',
  'done',
]);

export interface ControlLimits {
  /** Whole encoded message; checked before anything else. */
  readonly maxControlBytes: number;
  /** MessagePack nesting depth; the top-level map is depth 1. */
  readonly maxDepth: number;
  /** Total MessagePack values in one message. */
  readonly maxItems: number;
}

export const DEFAULT_CONTROL_LIMITS: Readonly<ControlLimits> = Object.freeze({
  maxControlBytes: 65536,
  maxDepth: DEFAULT_MSGPACK_SCAN_LIMITS.maxDepth,
  maxItems: DEFAULT_MSGPACK_SCAN_LIMITS.maxItems,
});

// useRecords: false + mapsAsObjects: false → plain MessagePack maps decoded as `Map`
// (no object is ever keyed by wire data). int64AsType 'number': a 64-bit int whose high
// word is non-zero loses precision, but it is then ≥ 2^32 (or negative) and every schema
// range rejects it; values the schema accepts are exact. No bigint ever reaches the schema.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, int64AsType: 'number' });
const packr = new Packr({ useRecords: false, variableMapSize: true });

function resolveLimits(limits: Partial<ControlLimits> | undefined): ControlLimits {
  if (limits === undefined) return DEFAULT_CONTROL_LIMITS;
  const merged: ControlLimits = { ...DEFAULT_CONTROL_LIMITS, ...limits };
  for (const key of ['maxControlBytes', 'maxDepth', 'maxItems'] as const) {
    const v = merged[key];
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new ProtocolError(ErrorCode.InvalidArgument, `control limit ${key} must be a positive integer, got ${v}`);
    }
  }
  return merged;
}

/**
 * Validates a decoded (or caller-built) value against the schema of its `type` and returns
 * a fresh plain object. Unknown `type` → ERR_UNKNOWN_TYPE.
 */
export function validateControl(value: unknown): ControlMessage {
  if (!(value instanceof Map) && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw new ProtocolError(ErrorCode.Malformed, 'a control message must be a map');
  }
  const root = Fields.from(value, '');
  const type = root.required('type');
  if (typeof type !== 'string') throw invalidField('type', 'expected a string');
  const f = root.withPath(type);
  switch (type) {
    case 'open':
      return readOpen(f);
    case 'task':
      return readTask(f);
    case 'result':
      return readResult(f);
    case 'nack':
      return readNack(f);
    case 'error':
      return readError(f);
    case 'close':
      return readClose(f);
    case 'step':
      return readStep(f);
    case 'answer':
      return readAnswer(f);
    case 'chunk':
      return readChunkMessage(f);
    case 'done':
      return readDone(f);
    default:
      throw new ProtocolError(
        ErrorCode.UnknownType,
        `unknown control message type '${type.slice(0, 32)}'`,
      );
  }
}

/**
 * Decodes one control message. Errors: ERR_OVERSIZED (size, depth, item count, field
 * limits), ERR_TRUNCATED, ERR_MALFORMED (bad MessagePack, trailing bytes, non-map top
 * level), ERR_UNKNOWN_TYPE (message type or MessagePack ext type), ERR_INVALID_FIELD,
 * ERR_FORBIDDEN_KEY.
 */
export function decodeControl(bytes: Uint8Array, limits?: Partial<ControlLimits>): ControlMessage {
  const lim = resolveLimits(limits);
  if (bytes.length > lim.maxControlBytes) {
    throw new ProtocolError(
      ErrorCode.Oversized,
      `control message of ${bytes.length} bytes exceeds maxControlBytes ${lim.maxControlBytes}`,
    );
  }
  scanMsgpack(bytes, lim);
  let value: unknown;
  try {
    // A fresh view: msgpackr caches a `dataView` property on the array it is given, and the
    // caller's array must come back untouched.
    value = unpackr.unpack(bytes.subarray(0));
  } catch (err) {
    // The pre-scan should make this unreachable; never let a library error escape untyped.
    throw new ProtocolError(
      ErrorCode.Malformed,
      `MessagePack decode failed: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (!(value instanceof Map)) throw new ProtocolError(ErrorCode.Malformed, 'a control message must be a map');
  return validateControl(fromWire(value));
}

/**
 * Encodes a control message after validating it (so absent optionals, key order and
 * number forms are canonical). An invalid message, or one whose encoding exceeds
 * maxControlBytes, is a caller bug: ERR_INVALID_ARGUMENT.
 */
export function encodeControl(msg: ControlMessage, limits?: Partial<ControlLimits>): Uint8Array {
  const lim = resolveLimits(limits);
  let clean: ControlMessage;
  try {
    clean = validateControl(msg);
  } catch (err) {
    if (isProtocolError(err)) {
      throw new ProtocolError(ErrorCode.InvalidArgument, `cannot encode control message: ${err.message}`);
    }
    throw err;
  }
  let packed: Uint8Array;
  try {
    packed = packr.pack(toWire(clean));
  } catch (err) {
    throw new ProtocolError(
      ErrorCode.InvalidArgument,
      `MessagePack encode failed: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (packed.length > lim.maxControlBytes) {
    throw new ProtocolError(
      ErrorCode.InvalidArgument,
      `encoded control message of ${packed.length} bytes exceeds maxControlBytes ${lim.maxControlBytes}`,
    );
  }
  // Copy out of msgpackr's shared, reused buffer into a plain Uint8Array we own.
  return new Uint8Array(packed);
}

export type { ChunkSetFields } from './nack.ts';
export type { CloseMessage } from './close.ts';
export type { ErrorMessage } from './error.ts';
export type { NackMessage } from './nack.ts';
export type { Capabilities, CodebookPackRef, OpenMessage, PeerRole, ReliabilityMode } from './open.ts';
export type { ResultMessage } from './result.ts';
export type { TaskMessage } from './task.ts';
export type { StepMessage } from './step.ts';
export type { AnswerMessage } from './answer.ts';
export type { ChunkMessage, DoneMessage } from './chunk.ts';
export type { MsgpackScanLimits } from './msgpack-scan.ts';
export { scanMsgpack, DEFAULT_MSGPACK_SCAN_LIMITS } from './msgpack-scan.ts';
export { CONTROL_TYPE_CODES, CONTROL_WIRE_KEYS, wireKey } from './wire-keys.ts';
export { PEER_ROLES, PROTOCOL_VERSION, RELIABILITY_MODES } from './open.ts';
