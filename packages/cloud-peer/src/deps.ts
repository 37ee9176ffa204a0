// Re-exports of the workspace packages this one builds on, in one place.
export { UNKNOWN, modelInputTokens, yieldToEventLoop } from '@unimic/models';
export type { InferenceSessionLike, LoadedPack, LogitsPrediction, PlanarImage, Runtime, TensorLike } from '@unimic/models';
export { ErrorCode, ProtocolError, createRng } from '@unimic/protocol';
export type { TokenPlanes } from '@unimic/protocol';
