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
  /** Wall time during which at least one run was in flight (runs on a worker thread can overlap). */
  ms: number;
  runs: number;
}

/** Runs in flight per clock, and since when the clock has been busy. */
const inFlight = new WeakMap<InferenceClock, { count: number; since: number }>();

/** The same runtime, adding the wall time of its runs to `clock` (overlapping runs count once). */
export function timedRuntime(runtime: Runtime, clock: InferenceClock): Runtime {
  return {
    tensor: runtime.tensor,
    async createSession(model) {
      const s = await runtime.createSession(model);
      return {
        async run(feeds) {
          let busy = inFlight.get(clock);
          if (!busy) inFlight.set(clock, (busy = { count: 0, since: 0 }));
          if (busy.count++ === 0) busy.since = performance.now();
          try {
            return await s.run(feeds);
          } finally {
            if (--busy.count === 0) clock.ms += performance.now() - busy.since;
            clock.runs++;
          }
        },
      };
    },
  };
}
