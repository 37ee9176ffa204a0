export { EdgePeer } from './edge-peer.ts';
export type { EdgeEvent, EdgePeerOptions, EdgeTask, SizedGrid } from './edge-peer.ts';
export { PreviewRenderer, fillUnknown } from './preview.ts';
export type { FillModel } from './preview.ts';
export { setUpEdgeTransport } from './setup.ts';
export type { EdgeSetup, EdgeSetupOptions, SetupAttemptInfo } from './setup.ts';
