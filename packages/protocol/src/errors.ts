/**
 * Every failure the protocol reports on bad input is a ProtocolError with a stable `code`.
 * Callers branch on `code`, never on message text; messages carry context for humans
 * ("need 12 bytes, have 7").
 */
export const ErrorCode = {
  /** Input ended before a complete structure was read. */
  Truncated: 'ERR_TRUNCATED',
  /** A declared length, count or value exceeds a configured limit. */
  Oversized: 'ERR_OVERSIZED',
  /** Bytes do not form a valid structure (bad varint, reserved bits set, trailing bytes...). */
  Malformed: 'ERR_MALFORMED',
  /** A version this implementation does not speak. */
  UnsupportedVersion: 'ERR_UNSUPPORTED_VERSION',
  /** A message or field type that is not part of the protocol. */
  UnknownType: 'ERR_UNKNOWN_TYPE',
  /** A required field is absent or has the wrong type. */
  InvalidField: 'ERR_INVALID_FIELD',
  /** A key that could reach an object prototype (`__proto__`, `constructor`, `prototype`). */
  ForbiddenKey: 'ERR_FORBIDDEN_KEY',
  /** Decoded tokens do not match the checksum the sender computed. */
  ChecksumMismatch: 'ERR_CHECKSUM',
  /** The range decoder met a code value no encoder could have produced. */
  CorruptStream: 'ERR_CORRUPT_STREAM',
  /** A chunk that was already accepted arrived again. */
  Duplicate: 'ERR_DUPLICATE',
  /** Arguments that violate an API precondition (programming error, not bad wire data). */
  InvalidArgument: 'ERR_INVALID_ARGUMENT',
  /** A request or session did not finish within its deadline. */
  Timeout: 'ERR_TIMEOUT',
  /** The remote peer reported a failure (its code and message follow). */
  Remote: 'ERR_REMOTE',
  /** The connection to the peer closed or failed while a request was running. */
  ConnectionLost: 'ERR_CONNECTION_LOST',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.code = code;
    // Keep instanceof working when compiled to ES5-style classes or bundled twice.
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** True when `err` is a ProtocolError, optionally with the given code. */
export function isProtocolError(err: unknown, code?: ErrorCode): err is ProtocolError {
  return err instanceof ProtocolError && (code === undefined || err.code === code);
}
