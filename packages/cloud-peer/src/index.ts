export type { ImageGenerationRequest, ImageStep, MaskedPredictor } from './generator.ts';
export { generateImage, openAfterStep } from './maskgit.ts';
