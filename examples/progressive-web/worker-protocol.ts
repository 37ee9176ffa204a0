/*
 * Messages between the page and its model worker (model-worker.ts): ONNX sessions created from
 * model bytes and run on plain tensors. Shared by both sides so the shapes cannot drift apart.
 */

/** A tensor as structured-clone data (what crosses postMessage). */
export interface PlainTensor {
  readonly type: string;
  readonly data: Float32Array | Int32Array | BigInt64Array;
  readonly dims: readonly number[];
}

export type WorkerRequest =
  | { readonly id: number; readonly op: 'init'; readonly wasmPaths: string; readonly threads: number }
  | { readonly id: number; readonly op: 'create'; readonly model: Uint8Array }
  | { readonly id: number; readonly op: 'run'; readonly session: number; readonly feeds: Readonly<Record<string, PlainTensor>> };

export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly session?: number; readonly outputs?: Readonly<Record<string, PlainTensor>> }
  | { readonly id: number; readonly ok: false; readonly error: string };
