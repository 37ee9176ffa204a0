import * as ort from 'onnxruntime-web';
import type { InferenceSessionLike, Runtime, TensorLike } from './inference.ts';

/*
 * onnxruntime-web's wasm backend as a Runtime: the one runtime the entropy models run on, on both
 * peers, because its kernels give bit-identical floats in Node and in Chromium at any thread count
 * (docs/probes/ort-determinism) while native builds differ by CPU. The version is pinned exactly in
 * package.json and named in the pack (`runtime: onnxruntime-web-wasm@<version>`).
 */

export const ORT_WEB_VERSION: string = ort.env.versions.web ?? 'unknown';

export interface WasmRuntimeOptions {
  /** wasm threads (default 1: peers on small machines, and a second thread buys little here). */
  readonly threads?: number;
  /** Where the .wasm files are served from (browser); Node finds them in node_modules. */
  readonly wasmPaths?: string;
}

export function wasmRuntime(options: WasmRuntimeOptions = {}): Runtime {
  ort.env.wasm.numThreads = options.threads ?? 1;
  if (options.wasmPaths) ort.env.wasm.wasmPaths = options.wasmPaths;
  return {
    createSession: async (model) =>
      (await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' })) as unknown as InferenceSessionLike,
    tensor: (type, data, dims) => new ort.Tensor(type, data, dims as number[]) as unknown as TensorLike,
  };
}
