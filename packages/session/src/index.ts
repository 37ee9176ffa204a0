export { MAX_OUTPAINT_AMOUNT, planRequest, uploadContextStages, windowContext } from './plan.ts';
export type { RequestPlan } from './plan.ts';
export { StageReceiver } from './receiver.ts';
export type { ChunkFailure, ModelTable, StageSource, StageUpdate } from './receiver.ts';
export { ChunkStore } from './sender.ts';
export type { StageToSend } from './sender.ts';
export { SESSION_MODEL_ROLES, sessionModels } from './models.ts';
export type { SessionModels } from './models.ts';
export { sessionRelay } from './relay.ts';
