export {
  CONTROL_LABEL,
  TOKENS_LABEL,
  DCEP_CHANNEL_TYPE,
  tokensChannelInit,
  reliabilityOf,
  validateReliability,
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
  WeriftPeer,
  DEFAULT_HEARTBEAT,
  isLoopbackAddress,
  candidateAddress,
  stripNonLoopbackCandidates,
  weriftConfig,
} from './werift-peer.ts';
export type { WeriftPeerOptions, HeartbeatOptions } from './werift-peer.ts';
export { connectInProcess, createPeerPair } from './in-process.ts';
export { installLossShim } from './loss-shim.ts';
export type { LossShim, LossShimOptions, LossShimStats } from './loss-shim.ts';
export { weriftPatchStatus } from './patch-status.ts';
export { negotiate } from './negotiate.ts';
export type { NegotiationMessage, SignalRelay } from './negotiate.ts';
