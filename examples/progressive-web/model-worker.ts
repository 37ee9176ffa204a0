/*
 * The page's model worker (bundled by server.ts as /model-worker.js): every ONNX run of the edge
 * happens here, on the same onnxruntime-web wasm runtime with the same session options as in Node
 * (`wasmRuntime`), so the page's main thread stays free. That matters beyond smoothness: the main
 * thread sends the WebRTC heartbeat, and a tokenizer or preview run that kept it busy for more
 * than 1.5 s (measured: up to 3.4 s on the 2-core machine) made the cloud declare the page lost.
 */
import { wasmRuntime } from '@unimic/models/wasm';
import type { InferenceSessionLike, Runtime, TensorLike } from '@unimic/models';
import type { PlainTensor, WorkerReply, WorkerRequest } from './worker-protocol.ts';

interface WorkerScope {
  onmessage: ((ev: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerReply): void;
}
const scope = globalThis as unknown as WorkerScope;

let runtime: Runtime | null = null;
const sessions: InferenceSessionLike[] = [];

async function handle(m: WorkerRequest): Promise<WorkerReply> {
  switch (m.op) {
    case 'init':
      runtime = wasmRuntime({ wasmPaths: m.wasmPaths, threads: m.threads });
      return { id: m.id, ok: true };
    case 'create': {
      if (!runtime) throw new Error('model worker: init first');
      sessions.push(await runtime.createSession(m.model));
      return { id: m.id, ok: true, session: sessions.length - 1 };
    }
    case 'run': {
      const session = sessions[m.session];
      if (!runtime || !session) throw new Error(`model worker: no session ${m.session}`);
      const rt = runtime;
      const feeds: Record<string, TensorLike> = {};
      for (const [name, t] of Object.entries(m.feeds)) feeds[name] = rt.tensor(t.type as 'float32' | 'int32' | 'int64', t.data, t.dims);
      const out = await session.run(feeds);
      const outputs: Record<string, PlainTensor> = {};
      for (const [name, t] of Object.entries(out)) outputs[name] = { type: t.type, data: t.data as PlainTensor['data'], dims: [...t.dims] };
      return { id: m.id, ok: true, outputs };
    }
  }
}

scope.onmessage = (ev) => {
  const m = ev.data;
  handle(m).then(
    (reply) => scope.postMessage(reply),
    (err: unknown) => scope.postMessage({ id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
};
