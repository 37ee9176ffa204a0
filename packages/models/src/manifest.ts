import { ErrorCode, ProtocolError } from '@unimic/protocol';

/*
 * The model-pack manifest (`models/<pack>/manifest.json`): what a pack contains and the contract
 * each file honours, so a user can bring their own pack. Parsed strictly: unknown keys, wrong
 * types and missing fields are errors, never silently ignored. See docs/models.md.
 */

export const PACK_FORMAT = 'unimic-pack/1';

/** Roles a pack may fill; a session only uses the roles it needs. */
export const MODEL_ROLES = [
  'tokenizer.encoder',
  'tokenizer.decoder',
  // Entropy models come as a backbone (grid → per-position features, once per stage) and a head
  // (features → tables, once per plane): see docs/models.md.
  'entropy.autoregressive.backbone',
  'entropy.autoregressive.head',
  'entropy.masked.backbone',
  'entropy.masked.head',
  'entropy.text.backbone',
  'entropy.text.head',
  // The cloud's generative model (a cloud pack): a unified Transformer over [text; image; answer]
  // and its image head (features → 8192 logits). Only the cloud runs them: any runtime will do.
  'cloud.backbone',
  'cloud.image-head',
  // Evaluation only: the scene attribute classifier (text-to-image attribute accuracy; eval/scene-classifier.ts).
  'eval.scene-classifier',
] as const;
export type ModelRole = (typeof MODEL_ROLES)[number];

/** Non-ONNX files a pack may carry (JSON). */
export const ASSET_ROLES = ['entropy.static.counts', 'entropy.text.vocab', 'cloud.text.vocab', 'eval.scenes.spec'] as const;
export type AssetRole = (typeof ASSET_ROLES)[number];
export type PackRole = ModelRole | AssetRole;

export interface AssetFile {
  readonly role: AssetRole;
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
}

export const TENSOR_DTYPES = ['float32', 'float16', 'int32', 'int64', 'uint8', 'bool'] as const;
export type TensorDtype = (typeof TENSOR_DTYPES)[number];

export interface TensorSpec {
  readonly name: string;
  readonly dtype: TensorDtype;
  /** Dimensions: a number, or a symbolic name for a dynamic axis (e.g. "batch"). */
  readonly shape: readonly (number | string)[];
}

export interface ModelFile {
  readonly role: ModelRole;
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
  /**
   * Where the model must run for the peers to agree bit for bit. Entropy models pin the exact
   * wasm runtime (e.g. "onnxruntime-web-wasm@1.30.0"); the tokenizer may say "any".
   */
  readonly runtime: string;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

export interface PackManifest {
  readonly format: typeof PACK_FORMAT;
  readonly id: string;
  readonly image: { readonly width: number; readonly height: number; readonly downsample: number };
  readonly codebook: { readonly size: number; readonly kind: 'fsq' | 'lfq' | 'vq'; readonly levels?: readonly number[] };
  readonly models: readonly ModelFile[];
  readonly assets: readonly AssetFile[];
  /** Free-form provenance: data, steps, seeds, metrics. Kept as parsed JSON. */
  readonly training?: Readonly<Record<string, unknown>>;
}

const HEX64 = /^[0-9a-f]{64}$/;
const SAFE_FILE = /^[A-Za-z0-9._-]{1,128}$/;

function bad(path: string, why: string): ProtocolError {
  return new ProtocolError(ErrorCode.InvalidField, `manifest ${path}: ${why}`);
}

function record(v: unknown, path: string, allowed: readonly string[], required: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(path, 'must be an object');
  const obj = v as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
      throw new ProtocolError(ErrorCode.ForbiddenKey, `manifest ${path}.${key}: forbidden key`);
    }
    if (!allowed.includes(key)) throw bad(`${path}.${key}`, 'unknown field');
  }
  for (const key of required) if (!(key in obj)) throw bad(`${path}.${key}`, 'missing');
  return obj;
}

function str(v: unknown, path: string, max = 256): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw bad(path, `must be a string of 1..${max} characters`);
  return v;
}

function posInt(v: unknown, path: string, max = 2 ** 31): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) throw bad(path, `must be an integer in 1..${max}`);
  return v;
}

function oneOf<T extends string>(v: unknown, path: string, options: readonly T[]): T {
  if (typeof v !== 'string' || !(options as readonly string[]).includes(v)) throw bad(path, `must be one of ${options.join(', ')}`);
  return v as T;
}

