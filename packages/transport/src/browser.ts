/**
 * The browser entry of the transport: the interface, the browser's RTCPeerConnection as a
 * `PeerTransport`, and negotiate(). Nothing reachable from here imports werift or a node: module
 * (test/web-page.test.ts bundles it for `platform: 'browser'` and checks).
 */
export {
  CONTROL_LABEL,
  TOKENS_LABEL,
  DCEP_CHANNEL_TYPE,
  tokensChannelInit,
  reliabilityOf,
  validateReliability,
  parseTokensReliability,
} from './types.ts';
export type {
  ByteChannel,
  PeerTransport,
  TokensReliability,
  TransportState,
  SessionDescriptionJson,
  IceCandidateJson,
} from './types.ts';
export {
  BrowserPeer,
  BrowserTransportError,
  BrowserTransportCode,
  BROWSER_DEFAULT_HEARTBEAT,
  allowHostCandidates,
} from './browser-peer.ts';
export { isLoopbackUdpCandidate, keepLoopbackCandidates } from './candidates.ts';
export type { BrowserPeerOptions, BrowserHeartbeatOptions } from './browser-peer.ts';
export { NegotiationError, negotiate } from './negotiate.ts';
export type { NegotiateOptions, NegotiatingPeer, NegotiationMessage, SignalRelay } from './negotiate.ts';
export { SETUP_RETRY, SetupError, retrySetup, validateSetupRetry } from './setup-retry.ts';
export type { SetupRetryPolicy } from './setup-retry.ts';
