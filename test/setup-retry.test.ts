import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPack } from '@unimic/models';
import { folderReader } from '@unimic/models/node';
import { wasmRuntime } from '@unimic/models/wasm';
import { codingModels } from '@unimic/session';
import { cloudModels } from '@unimic/cloud-peer';
import { startCloudWorker, type CloudWorker } from '@unimic/cloud-peer/node';
import { EdgePeer, setUpEdgeTransport, type SetupAttemptInfo } from '@unimic/edge-peer';
import { connectSignaling, createSignalingServer, generateSecret, mintToken, type SignalingEvent, type SignalingServer } from '@unimic/signaling';
import { SetupError, WeriftPeer, retrySetup } from '@unimic/transport';

/*
 * Setup that wedges is tried again with a fresh peer. Real signaling, a real cloud worker, real
 * werift on loopback; the wedge is made on purpose: the first edge peer never applies the
 * cloud's answer (as a handshake that lost its keys never completes). The worker must drop that
 * half-negotiated peer when the edge leaves, and serve the reopened session.
 */

const root = path.resolve(import.meta.dirname, '..');
let server: SignalingServer | undefined;
let worker: CloudWorker | undefined;
afterEach(async () => {
  await worker?.close();
  await server?.close();
});

/** A werift offerer that ignores the answer: its negotiation can only time out. */
function wedgedPeer(): WeriftPeer {
  const peer = new WeriftPeer({ role: 'offerer', tokens: { mode: 'reliable' } });
  peer.acceptAnswer = async () => undefined;
  return peer;
}

describe('setup retry', () => {
  it('retrySetup: stops at the first success, gives every cause in SetupError, and honours shouldRetry', async () => {
    const seen: number[] = [];
    expect(await retrySetup({ attempts: 3, attemptTimeoutMs: 1000 }, async (n) => (n < 3 ? Promise.reject(new Error(`no ${n}`)) : n), { beforeRetry: (n) => void seen.push(n) })).toBe(3);
    expect(seen).toEqual([1, 2]);
    const all = await retrySetup({ attempts: 2, attemptTimeoutMs: 1000 }, async (n) => Promise.reject(new Error(`no ${n}`))).catch((e: unknown) => e);
    expect(all).toBeInstanceOf(SetupError);
    expect((all as SetupError).causes.map((e) => (e as Error).message)).toEqual(['no 1', 'no 2']);
    expect((all as SetupError).message).toMatch(/after 2 attempts: no 2/);
    const refused = await retrySetup({ attempts: 5, attemptTimeoutMs: 1000 }, async () => Promise.reject(new Error('refused')), { shouldRetry: () => false }).catch((e: SetupError) => e.causes.length);
    expect(refused).toBe(1);
    await expect(retrySetup({ attempts: 0, attemptTimeoutMs: 1000 }, async () => 1)).rejects.toThrow(RangeError);
  });

  it('a wedged first attempt: the edge leaves and reopens, the worker drops the stale peer and serves the new one', async () => {
    const secret = generateSecret();
    const events: SignalingEvent[] = [];
    server = await createSignalingServer({ port: 0, secret, onEvent: (e) => events.push(e) });
    const pack = await loadPack(folderReader(path.join(root, 'models/default')));
    const models = await codingModels(pack, wasmRuntime());
    worker = await startCloudWorker({
      signalingUrl: server.url,
      token: mintToken(secret, { role: 'cloud', sub: 'worker-retry' }),
      pack: { id: pack.manifest.id, sha256: pack.digest },
      models: await cloudModels(models, pack),
    });
    const client = await connectSignaling(server.url, mintToken(secret, { role: 'edge', sub: 'edge-retry' }));
    const made: WeriftPeer[] = [];
    const retries: SetupAttemptInfo[] = [];
    const setup = await setUpEdgeTransport(
      client,
      () => {
        const peer = made.length === 0 ? wedgedPeer() : new WeriftPeer({ role: 'offerer', tokens: { mode: 'reliable' } });
        made.push(peer);
        return peer;
      },
      { retry: { attempts: 3, attemptTimeoutMs: 1500 }, onRetry: (i) => retries.push(i) },
    );
    expect(setup.attempts).toBe(2);
    expect(retries.map((r) => [r.attempt, r.attempts, (r.error as Error).message])).toEqual([[1, 3, 'negotiation did not finish within 1500 ms']]);
    expect(made[0]?.state).toBe('closed');
    expect(setup.transport.state).toBe('open');
    // the protocol session opens on the second peer: the worker served it, and only it
    const edge = new EdgePeer({ transport: setup.transport, pack, models: models.list });
    const cloud = await edge.open();
    expect(cloud.pack.sha256).toBe(pack.digest);
    expect([...worker.peers.keys()]).toEqual(['edge-retry']);
    expect(events.filter((e) => e.event === 'session-closed').map((e) => e.cause)).toEqual(['edge-left']);
    edge.close();
    await setup.transport.close();
    client.close();
  }, 60_000);
});
