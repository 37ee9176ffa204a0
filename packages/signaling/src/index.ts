/**
 * @unimic/signaling: the ws signaling server (Node), its client, and the signed tokens.
 * The browser-safe subset (no ws, no node:crypto) is `@unimic/signaling/browser`.
 */
// Everything browser-safe (protocol, errors, client) is listed once, in browser.ts.
export * from './browser.ts';
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
export type { SignalingServer, SignalingServerOptions } from './server.ts';
export type { SignalingEvent, SignalingEventName, SessionEndCause } from './events.ts';
export { formatEvent } from './log.ts';
