import type { OpenMessage } from '@unimic/protocol';
import { signalRelay, type SignalingClient } from '@unimic/signaling/browser';
import { negotiate, retrySetup, SETUP_RETRY, type NegotiatingPeer, type PeerTransport, type SetupRetryPolicy, type SignalRelay } from '@unimic/transport/browser';
import { EdgePeer, type EdgePeerOptions } from './edge-peer.ts';

/*
 * The edge's half of connection setup, the same in Node and the browser: negotiate a fresh peer
 * over the signaling session, and when an attempt wedges (see setup-retry.ts in the transport)
 * leave the session, open it again (the worker drops its half on `session-closed` and answers
 * the new assignment with a fresh peer) and try once more.
 */

export interface SetupAttemptInfo {
  /** The attempt that failed (from 1). */
  readonly attempt: number;
  readonly attempts: number;
  readonly error: unknown;
}

export interface EdgeSetupOptions {
  readonly retry?: SetupRetryPolicy;
  /** Called before each retry: for progress lines ("setup: attempt 1 of 4 failed: …"). */
  readonly onRetry?: (info: SetupAttemptInfo) => void;
  /**
   * Wraps each attempt's signaling relay before negotiation sees it: the network lab rewrites
   * candidates there to put its impairment relay on the ICE path (lab/ice-path.ts).
   */
  readonly signals?: (relay: SignalRelay, attempt: number) => SignalRelay;
}

export interface EdgeSetup<P> {
  readonly transport: P;
  readonly session: string;
  /** Attempts it took (1 when the first one opened). */
  readonly attempts: number;
}

export async function setUpEdgeTransport<P extends NegotiatingPeer & { close(): Promise<void> }>(
  client: SignalingClient,
  makePeer: () => P,
  opts: EdgeSetupOptions = {},
): Promise<EdgeSetup<P>> {
  const policy = opts.retry ?? SETUP_RETRY;
  let session = await client.openSession();
  let attempts = 0;
  const transport = await retrySetup(
    policy,
    async (n) => {
      attempts = n;
      const peer = makePeer();
      try {
        const relay = signalRelay(client, session);
        await negotiate(peer, opts.signals ? opts.signals(relay, n) : relay, { timeoutMs: policy.attemptTimeoutMs });
        return peer;
      } catch (err) {
        await peer.close();
        throw err;
      }
    },
    {
      beforeRetry: async (n, error) => {
        opts.onRetry?.({ attempt: n, attempts: policy.attempts, error });
        // ordered on the socket: the worker sees session-closed before the new assignment
        client.leave(session);
        session = await client.openSession();
      },
    },
  );
  return { transport, session, attempts };
}

/** An open protocol session of an edge (`connectEdge` in Node, `connectEdgeBrowser` in a page). */
export interface EdgeConnectionOf<P> {
  readonly edge: EdgePeer;
  readonly transport: P;
  readonly session: string;
  /** The cloud's `open`: its pack, models and tasks. */
  readonly cloud: OpenMessage;
  /** Signaling connect → protocol session open, ms. */
  readonly setupMs: number;
  /** Setup attempts it took (1: the first opened). */
  readonly setupAttempts: number;
  close(): Promise<void>;
}

/**
 * From a connected signaling client to an open protocol session: transport setup (with retry),
 * then `open`. Owns `client` from here: closes it, and the transport, on failure and on close().
 * @param t0 when connecting began (performance.now()), for setupMs
 */
export async function openEdgeConnection<P extends NegotiatingPeer & PeerTransport & { close(): Promise<void> }>(
  client: SignalingClient,
  makePeer: () => P,
  edgeOptions: Omit<EdgePeerOptions, 'transport'>,
  setupOptions: EdgeSetupOptions | undefined,
  t0: number,
): Promise<EdgeConnectionOf<P>> {
  let transport: P | undefined;
  try {
    const setup = await setUpEdgeTransport(client, makePeer, setupOptions);
    const peer = (transport = setup.transport);
    const edge = new EdgePeer({ ...edgeOptions, transport: peer });
    const cloud = await edge.open();
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