function tensors(v: unknown, path: string): TensorSpec[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > 16) throw bad(path, 'must be a list of 1..16 tensors');
  return v.map((t, i) => {
    const p = `${path}[${i}]`;
    const o = record(t, p, ['name', 'dtype', 'shape'], ['name', 'dtype', 'shape']);
    if (!Array.isArray(o.shape) || o.shape.length > 8) throw bad(`${p}.shape`, 'must be a list of ≤ 8 dimensions');
    const shape = o.shape.map((d, j) => (typeof d === 'string' ? str(d, `${p}.shape[${j}]`, 32) : posInt(d, `${p}.shape[${j}]`)));
    return { name: str(o.name, `${p}.name`, 64), dtype: oneOf(o.dtype, `${p}.dtype`, TENSOR_DTYPES), shape };
  });
}

/** Validates parsed manifest JSON. Throws ProtocolError (ERR_INVALID_FIELD, ERR_FORBIDDEN_KEY). */
export function parseManifest(json: unknown): PackManifest {
  const o = record(json, 'manifest', ['format', 'id', 'image', 'codebook', 'models', 'assets', 'training'], ['format', 'id', 'image', 'codebook', 'models']);
  if (o.format !== PACK_FORMAT) throw bad('format', `must be "${PACK_FORMAT}"`);
  const img = record(o.image, 'image', ['width', 'height', 'downsample'], ['width', 'height', 'downsample']);
  const image = { width: posInt(img.width, 'image.width', 4096), height: posInt(img.height, 'image.height', 4096), downsample: posInt(img.downsample, 'image.downsample', 64) };
  if (image.width % image.downsample || image.height % image.downsample) throw bad('image', 'width and height must be multiples of downsample');
  const cb = record(o.codebook, 'codebook', ['size', 'kind', 'levels'], ['size', 'kind']);
  const codebook: PackManifest['codebook'] = {
    size: posInt(cb.size, 'codebook.size', 2 ** 20),
    kind: oneOf(cb.kind, 'codebook.kind', ['fsq', 'lfq', 'vq'] as const),
    ...(cb.levels === undefined ? {} : { levels: levels(cb.levels) }),
  };
  if (codebook.levels && codebook.levels.reduce((a, b) => a * b, 1) !== codebook.size) throw bad('codebook.levels', 'product must equal codebook.size');
  if (!Array.isArray(o.models) || o.models.length === 0 || o.models.length > 16) throw bad('models', 'must be a list of 1..16 models');
  const seen = new Set<string>();
  const models = o.models.map((m, i): ModelFile => {
    const p = `models[${i}]`;
    const f = record(m, p, ['role', 'file', 'sha256', 'bytes', 'runtime', 'inputs', 'outputs'], ['role', 'file', 'sha256', 'bytes', 'runtime', 'inputs', 'outputs']);
    const role = oneOf(f.role, `${p}.role`, MODEL_ROLES);
    if (seen.has(role)) throw bad(`${p}.role`, `${role} listed twice`);
    seen.add(role);
    return {
      role,
      ...fileFields(f, p),
      runtime: str(f.runtime, `${p}.runtime`, 64),
      inputs: tensors(f.inputs, `${p}.inputs`),
      outputs: tensors(f.outputs, `${p}.outputs`),
    };
  });
  if (o.assets !== undefined && (!Array.isArray(o.assets) || o.assets.length > 16)) throw bad('assets', 'must be a list of ≤ 16 files');
  const assets = ((o.assets ?? []) as unknown[]).map((a, i): AssetFile => {
    const p = `assets[${i}]`;
    const f = record(a, p, ['role', 'file', 'sha256', 'bytes'], ['role', 'file', 'sha256', 'bytes']);
    const role = oneOf(f.role, `${p}.role`, ASSET_ROLES);
    if (seen.has(role)) throw bad(`${p}.role`, `${role} listed twice`);
    seen.add(role);
    return { role, ...fileFields(f, p) };
  });
  if (o.training !== undefined && (typeof o.training !== 'object' || o.training === null || Array.isArray(o.training))) throw bad('training', 'must be an object');
  return {
    format: PACK_FORMAT,
    id: str(o.id, 'id', 128),
    image,
    codebook,
    models,
    assets,
    ...(o.training === undefined ? {} : { training: o.training as Record<string, unknown> }),
  };
}

function fileFields(f: Record<string, unknown>, p: string): { file: string; sha256: string; bytes: number } {
  const file = str(f.file, `${p}.file`, 128);
  // Pack files are plain names inside the pack folder: no paths, no traversal.
  if (!SAFE_FILE.test(file) || file.startsWith('.')) throw bad(`${p}.file`, 'must be a plain file name');
  const sha256 = str(f.sha256, `${p}.sha256`, 64);
  if (!HEX64.test(sha256)) throw bad(`${p}.sha256`, 'must be 64 lowercase hex digits');
  return { file, sha256, bytes: posInt(f.bytes, `${p}.bytes`, 2 ** 31) };
}

function levels(v: unknown): number[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > 32) throw bad('codebook.levels', 'must be a list of 1..32 integers');
  return v.map((l, i) => posInt(l, `codebook.levels[${i}]`, 65536));
}
