/** Stable error codes of the signaling protocol, sent in `error` messages and used as close reasons. */
export const SigCode = {
  AuthRequired: 'SIG_AUTH_REQUIRED',
  AuthInvalid: 'SIG_AUTH_INVALID',
  AuthExpired: 'SIG_AUTH_EXPIRED',
  AuthReplayed: 'SIG_AUTH_REPLAYED',
  AuthTimeout: 'SIG_AUTH_TIMEOUT',
  WrongRole: 'SIG_WRONG_ROLE',
  Malformed: 'SIG_MALFORMED',
  UnknownType: 'SIG_UNKNOWN_TYPE',
  TooLarge: 'SIG_TOO_LARGE',
  RateLimited: 'SIG_RATE_LIMITED',
  NotMember: 'SIG_NOT_MEMBER',
  NoWorker: 'SIG_NO_WORKER',
  Idle: 'SIG_IDLE',
} as const;
export type SigCode = (typeof SigCode)[keyof typeof SigCode];

/** Codes after which the server closes the connection (the rest are answered and survivable). */
export const FATAL_CODES: ReadonlySet<SigCode> = new Set<SigCode>([
  SigCode.AuthRequired, SigCode.AuthInvalid, SigCode.AuthExpired, SigCode.AuthReplayed, SigCode.AuthTimeout,
  SigCode.WrongRole, SigCode.Malformed, SigCode.UnknownType, SigCode.TooLarge, SigCode.RateLimited, SigCode.Idle,
]);

/** WebSocket close code for fatal protocol errors (4000-4999 is for applications). */
export const CLOSE_PROTOCOL_ERROR = 4000;

export class SignalingError extends Error {
  override readonly name = 'SignalingError';
  constructor(readonly code: SigCode, message: string) {
    super(`${code}: ${message}`);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}
