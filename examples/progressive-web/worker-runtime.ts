import type { InferenceSessionLike, Runtime, TensorLike } from '@unimic/models';
import type { PlainTensor, WorkerReply, WorkerRequest } from './worker-protocol.ts';

/*
 * A `Runtime` whose sessions live in a Web Worker (model-worker.ts). The model adapters cannot tell
 * the difference: tensors are plain data, `run` resolves with the worker's outputs. Inputs are
 * copied (structured clone), so callers may keep reusing their arrays; results are bit-identical
 * to running in place, since the worker runs the same wasm with the same options.
 */

export class ModelWorkerError extends Error {
  override readonly name = 'ModelWorkerError';
}

type Pending = { resolve(r: Extract<WorkerReply, { ok: true }>): void; reject(e: Error): void };
type Request = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export interface WorkerRuntime extends Runtime {
  terminate(): void;
}

export async function workerRuntime(scriptUrl: string, options: { wasmPaths: string; threads?: number }): Promise<WorkerRuntime> {
  const worker = new Worker(scriptUrl, { type: 'module', name: 'unimic-models' });
  const pending = new Map<number, Pending>();
  let next = 1;
  let dead: Error | null = null;
  worker.onmessage = (ev: MessageEvent<WorkerReply>) => {
    const r = ev.data;
    const p = pending.get(r.id);
    if (!p) return;
    pending.delete(r.id);
    if (r.ok) p.resolve(r);
    else p.reject(new ModelWorkerError(r.error));
  };
  worker.onerror = (ev) => {
    dead = new ModelWorkerError(`model worker failed: ${ev.message}`);
    for (const p of pending.values()) p.reject(dead);
    pending.clear();
  };
  const call = (req: Request) =>
    new Promise<Extract<WorkerReply, { ok: true }>>((resolve, reject) => {
      if (dead) return reject(dead);
      const id = next++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...req, id });
    });
  await call({ op: 'init', wasmPaths: options.wasmPaths, threads: options.threads ?? 1 });
  return {
    tensor: (type, data, dims) => ({ type, data, dims: [...dims] }) satisfies PlainTensor,
    async createSession(model): Promise<InferenceSessionLike> {
      const { session } = await call({ op: 'create', model });
      if (session === undefined) throw new ModelWorkerError('model worker returned no session');
      return {
        async run(feeds) {
          const plain: Record<string, PlainTensor> = {};
          for (const [name, t] of Object.entries(feeds)) plain[name] = { type: t.type, data: t.data as PlainTensor['data'], dims: t.dims };
          const { outputs } = await call({ op: 'run', session, feeds: plain });
          if (!outputs) throw new ModelWorkerError('model worker returned no outputs');
          return outputs as Record<string, TensorLike>;
        },
      };
    },
    terminate: () => worker.terminate(),
  };
}
