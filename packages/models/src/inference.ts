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
