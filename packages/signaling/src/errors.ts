/**
 * Every refusal of the signaling protocol has a stable `code` (callers branch on it, never on the
 * message text) and, when the connection ends because of it, a WebSocket close code. The table below
 * is the single source of truth: the server sends `{ type: 'error', code, message }` and then closes
 * with `close` when it is not null; the client maps both back to a `SignalingError`.
 *
 * Close codes: 4400 bad message, 4401 not authenticated, 4403 forbidden, 4408 timeout, 4429 rate
 * limited (4000–4999 are for applications, the last three digits echo HTTP); 1009 message too big,
 * 1007 invalid UTF-8 and 1002 framing errors are sent by ws itself (no error frame can precede them);
 * 1013 try again later; 1011 internal error.
 * No pure-logic import here: the browser build uses this file as is.
 */

export const SigCode = {
  // --- bad messages (close 4400) ---
  /** A text frame that is not JSON. */
  InvalidJson: 'SIG_INVALID_JSON',
  /** JSON, but not an object (array, string, number, null). */
  NotObject: 'SIG_NOT_OBJECT',
  /** `type` is a string but names no message of this direction. */
  UnknownType: 'SIG_UNKNOWN_TYPE',
  /** A required field (including `type`) is absent. */
  MissingField: 'SIG_MISSING_FIELD',
  /** A field that the message type does not have. */
  UnknownField: 'SIG_UNKNOWN_FIELD',
  /** A field of the wrong type, or out of its range or pattern. */
  InvalidField: 'SIG_INVALID_FIELD',
  /** A key that could reach an object prototype (`__proto__`, `constructor`, `prototype`). */
  ForbiddenKey: 'SIG_FORBIDDEN_KEY',
  /** A binary frame: the protocol is JSON text only. */
  BinaryFrame: 'SIG_BINARY_FRAME',
  // --- sent by ws itself while reading a frame (no error frame precedes the close) ---
  /** A message over `maxMessageBytes` (ws `maxPayload`, checked from the frame header). */
  TooLarge: 'SIG_TOO_LARGE',
  /** A text frame that is not valid UTF-8. */
  InvalidUtf8: 'SIG_INVALID_UTF8',
  /** Any other WebSocket framing error ws reports (reserved bits, bad opcode, unmasked frame...). */
  WsProtocol: 'SIG_WS_PROTOCOL',
  // --- authentication (close 4401) ---
  /** A message other than `hello` before authentication. */
  AuthRequired: 'SIG_AUTH_REQUIRED',
  /** The token is not `payload.signature` in base64url, too long, or its claims are invalid. */
  AuthMalformed: 'SIG_AUTH_MALFORMED',
  /** The signature does not match (forged, modified, or signed with another secret). */
  AuthInvalid: 'SIG_AUTH_INVALID',
  /** The token's `exp` has passed. */
  AuthExpired: 'SIG_AUTH_EXPIRED',
  /** The token lives longer than `maxTokenTtlMs` (tokens must be short-lived). */
  AuthTtl: 'SIG_AUTH_TTL',
  /** The token's `jti` was already used (a token is good for one connection). */
  AuthReplayed: 'SIG_AUTH_REPLAYED',
  // --- timeouts (close 4408) ---
  /** No `hello` within `authTimeoutMs`. */
  AuthTimeout: 'SIG_AUTH_TIMEOUT',
  /** No message within `idleTimeoutMs`. */
  IdleTimeout: 'SIG_IDLE_TIMEOUT',
  // --- forbidden (close 4403) ---
  /** The token's role may not do this (edge registering as a worker, cloud opening a session...). */
  WrongRole: 'SIG_WRONG_ROLE',
  // --- limits ---
  /** More messages than the token bucket allows (close 4429). */
  RateLimited: 'SIG_RATE_LIMITED',
  /** `maxConnections` connections are open already (close 1013). */
  ServerFull: 'SIG_SERVER_FULL',
  // --- refused requests: answered, the connection stays open (close null) ---
  /** No registered worker is available with free capacity. */
  NoWorker: 'SIG_NO_WORKER',
  /** The session does not exist or the sender is not one of its two members. */
  NotMember: 'SIG_NOT_MEMBER',
  /** A session with this id is open already (the edge token's `sub` names the session). */
  SessionExists: 'SIG_SESSION_EXISTS',
  /** Another live connection is registered under this worker id. */
  DuplicateWorker: 'SIG_DUPLICATE_WORKER',
  /** Out of order: a second `hello`, `worker-status` before `register-worker`, registering twice. */
  BadState: 'SIG_BAD_STATE',
  // --- the server's own fault (close 1011): a bug, reported instead of crashing ---
  Internal: 'SIG_INTERNAL',
  // --- client side only (never sent by the server) ---
  /** The socket could not be opened. */
  ConnectFailed: 'SIG_CONNECT_FAILED',
  /** The socket closed (the close code and reason are in the message). */
  Closed: 'SIG_CLOSED',
  /** No answer from the server in time (client request timeout or keepalive). */
  Timeout: 'SIG_TIMEOUT',
} as const;

export type SigCode = (typeof SigCode)[keyof typeof SigCode];

