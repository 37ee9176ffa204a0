import { MaskedEntropyModel, type LoadedPack, type Runtime } from '@unimic/models';

/*
 * The entropy models a session codes with, by chunk-header model index: 0 = masked, 1 = the
 * text-conditional one when the pack has it. Both peers build the list from the same pack, and
 * compare the names in their `open` messages.
 */
export interface SessionModels {
  readonly masked: MaskedEntropyModel;
  readonly text?: MaskedEntropyModel;
  /** By chunk-header index. */
  readonly list: readonly MaskedEntropyModel[];
}

export const SESSION_MODEL_ROLES = ['entropy.masked.backbone', 'entropy.masked.head', 'entropy.text.backbone', 'entropy.text.head', 'entropy.text.vocab'] as const;

export async function sessionModels(pack: LoadedPack, runtime: Runtime): Promise<SessionModels> {
  const masked = await MaskedEntropyModel.fromPack(pack, 'masked', runtime);
  const hasText = pack.files.has('entropy.text.backbone');
  const text = hasText ? await MaskedEntropyModel.fromPack(pack, 'text', runtime) : undefined;
  return { masked, ...(text ? { text } : {}), list: text ? [masked, text] : [masked] };
}
