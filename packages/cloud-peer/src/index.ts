export type { ImageGenerationRequest, ImageStep, MaskedPredictor } from './generator.ts';
export { generateImage, openAfterStep } from './maskgit.ts';
export { CloudPeer } from './cloud-peer.ts';
export type { AnswerGenerator, CloudEvent, CloudModels, CloudPeerOptions, ReadinessPolicy } from './cloud-peer.ts';
