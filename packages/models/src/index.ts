export { ASSET_ROLES, MODEL_ROLES, PACK_FORMAT, TENSOR_DTYPES, parseManifest } from './manifest.ts';
export type { AssetFile, AssetRole, ModelFile, ModelRole, PackManifest, PackRole, TensorDtype, TensorSpec } from './manifest.ts';
export { loadPack, sha256Hex } from './load.ts';
export type { LoadedPack, PackReader } from './load.ts';
export type { InferenceSessionLike, Runtime, TensorFactory, TensorLike } from './inference.ts';
export { ImageTokenizer } from './tokenizer.ts';
export type { PlanarImage, TokenGrid } from './tokenizer.ts';
export { downscaleAndCrop, psnr } from './image.ts';
export * from './entropy/index.ts';