export const CLOSE_BAD_MESSAGE = 4400;
export const CLOSE_UNAUTHENTICATED = 4401;
export const CLOSE_FORBIDDEN = 4403;
export const CLOSE_TIMEOUT = 4408;
export const CLOSE_RATE_LIMITED = 4429;
/** RFC 6455 codes used as they are. */
export const CLOSE_NORMAL = 1000;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_PROTOCOL_ERROR = 1002;
export const CLOSE_INVALID_PAYLOAD = 1007;
export const CLOSE_TOO_BIG = 1009;
export const CLOSE_INTERNAL_ERROR = 1011;
export const CLOSE_TRY_AGAIN_LATER = 1013;

/** The close code that follows each error, or null when the connection stays open. */
export const CLOSE_CODE_OF: Readonly<Record<SigCode, number | null>> = Object.freeze({
  SIG_INVALID_JSON: CLOSE_BAD_MESSAGE,
  SIG_NOT_OBJECT: CLOSE_BAD_MESSAGE,
  SIG_UNKNOWN_TYPE: CLOSE_BAD_MESSAGE,
  SIG_MISSING_FIELD: CLOSE_BAD_MESSAGE,
  SIG_UNKNOWN_FIELD: CLOSE_BAD_MESSAGE,
  SIG_INVALID_FIELD: CLOSE_BAD_MESSAGE,
  SIG_FORBIDDEN_KEY: CLOSE_BAD_MESSAGE,
  SIG_BINARY_FRAME: CLOSE_BAD_MESSAGE,
  SIG_TOO_LARGE: CLOSE_TOO_BIG,
  SIG_INVALID_UTF8: CLOSE_INVALID_PAYLOAD,
  SIG_WS_PROTOCOL: CLOSE_PROTOCOL_ERROR,
  SIG_AUTH_REQUIRED: CLOSE_UNAUTHENTICATED,
  SIG_AUTH_MALFORMED: CLOSE_UNAUTHENTICATED,
  SIG_AUTH_INVALID: CLOSE_UNAUTHENTICATED,
  SIG_AUTH_EXPIRED: CLOSE_UNAUTHENTICATED,
  SIG_AUTH_TTL: CLOSE_UNAUTHENTICATED,
  SIG_AUTH_REPLAYED: CLOSE_UNAUTHENTICATED,
  SIG_AUTH_TIMEOUT: CLOSE_TIMEOUT,
  SIG_IDLE_TIMEOUT: CLOSE_TIMEOUT,
  SIG_WRONG_ROLE: CLOSE_FORBIDDEN,
  SIG_RATE_LIMITED: CLOSE_RATE_LIMITED,
  SIG_SERVER_FULL: CLOSE_TRY_AGAIN_LATER,
  SIG_NO_WORKER: null,
  SIG_NOT_MEMBER: null,
  SIG_SESSION_EXISTS: null,
  SIG_DUPLICATE_WORKER: null,
  SIG_BAD_STATE: null,
  SIG_INTERNAL: CLOSE_INTERNAL_ERROR,
  SIG_CONNECT_FAILED: null,
  SIG_CLOSED: null,
  SIG_TIMEOUT: null,
});

const ALL_CODES: ReadonlySet<string> = new Set(Object.values(SigCode));

/** True when `s` is one of the codes above (used to validate error frames from a server). */
export function isSigCode(s: unknown): s is SigCode {
  return typeof s === 'string' && ALL_CODES.has(s);
}

/** Codes the server may put in an error frame (the client-only ones and the ws-level ones excluded). */
export const SERVER_SENT_CODES: ReadonlySet<SigCode> = new Set<SigCode>(
  (Object.values(SigCode) as SigCode[]).filter(
    (c) =>
      c !== SigCode.ConnectFailed &&
      c !== SigCode.Closed &&
      c !== SigCode.Timeout &&
      c !== SigCode.TooLarge &&
      c !== SigCode.InvalidUtf8 &&
      c !== SigCode.WsProtocol,
  ),
);

/** The error code a close code stands for when no error frame came first (ws-level closes). */
export function codeOfClose(closeCode: number): SigCode | null {
  switch (closeCode) {
    case CLOSE_TOO_BIG:
      return SigCode.TooLarge;
    case CLOSE_INVALID_PAYLOAD:
      return SigCode.InvalidUtf8;
    case CLOSE_PROTOCOL_ERROR:
      return SigCode.WsProtocol;
    default:
      return null;
  }
}

/**
 * A refusal with a stable `code`. `closeCode` is the WebSocket close code that goes with it, or null
 * when the connection survives.
 */
export class SignalingError extends Error {
  override readonly name = 'SignalingError';
  readonly code: SigCode;
  readonly closeCode: number | null;

  constructor(code: SigCode, message: string, closeCode: number | null = CLOSE_CODE_OF[code]) {
    super(`${code}: ${message}`);
    this.code = code;
    this.closeCode = closeCode;
    // Keep instanceof working when bundled twice or compiled to ES5-style classes.
    Object.setPrototypeOf(this, new.target.prototype);
  }

  /** The message without the `CODE: ` prefix (what goes into an error frame). */
  get detail(): string {
    return this.message.slice(this.code.length + 2);
  }
}

/** True when `err` is a SignalingError, optionally with the given code. */
export function isSignalingError(err: unknown, code?: SigCode): err is SignalingError {
  return err instanceof SignalingError && (code === undefined || err.code === code);
}
