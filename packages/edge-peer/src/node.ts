import { connectSignaling } from '@unimic/signaling';
import { WeriftPeer, type IceOptions, type TokensReliability } from '@unimic/transport';
import type { EdgePeerOptions } from './edge-peer.ts';
import { openEdgeConnection, type EdgeConnectionOf, type EdgeSetupOptions } from './setup.ts';

/*
 * An edge in Node: opens a session through the signaling server (which assigns a free cloud
 * worker), connects with werift as the offerer and opens the protocol session.
 */

export interface EdgeConnectOptions extends Omit<EdgePeerOptions, 'transport'> {
  readonly signalingUrl: string;
  readonly token: string;
  readonly tokens?: TokensReliability;
  /** Which link ICE uses (default: loopback only). */
  readonly ice?: IceOptions;
  /** Setup attempts (a wedged handshake is retried with a fresh peer) and progress. */
  readonly setup?: EdgeSetupOptions;
}

export type EdgeConnection = EdgeConnectionOf<WeriftPeer>;

export async function connectEdge(opts: EdgeConnectOptions): Promise<EdgeConnection> {
  const t0 = performance.now();
  const client = await connectSignaling(opts.signalingUrl, opts.token);
  const makePeer = () => new WeriftPeer({ role: 'offerer', tokens: opts.tokens ?? { mode: 'reliable' }, ...(opts.ice ?? {}) });
  return openEdgeConnection(client, makePeer, opts, opts.setup, t0);
}
