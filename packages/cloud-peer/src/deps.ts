// Re-exports of the workspace packages this one builds on, in one place.
export { UNKNOWN } from '@unimic/models';
export type { LogitsPrediction } from '@unimic/models';
export { ErrorCode, ProtocolError, createRng } from '@unimic/protocol';
export type { TokenPlanes } from '@unimic/protocol';
