import { connectSignaling, signalRelay } from '@unimic/signaling';
import { WeriftPeer, negotiate, type IceOptions, type TokensReliability } from '@unimic/transport';
import type { OpenMessage } from '@unimic/protocol';
import { EdgePeer, type EdgePeerOptions } from './edge-peer.ts';

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
}

export interface EdgeConnection {
  readonly edge: EdgePeer;
  readonly transport: WeriftPeer;
  readonly session: string;
  /** The cloud's `open`: its pack, models and tasks. */
  readonly cloud: OpenMessage;
  /** Signaling connect → protocol session open, ms. */
  readonly setupMs: number;
  close(): Promise<void>;
}

export async function connectEdge(opts: EdgeConnectOptions): Promise<EdgeConnection> {
  const t0 = performance.now();
  const client = await connectSignaling(opts.signalingUrl, opts.token);
  const session = await client.openSession();
  const transport = new WeriftPeer({ role: 'offerer', tokens: opts.tokens ?? { mode: 'reliable' }, ...(opts.ice ?? {}) });
  try {
    await negotiate(transport, signalRelay(client, session));
    const edge = new EdgePeer({ ...opts, transport });
    const cloud = await edge.open();
    return {
      edge,
      cloud,
      transport,
      session,
      setupMs: performance.now() - t0,
      async close() {
        edge.close();
        await transport.close();
        client.close();
      },
    };
  } catch (err) {
    await transport.close();
    client.close();
    throw err;
  }
}
