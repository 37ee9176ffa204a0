import { MaskedEntropyModel, staticModel, type LoadedPack, type Runtime, type StageEntropyModel } from '@unimic/models';

/*
 * The entropy models a session codes with, by chunk-header model index. Both peers build the list
 * from the same pack and compare the names in their `open` messages; every chunk names the model
 * it was coded with, so which model codes a stage is the sender's choice alone (`pickCodingModel`).
 */
export interface SessionModels {
  readonly masked: MaskedEntropyModel;
  readonly text?: MaskedEntropyModel;
  /** By chunk-header index: masked, then text-conditional and static when the pack has them. */
  readonly list: readonly StageEntropyModel[];
}

export const SESSION_MODEL_ROLES = ['entropy.masked.backbone', 'entropy.masked.head', 'entropy.text.backbone', 'entropy.text.head', 'entropy.text.vocab', 'entropy.static.counts'] as const;

export async function sessionModels(pack: LoadedPack, runtime: Runtime): Promise<SessionModels> {
  const masked = await MaskedEntropyModel.fromPack(pack, 'masked', runtime);
  const text = pack.files.has('entropy.text.backbone') ? await MaskedEntropyModel.fromPack(pack, 'text', runtime) : undefined;
  const counts = pack.files.get('entropy.static.counts');
  const unigram = counts ? staticModel(counts, pack.manifest.codebook.size) : undefined;
  return { masked, ...(text ? { text } : {}), list: [masked, ...(text ? [text] : []), ...(unigram ? [unigram] : [])] };
}

/**
 * Stages of at most this many cells are coded with the context-free (unigram) model when the
 * session has one. A learned model costs one backbone pass on each peer (~50–150 ms on a phone-class
 * CPU) to save ~2 bits per token; for the first stages of a request, which carry a handful of
 * tokens and, at the start of an upload, no context to learn from, that trade is a bad one: the
 * pass sits on the path to the cloud's first step and the edge's first preview.
 */
export const CONTEXT_FREE_MAX_CELLS = 4;

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
