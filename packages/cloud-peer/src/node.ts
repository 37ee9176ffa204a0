import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Subscription } from 'rxjs';
import { loadPack, type LoadedPack } from '@unimic/models';
import { folderReader } from '@unimic/models/node';
import { connectSignaling, signalRelay, type SignalingClient } from '@unimic/signaling';
import { WeriftPeer, negotiate, type IceOptions } from '@unimic/transport';
import { CloudPeer, type CloudPeerOptions } from './cloud-peer.ts';
import { CLOUD_MODEL_ROLES } from './unified-model.ts';

/*
 * A cloud worker in Node: registers with the signaling server, and for every session it is
 * assigned answers the edge's WebRTC offer (werift) and serves it with a CloudPeer.
 */

export interface CloudWorkerOptions extends Omit<CloudPeerOptions, 'transport'> {
  readonly signalingUrl: string;
  /**
   * A token authenticates one connection (signaling refuses replays), so re-registering with the
   * same server needs a fresh one: pass a function that mints one per connection. A plain string
   * serves the first registration, and re-registration after a signaling restart (a new server
   * has not seen it) while it has not expired.
   */
  readonly token: string | (() => string | Promise<string>);
  readonly onSession?: (session: string, peer: CloudPeer) => void;
  /** Which link ICE uses (default: loopback only). */
  readonly ice?: IceOptions;
  /** Each (re-)registration with signaling, with the worker id it got. */
  readonly onRegistered?: (workerId: string) => void;
  /** A failed re-registration attempt (the worker keeps trying with backoff). */
  readonly onRegisterError?: (err: unknown) => void;
}

export interface CloudWorker {
  /** The worker id of the current registration (a new one after each re-registration). */
  readonly id: string;
  /** Live peers by session id. */
  readonly peers: ReadonlyMap<string, CloudPeer>;
  close(): Promise<void>;
}

/** Re-registration after a signaling drop: first retry after this, doubling up to the max. */
export const REREGISTER_BACKOFF = Object.freeze({ firstMs: 100, maxMs: 5_000 });

/**
 * Starts a worker. Registration heals: when the signaling connection drops (a signaling restart,
 * or the server declaring a busy worker dead), the worker connects and registers again with
 * backoff, while its established WebRTC sessions go on untouched.
 */
export async function startCloudWorker(opts: CloudWorkerOptions): Promise<CloudWorker> {
  const peers = new Map<string, CloudPeer>();
  const transports = new Map<string, WeriftPeer>();
  let closing = false;
  let client: SignalingClient;
  let sub: Subscription | undefined;

  /** Negotiations in flight by session: a session closed before it opened abandons its own. */
  const negotiating = new Map<string, { transport: WeriftPeer; abort: AbortController }>();

  const serve = (c: SignalingClient) => {
    sub?.unsubscribe();
    sub = c.messages$.subscribe((m) => {
      if (m.type === 'session-closed') negotiating.get(m.session)?.abort.abort();
      if (m.type !== 'session-assigned') return;
      const session = m.session;
      // an edge retrying setup reopens the same session id: the old attempt is closed first
      negotiating.get(session)?.abort.abort();
      const transport = new WeriftPeer({ role: 'answerer', ...(opts.ice ?? {}) });
      const attempt = { transport, abort: new AbortController() };
      negotiating.set(session, attempt);
      transports.set(session, transport);
      negotiate(transport, signalRelay(c, session), { signal: attempt.abort.signal })
        .then(() => {
          const peer = new CloudPeer({ ...opts, transport });
          peers.set(session, peer);
          opts.onSession?.(session, peer);
          transport.state$.subscribe((s) => {
            if (s === 'closed' || s === 'failed') {
              peer.close();
              if (peers.get(session) === peer) peers.delete(session);
              if (transports.get(session) === transport) transports.delete(session);
            }
          });
        })
        .catch(() => {
          if (transports.get(session) === transport) transports.delete(session);
          void transport.close();
        })
        .finally(() => {
          if (negotiating.get(session) === attempt) negotiating.delete(session);
        });
    });
    void c.closed.then(() => {
      if (!closing) void reconnect();
    });
  };

  const register = async (): Promise<SignalingClient> => {
    const token = typeof opts.token === 'function' ? await opts.token() : opts.token;
    const c = await connectSignaling(opts.signalingUrl, token);
    try {
      await c.registerWorker();
    } catch (err) {
      c.close();
      throw err;
    }
    return c;
  };

  const reconnect = async () => {
    for (let wait: number = REREGISTER_BACKOFF.firstMs; !closing; wait = Math.min(wait * 2, REREGISTER_BACKOFF.maxMs)) {
      await new Promise((r) => setTimeout(r, wait));
      if (closing) return;
      try {
        client = await register();
        if (closing) return client.close();
        opts.onRegistered?.(client.id);
        return serve(client);
      } catch (err) {
        opts.onRegisterError?.(err);
      }
    }
  };

  client = await register();
  opts.onRegistered?.(client.id);
  serve(client);
  return {
    get id() {
      return client.id;
    },
    peers,
    async close() {
      closing = true;
      sub?.unsubscribe();
      for (const p of peers.values()) p.close();
      await Promise.all([...transports.values()].map((t) => t.close()));
      client.close();
    },
  };
}

/**
 * The cloud pack in `dir` (its generative model), or undefined when the folder holds none: a
 * cloud without it still serves every image task with the coding pack's models, but no VQA.
 */
export async function loadCloudPack(dir: string): Promise<LoadedPack | undefined> {
  if (!existsSync(path.join(dir, 'manifest.json'))) return undefined;
  return loadPack(folderReader(dir), [...CLOUD_MODEL_ROLES]);
}
