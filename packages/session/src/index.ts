/*
 * The request as both peers run it: the plan (what moves), the coding-context rule (what each
 * stage is coded against), the upload and generation-step senders and receivers, the chunk store
 * that answers NACKs, the limits both peers share, and the RxJS operators of the pipelines.
 * Pure: no transport, no timers beyond the operators' schedulers.
 */
export { MAX_OUTPAINT_AMOUNT, planRequest, windowContext } from './plan.ts';
export type { RequestPlan } from './plan.ts';
export { stepContext, stepsChain, uploadContextStages, uploadPrefix, uploadStageContext } from './context.ts';
export { DEFAULT_RECEIVER_LIMITS, StageReceiver, nackFor, readChunk } from './receiver.ts';
export type { ChunkFailure, DecodeResult, ModelTable, ReceivedChunk, ReceiverLimits, StageSource, StageUpdate } from './receiver.ts';
export { DecodeQueue } from './decode-queue.ts';
export { ChunkStore } from './chunk-store.ts';
export type { StageToSend } from './chunk-store.ts';
export { UploadReceiver, UploadSender } from './upload.ts';
export { StepReceiver, StepSender } from './steps.ts';
export type { GeneratedStep } from './steps.ts';
export { EarlyChunks } from './early-chunks.ts';
export type { EarlyChunkLimits } from './early-chunks.ts';
export { SESSION_LIMITS } from './limits.ts';
export { CONTEXT_FREE_MAX_CELLS, CODING_MODEL_ROLES, codingPrompt, hasTextModel, pickCodingModel, codingModels } from './models.ts';
export type { RequestCoding, CodingModels } from './models.ts';
export { decodeInArrivalOrder } from './operators/decode-in-arrival-order.ts';
export { readyToGenerate } from './operators/ready-to-generate.ts';
export type { Readiness, UploadProgress } from './operators/ready-to-generate.ts';
export { oneAhead } from './operators/one-ahead.ts';
