export { EdgePeer } from './edge-peer.ts';
export type { EdgeEvent, EdgePeerOptions, EdgeTask, SizedGrid } from './edge-peer.ts';
