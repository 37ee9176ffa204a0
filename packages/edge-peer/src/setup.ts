import { signalRelay, type SignalingClient } from '@unimic/signaling/browser';
import { negotiate, retrySetup, SETUP_RETRY, type NegotiatingPeer, type SetupRetryPolicy } from '@unimic/transport/browser';

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
        await negotiate(peer, signalRelay(client, session), { timeoutMs: policy.attemptTimeoutMs });
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
