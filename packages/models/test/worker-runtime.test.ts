import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPack, type LoadedPack, type Runtime, type InferenceSessionLike } from '../src/index.ts';
import { folderReader, nativeRuntime, workerRuntime } from '../src/node.ts';

const root = path.resolve(import.meta.dirname, '../../..');
const cloudDir = process.env.UNIMIC_CLOUD_PACK ?? path.join(root, 'models/cloud');

describe.skipIf(!existsSync(path.join(cloudDir, 'manifest.json')))('workerRuntime (onnxruntime-node on a worker thread)', () => {
  const worker = workerRuntime(2);
  let pack: LoadedPack;
  afterAll(() => worker.close());

  const feeds = (rt: Runtime, seed: number) => {
    const text = Int32Array.from({ length: 32 }, (_, i) => (i < 6 ? 5 + ((seed * 7 + i * 13) % 900) : 0));
    const tokens = Int32Array.from({ length: 256 }, (_, i) => (i % 3 === 0 ? 8192 : (seed * 31 + i * 97) % 8192));
    return { text: rt.tensor('int32', text, [1, 32]), tokens: rt.tensor('int32', tokens, [1, 256]), answer: rt.tensor('int32', new Int32Array(8), [1, 8]) };
  };

  it('gives the native runtime’s outputs bit for bit (the cloud model’s backbone)', async () => {
    pack = await loadPack(folderReader(cloudDir), ['cloud.backbone']);
    const bytes = pack.files.get('cloud.backbone') as Uint8Array;
    const native = nativeRuntime(2);
    const a = await native.createSession(bytes);
    const b = await worker.createSession(bytes);
    for (const seed of [1, 2]) {
      const x = await a.run(feeds(native, seed));
      const y = await b.run(feeds(worker, seed));
      expect(Object.keys(y).sort()).toEqual(Object.keys(x).sort());
      for (const k of Object.keys(x)) {
        expect(y[k]?.dims).toEqual(x[k]?.dims);
        expect(Buffer.from((y[k]?.data as Float32Array).buffer).equals(Buffer.from((x[k]?.data as Float32Array).buffer))).toBe(true);
      }
    }
  });

  it('leaves the calling thread free while the model runs (native blocks it)', async () => {
    const bytes = pack.files.get('cloud.backbone') as Uint8Array;
    // event-loop turns that complete while one run is in flight
    const turnsDuring = async (s: InferenceSessionLike, rt: Runtime) => {
      let turns = 0;
      let running = true;
      const spin = () => running && (turns++, setImmediate(spin));
      setImmediate(spin);
      await s.run(feeds(rt, 3));
      running = false;
      return turns;
    };
    const native = nativeRuntime(2);
    const viaNative = await turnsDuring(await native.createSession(bytes), native);
    const viaWorker = await turnsDuring(await worker.createSession(bytes), worker);
    expect(viaNative).toBeLessThanOrEqual(2);
    expect(viaWorker).toBeGreaterThan(10);
  });

  it('turns a failing run into a rejected promise, and a closed runtime into errors', async () => {
    const s = await worker.createSession(pack.files.get('cloud.backbone') as Uint8Array);
    await expect(s.run({ tokens: worker.tensor('int32', new Int32Array(3), [1, 3]) })).rejects.toThrow(/onnxruntime worker/);
    const other = workerRuntime(1);
    await other.close();
    await expect(other.createSession(new Uint8Array(4))).rejects.toThrow(/closed|exited/);
  });
});
