import { existsSync } from 'node:fs';
import path from 'node:path';
import { filter, type Subscription } from 'rxjs';
import { loadPack, type LoadedPack } from '@unimic/models';
import { folderReader } from '@unimic/models/node';
import { connectSignaling } from '@unimic/signaling';
import { WeriftPeer, negotiate, type NegotiationMessage } from '@unimic/transport';
import { sessionRelay } from '@unimic/session';
import { CloudPeer, type CloudPeerOptions } from './cloud-peer.ts';
import { CLOUD_MODEL_ROLES } from './unified-model.ts';

/*
 * A cloud worker in Node: registers with the signaling server, and for every session it is
 * assigned answers the edge's WebRTC offer (werift) and serves it with a CloudPeer.
 */

export interface CloudWorkerOptions extends Omit<CloudPeerOptions, 'transport'> {
  readonly signalingUrl: string;
  readonly token: string;
  readonly onSession?: (session: string, peer: CloudPeer) => void;
}

export interface CloudWorker {
  readonly id: string;
  /** Live peers by session id. */
  readonly peers: ReadonlyMap<string, CloudPeer>;
  close(): Promise<void>;
}

export async function startCloudWorker(opts: CloudWorkerOptions): Promise<CloudWorker> {
  const client = await connectSignaling(opts.signalingUrl, opts.token);
  await client.registerWorker();
  const peers = new Map<string, CloudPeer>();
  const transports = new Map<string, WeriftPeer>();
  const sub: Subscription = client.messages$.pipe(filter((m) => m.type === 'session-assigned')).subscribe((m) => {
    const session = (m as { session: string }).session;
    const transport = new WeriftPeer({ role: 'answerer' });
    transports.set(session, transport);
    negotiate(transport, sessionRelay<NegotiationMessage>(client, session))
      .then(() => {
        const peer = new CloudPeer({ ...opts, transport });
        peers.set(session, peer);
        opts.onSession?.(session, peer);
        transport.state$.subscribe((s) => {
          if (s === 'closed' || s === 'failed') {
            peer.close();
            peers.delete(session);
            transports.delete(session);
          }
        });
      })
      .catch(() => {
        transports.delete(session);
        void transport.close();
      });
  });
  return {
    id: client.id,
    peers,
    async close() {
      sub.unsubscribe();
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
