import { MaskedEntropyModel, staticModel, type LoadedPack, type Runtime, type StageEntropyModel } from '@unimic/models';

/*
 * The entropy models a session codes with, by chunk-header model index. Both peers build the list
 * from the same pack and compare the names in their `open` messages; every chunk names the model
 * it was coded with, so which model codes a stage is the sender's choice alone (`pickCodingModel`).
 */
export interface CodingModels {
  readonly masked: MaskedEntropyModel;
  readonly text?: MaskedEntropyModel;
  /** By chunk-header index: masked, then text-conditional and static when the pack has them. */
  readonly list: readonly StageEntropyModel[];
}

export const CODING_MODEL_ROLES = ['entropy.masked.backbone', 'entropy.masked.head', 'entropy.text.backbone', 'entropy.text.head', 'entropy.text.vocab', 'entropy.static.counts'] as const;

export async function codingModels(pack: LoadedPack, runtime: Runtime): Promise<CodingModels> {
  const masked = await MaskedEntropyModel.fromPack(pack, 'masked', runtime);
  const text = pack.files.has('entropy.text.backbone') ? await MaskedEntropyModel.fromPack(pack, 'text', runtime) : undefined;
  const counts = pack.files.get('entropy.static.counts');
  const unigram = counts ? staticModel(counts, pack.manifest.codebook.size) : undefined;
  return { masked, ...(text ? { text } : {}), list: [masked, ...(text ? [text] : []), ...(unigram ? [unigram] : [])] };
}

/**
 * Stages of at most this many cells are coded with the context-free (unigram) model when the
 * session has one. A learned model costs one backbone pass on each peer (~85 ms on one wasm
 * thread here, more on a phone) to save ~2–3 bits per token, so at 16 cells a pass buys ≤ 6 bytes.
 * Those passes are the critical path of an interactive request: the first upload stages (no context
 * yet) gate the cloud's first step, and every generation step is a pass on both peers. Measured on
 * inpainting (bench session, 4 → 16): first step 483 → 157 ms, final 1961 → 966 ms, +21 B down.
 */
export const CONTEXT_FREE_MAX_CELLS = 16;

/** The chunk-header index of the model that codes a stage of `cells` cells. */
export function pickCodingModel(models: readonly StageEntropyModel[], cells: number, prompted: boolean, contextFreeMaxCells = CONTEXT_FREE_MAX_CELLS): number {
  const named = (name: string) => models.findIndex((m) => m.name === name);
  if (cells <= contextFreeMaxCells && named('static') >= 0) return named('static');
  if (prompted && named('text') >= 0) return named('text');
  return Math.max(0, named('masked'));
}

/** Whether the session can code with the prompt (a text-conditional model is in the list). */
export function hasTextModel(models: readonly StageEntropyModel[]): boolean {
  return models.some((m) => m.name === 'text');
}

/** How one request's stages are coded, the same on both peers. */
export interface RequestCoding {
  /** By chunk-header index (`CodingModels.list`, the same list on both peers). */
  readonly models: readonly StageEntropyModel[];
  /** The prompt's BPE ids when its stages are coded with the text-conditional model (`codingPrompt`). */
  readonly text?: readonly number[];
  /** The sender's choice (the chunk header names the model): stages up to this many cells go context-free. */
  readonly contextFreeMaxCells?: number;
}

/**
 * The prompt a request's image stages are coded with: its BPE ids when the session has a
 * text-conditional model and the text is a prompt (a VQA question describes nothing in the image).
 */
export function codingPrompt(task: 'vqa' | string, promptIds: readonly number[], models: readonly StageEntropyModel[]): readonly number[] | undefined {
  return task !== 'vqa' && promptIds.length > 0 && hasTextModel(models) ? promptIds : undefined;
}
