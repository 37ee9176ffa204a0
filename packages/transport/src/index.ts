/**
 * The Node entry of the transport: everything the browser entry exports (the interface, BrowserPeer,
 * negotiate()), plus the werift peer and the Node-only test and diagnostics helpers.
 */
export * from './browser.ts';
export { WeriftPeer, DEFAULT_HEARTBEAT, weriftConfig, iceOptionsFromEnv } from './werift-peer.ts';
export { isLoopbackAddress, candidateAddress, stripNonLoopbackCandidates } from './candidates.ts';
export type { WeriftPeerOptions, HeartbeatOptions, IceOptions } from './werift-peer.ts';
export { connectInProcess, createPeerPair } from './in-process.ts';
export { installLossShim } from './loss-shim.ts';
export type { LossShim, LossShimOptions, LossShimStats } from './loss-shim.ts';
export { weriftPatchStatus } from './patch-status.ts';
