/**
 * @unimic/signaling: the ws signaling server (Node), its client, and the signed tokens.
 * The browser-safe subset (no ws, no node:crypto) is `@unimic/signaling/browser`.
 */
export {
  SigCode,
  SignalingError,
  isSignalingError,
  isSigCode,
  codeOfClose,
  CLOSE_CODE_OF,
  SERVER_SENT_CODES,
  CLOSE_BAD_MESSAGE,
  CLOSE_UNAUTHENTICATED,
  CLOSE_FORBIDDEN,
  CLOSE_TIMEOUT,
  CLOSE_RATE_LIMITED,
  CLOSE_NORMAL,
  CLOSE_GOING_AWAY,
  CLOSE_PROTOCOL_ERROR,
  CLOSE_INVALID_PAYLOAD,
  CLOSE_TOO_BIG,
  CLOSE_INTERNAL_ERROR,
  CLOSE_TRY_AGAIN_LATER,
} from './errors.ts';
export {
  parseClientMessage,
  parseServerMessage,
  parseSignalData,
  encodeMessage,
  CLIENT_MESSAGE_TYPES,
  SERVER_MESSAGE_TYPES,
  SESSION_CLOSE_REASONS,
  ID_PATTERN,
  MAX_TOKEN_CHARS,
} from './messages.ts';
export type {
  ClientMessage,
  ClientMessageType,
  ServerMessage,
  ServerMessageType,
  SignalData,
  SessionDescriptionJson,
  IceCandidateJson,
  SessionCloseReason,
  ClientLimits,
  Role,
  WorkerStatus,
} from './messages.ts';
export { SignalingClient } from './client.ts';
export type { SignalingClientOptions, WebSocketLike, WebSocketFactory, ClientClose } from './client.ts';
export { connectSignaling } from './node.ts';
export type { NodeClientOptions } from './node.ts';
export { DEFAULT_LIMITS, LIMIT_NAMES, resolveLimits, TokenBucket } from './limits.ts';
export type { SignalingLimits } from './limits.ts';
export {
  mintToken,
  verifyToken,
  generateSecret,
  secretBytes,
  ReplayGuard,
  MIN_SECRET_BYTES,
  DEFAULT_TOKEN_TTL_MS,
} from './tokens.ts';
export type { TokenClaims, MintOptions, VerifyOptions } from './tokens.ts';
export { createSignalingServer } from './server.ts';
export type {
  SignalingServer,
  SignalingServerOptions,
  SignalingEvent,
  SignalingEventName,
  SessionEndCause,
} from './server.ts';
export { formatEvent } from './log.ts';
