export { MAX_OUTPAINT_AMOUNT, planRequest, uploadContextStages, windowContext } from './plan.ts';
export type { RequestPlan } from './plan.ts';
export { DEFAULT_RECEIVER_LIMITS, StageReceiver } from './receiver.ts';
export type { ChunkFailure, ModelTable, ReceiverLimits, StageSource, StageUpdate } from './receiver.ts';
export { ChunkStore } from './sender.ts';
export type { StageToSend } from './sender.ts';
export { CONTEXT_FREE_MAX_CELLS, SESSION_MODEL_ROLES, hasTextModel, pickCodingModel, sessionModels } from './models.ts';
export type { SessionModels } from './models.ts';
