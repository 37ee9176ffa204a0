/**
 * onnxruntime-node in a worker thread, as a Runtime.
 *
 * onnxruntime-node runs a model synchronously on the calling thread (its `run` only defers the call
 * with `setImmediate`), so a 60–160 ms generation step blocks the event loop for as long: a cloud
 * could not decode an arriving upload stage, or send a coded step, while its model ran. Behind this
 * runtime the model runs on its own thread and the peer's thread stays free. Same native kernels,
 * so the same outputs as `nativeRuntime` (tensors are copied between the threads, never converted).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { InferenceSessionLike, Runtime, TensorLike } from './inference.ts';

// CommonJS, evaluated in the worker: a file would need a TypeScript loader in every host (tsx, vitest)
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
const sessions = [];
parentPort.on('message', async (m) => {
  try {
    if (m.op === 'create') {
      sessions.push(await ort.InferenceSession.create(m.model, { intraOpNumThreads: workerData.threads, executionProviders: ['cpu'] }));
      parentPort.postMessage({ id: m.id, session: sessions.length - 1 });
      return;
    }
    const feeds = {};
    for (const [k, t] of Object.entries(m.feeds)) feeds[k] = new ort.Tensor(t.type, t.data, t.dims);
    const out = await sessions[m.session].run(feeds);
    const res = {};
    const transfer = [];
    for (const [k, t] of Object.entries(out)) {
      const data = t.data.slice(); // the runtime may own the output's memory: send a copy we can move
      res[k] = { type: t.type, data, dims: t.dims };
      transfer.push(data.buffer);
    }
    parentPort.postMessage({ id: m.id, out: res }, transfer);
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String((e && e.message) || e) });
  }
});
`;

export interface WorkerRuntime extends Runtime {
  /** Stops the worker; runs in flight fail. */
  close(): Promise<void>;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

export function workerRuntime(threads = 2): WorkerRuntime {
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  const pending = new Map<number, Pending>();
  let nextId = 0;
  let failure: Error | undefined;
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath, threads } });
  // the worker keeps the process alive only while a call is in flight
  worker.unref();
  const failAll = (err: Error) => {
    failure ??= err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on('message', (m: { id: number; error?: string; session?: number; out?: Record<string, TensorLike> }) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (pending.size === 0) worker.unref();
    if (m.error !== undefined) p.reject(new Error(`onnxruntime worker: ${m.error}`));
    else p.resolve(m.out ?? m.session);
  });
  worker.on('error', (err) => failAll(err));
  worker.on('exit', (code) => failAll(new Error(`onnxruntime worker exited (${code})`)));
  const call = (msg: Record<string, unknown>): Promise<unknown> => {
    if (failure) return Promise.reject(failure);
    const id = nextId++;
    worker.ref();
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...msg, id });
    });
  };
  return {
    tensor: (type, data, dims) => ({ type, data, dims: [...dims] }),
    async createSession(model: Uint8Array): Promise<InferenceSessionLike> {
      const session = (await call({ op: 'create', model })) as number;
      return {
        run: async (feeds) => (await call({ op: 'run', session, feeds: Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, { type: t.type, data: t.data, dims: t.dims }])) })) as Record<string, TensorLike>,
      };
    },
    async close() {
      failAll(new Error('onnxruntime worker closed'));
      await worker.terminate();
    },
  };
}
