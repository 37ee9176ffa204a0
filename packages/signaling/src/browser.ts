/**
 * The browser-safe part of the package: protocol, errors and the client, with no `ws` and no node:
 * import. Pass the browser's WebSocket: `SignalingClient.connect(url, token, { webSocket: (u) => new WebSocket(u) })`.
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
export { signalRelay } from './signal-relay.ts';
export type { SignalingClientOptions, WebSocketLike, WebSocketFactory, ClientClose } from './client.ts';
