export type { AnswerGenerator, ImageGenerationRequest, ImageStep, MaskedPredictor, SampledTokens, SampleOptions, TokenSampler } from './generator.ts';
export { digitSampler, generateImage, openAfterStep } from './maskgit.ts';
export { CLOUD_MODEL_ROLES, UnifiedModel } from './unified-model.ts';
export { cloudTextIds, parseCloudVocab } from './cloud-vocab.ts';
export type { CloudVocab } from './cloud-vocab.ts';
export { CloudPeer } from './cloud-peer.ts';
export type { CloudEvent, CloudModels, CloudPeerOptions, ReadinessPolicy } from './cloud-peer.ts';
export { checkCompatible, cloudModels } from './models.ts';
