import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPack } from '@unimic/models';
import { folderReader } from '@unimic/models/node';
import { wasmRuntime } from '@unimic/models/wasm';
import { codingModels } from '@unimic/session';
import { cloudModels } from '@unimic/cloud-peer';
import { startCloudWorker, type CloudWorker } from '@unimic/cloud-peer/node';
import { connectSignaling, createSignalingServer, generateSecret, mintToken, type SignalingEvent, type SignalingServer } from '@unimic/signaling';

/*
 * Registration that heals: a real signaling server is stopped and started again on the same port
 * (as a restart is), and a real cloud worker must be back in its registry within 5 s; an edge
 * then gets a session assigned. The worker mints a fresh token per connection (tokens are one
 * connection each).
 */

const root = path.resolve(import.meta.dirname, '..');
let servers: SignalingServer[] = [];
let worker: CloudWorker | undefined;
afterEach(async () => {
  await worker?.close();
  for (const s of servers) await s.close().catch(() => undefined);
  servers = [];
});

describe('cloud worker registration', () => {
  it('comes back within 5 s of a signaling restart on the same port, and serves new sessions', async () => {
    const secret = generateSecret();
    const events: SignalingEvent[] = [];
    const first = await createSignalingServer({ port: 0, secret, onEvent: (e) => events.push(e) });
    servers.push(first);
    const { port } = first.address;
    const pack = await loadPack(folderReader(path.join(root, 'models/default')));
    const models = await codingModels(pack, wasmRuntime());
    const registered: string[] = [];
    worker = await startCloudWorker({
      signalingUrl: first.url,
      token: () => mintToken(secret, { role: 'cloud', sub: 'worker-heal' }),
      pack: { id: pack.manifest.id, sha256: pack.digest },
      models: await cloudModels(models, pack),
      onRegistered: (id) => registered.push(id),
    });
    expect(registered).toHaveLength(1);

    await first.close();
    const restartedAt = performance.now();
    const second = await createSignalingServer({ port, secret, onEvent: (e) => events.push(e) });
    servers.push(second);
    while (registered.length < 2 && performance.now() - restartedAt < 5_000) await new Promise((r) => setTimeout(r, 20));
    expect(registered.length).toBeGreaterThanOrEqual(2);
    expect(performance.now() - restartedAt).toBeLessThan(5_000);

    // a new edge gets a session on the re-registered worker
    const edge = await connectSignaling(second.url, mintToken(secret, { role: 'edge', sub: 'edge-after-restart' }));
    const session = await edge.openSession();
    expect(typeof session).toBe('string');
    edge.close();
  }, 60_000);
});
