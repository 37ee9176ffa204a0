import type { InferenceSessionLike, LoadedPack, PlanarImage, Runtime, TensorLike } from '@unimic/models';
import { ErrorCode, ProtocolError } from '@unimic/protocol';

/*
 * The cloud pack's scene attribute classifier (training/scene_classifier.py), our analogue of
 * CLIP-T: it reads a 128x128 scene and says, for each of its five regions (left, right, top,
 * bottom, centre), whether the region is empty or which shape, colour and size its object has,
 * plus the background colour. Text-to-image attribute accuracy compares these readings of a
 * generated image with the scene whose caption was the prompt. Evaluation only (bench/cloud.ts):
 * the cloud peer never runs it, so it lives here rather than in @unimic/cloud-peer.
 */

/** Per region: [shape (0 = empty, 1 + shape index), colour index, size index]. */
export type RegionLabel = readonly [number, number, number];

export interface SceneReading {
  readonly regions: readonly RegionLabel[];
  readonly background: number;
}

const OUTPUTS = { shape: 'region_shape_logits', colour: 'region_colour_logits', size: 'region_size_logits', background: 'background_logits' } as const;

export class SceneClassifier {
  private constructor(
    private readonly runtime: Runtime,
    private readonly session: InferenceSessionLike,
    readonly size: number,
  ) {}

  static async fromPack(pack: LoadedPack, runtime: Runtime): Promise<SceneClassifier> {
    const bytes = pack.files.get('eval.scene-classifier');
    if (!bytes) throw new ProtocolError(ErrorCode.InvalidField, `pack ${pack.manifest.id} has no eval.scene-classifier`);
    return new SceneClassifier(runtime, await runtime.createSession(bytes), pack.manifest.image.width);
  }

  async read(image: PlanarImage): Promise<SceneReading> {
    const { size } = this;
    if (image.width !== size || image.height !== size) throw new ProtocolError(ErrorCode.InvalidArgument, `the classifier reads ${size}x${size} images, got ${image.width}x${image.height}`);
    const out = await this.session.run({ image: this.runtime.tensor('float32', Float32Array.from(image.data, (v) => Math.min(1, Math.max(0, v))), [1, 3, size, size]) });
    const shape = argmaxRows(out, OUTPUTS.shape);
    const colour = argmaxRows(out, OUTPUTS.colour);
    const sizes = argmaxRows(out, OUTPUTS.size);
    const background = argmaxRows(out, OUTPUTS.background)[0] as number;
    if (colour.length !== shape.length || sizes.length !== shape.length) throw new ProtocolError(ErrorCode.InvalidField, 'classifier outputs disagree on the region count');
    return { regions: shape.map((s, r) => [s, colour[r] as number, sizes[r] as number] as const), background };
  }
}

/** Argmax of each row of a [1, rows, classes] (or [1, classes]) output. */
function argmaxRows(out: Record<string, TensorLike>, name: string): number[] {
  const t = out[name];
  if (!t || !(t.data instanceof Float32Array)) throw new ProtocolError(ErrorCode.InvalidField, `classifier output ${name} missing`);
  const classes = t.dims.at(-1) as number;
  const rows = t.data.length / classes;
  return Array.from({ length: rows }, (_, r) => {
    let best = 0;
    for (let j = 1; j < classes; j++) if ((t.data as Float32Array)[r * classes + j]! > (t.data as Float32Array)[r * classes + best]!) best = j;
    return best;
  });
}

export interface AttributeScores {
  /** Regions whose emptiness/shape is right. */
  readonly regionShape: number;
  /** Objects (occupied regions of the reference) read with the right shape, colour and size. */
  readonly objectAll: number;
  readonly objectShape: number;
  readonly objectColour: number;
  /** Share of the reference's (shape, colour) pairs found anywhere in the reading. */
  readonly pairRecall: number;
  readonly background: number;
}

/** Scores readings against reference scenes (means over all of them; the Python `score`). */
export function scoreReadings(readings: readonly SceneReading[], truth: readonly SceneReading[]): AttributeScores {
  if (readings.length !== truth.length || readings.length === 0) throw new ProtocolError(ErrorCode.InvalidArgument, 'readings and references must pair up');
  let regions = 0, shapeOk = 0, objects = 0, objAll = 0, objShape = 0, objColour = 0, pairs = 0, pairsFound = 0, bgOk = 0;
  readings.forEach((p, i) => {
    const y = truth[i] as SceneReading;
    const found = new Set(p.regions.filter((r) => r[0] > 0).map((r) => `${r[0]}/${r[1]}`));
    const wanted = new Set(y.regions.filter((r) => r[0] > 0).map((r) => `${r[0]}/${r[1]}`));
    y.regions.forEach((yr, r) => {
      const pr = p.regions[r] as RegionLabel;
      regions++;
      if (pr[0] === yr[0]) shapeOk++;
      if (yr[0] === 0) return;
      objects++;
      if (pr[0] === yr[0]) objShape++;
      if (pr[1] === yr[1]) objColour++;
      if (pr[0] === yr[0] && pr[1] === yr[1] && pr[2] === yr[2]) objAll++;
    });
    pairs += wanted.size;
    for (const w of wanted) if (found.has(w)) pairsFound++;
    if (p.background === y.background) bgOk++;
  });
  const n = readings.length;
  return {
    regionShape: shapeOk / regions,
    objectAll: objAll / Math.max(1, objects),
    objectShape: objShape / Math.max(1, objects),
    objectColour: objColour / Math.max(1, objects),
    pairRecall: pairsFound / Math.max(1, pairs),
    background: bgOk / n,
  };
}
