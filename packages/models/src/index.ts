export { MODEL_ROLES, PACK_FORMAT, TENSOR_DTYPES, parseManifest } from './manifest.ts';
export type { ModelFile, ModelRole, PackManifest, TensorDtype, TensorSpec } from './manifest.ts';
export { loadPack, sha256Hex } from './load.ts';
export type { LoadedPack, PackReader } from './load.ts';
