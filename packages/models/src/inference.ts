/**
 * The narrow slice of an ONNX runtime the model adapters use, so the same adapter runs on
 * onnxruntime-node, onnxruntime-web in Node, or onnxruntime-web in the browser (injected, never
 * imported here).
 */
export interface TensorLike {
  readonly data: unknown;
  readonly dims: readonly number[];
  readonly type: string;
}

export interface InferenceSessionLike {
  run(feeds: Record<string, TensorLike>): Promise<Record<string, TensorLike>>;
}

/** Builds runtime tensors (the runtime's own Tensor class). */
export type TensorFactory = (type: 'float32' | 'int32' | 'int64', data: Float32Array | Int32Array | BigInt64Array, dims: readonly number[]) => TensorLike;

export interface Runtime {
  /** A session over the model's bytes. */
  createSession(model: Uint8Array): Promise<InferenceSessionLike>;
  tensor: TensorFactory;
}

/** Time spent inside model runs, for latency breakdowns. */
export interface InferenceClock {
  ms: number;
  runs: number;
}

/** The same runtime, adding the wall time of every `run` to `clock`. */
export function timedRuntime(runtime: Runtime, clock: InferenceClock): Runtime {
  return {
    tensor: runtime.tensor,
    async createSession(model) {
      const s = await runtime.createSession(model);
      return {
        async run(feeds) {
          const t0 = performance.now();
          try {
            return await s.run(feeds);
          } finally {
            clock.ms += performance.now() - t0;
            clock.runs++;
          }
        },
      };
    },
  };
}
