import { connectSignaling } from '@unimic/signaling';
import { WeriftPeer, type IceOptions, type TokensReliability } from '@unimic/transport';
import type { OpenMessage } from '@unimic/protocol';
import { EdgePeer, type EdgePeerOptions } from './edge-peer.ts';
import { setUpEdgeTransport, type EdgeSetupOptions } from './setup.ts';

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

export interface EdgeConnection {
  readonly edge: EdgePeer;
  readonly transport: WeriftPeer;
  readonly session: string;
  /** The cloud's `open`: its pack, models and tasks. */
  readonly cloud: OpenMessage;
  /** Signaling connect → protocol session open, ms. */
  readonly setupMs: number;
  /** Setup attempts it took (1: the first opened). */
  readonly setupAttempts: number;
  close(): Promise<void>;
}

export async function connectEdge(opts: EdgeConnectOptions): Promise<EdgeConnection> {
  const t0 = performance.now();
  const client = await connectSignaling(opts.signalingUrl, opts.token);
  let transport: WeriftPeer | undefined;
  try {
    const setup = await setUpEdgeTransport(client, () => new WeriftPeer({ role: 'offerer', tokens: opts.tokens ?? { mode: 'reliable' }, ...(opts.ice ?? {}) }), opts.setup);
    transport = setup.transport;
    const edge = new EdgePeer({ ...opts, transport });
    const cloud = await edge.open();
    const peer = transport;
    return {
      edge,
      cloud,
      transport: peer,
      session: setup.session,
      setupMs: performance.now() - t0,
      setupAttempts: setup.attempts,
      async close() {
        edge.close();
        await peer.close();
        client.close();
      },
    };
  } catch (err) {
    await transport?.close();
    client.close();
    throw err;
  }
}
