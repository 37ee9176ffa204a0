import type { CodingModels } from '@unimic/session';
import { ErrorCode, ProtocolError } from './deps.ts';
import type { LoadedPack, Runtime } from './deps.ts';
import type { CloudModels } from './cloud-peer.ts';
import { digitSampler } from './maskgit.ts';
import { UnifiedModel } from './unified-model.ts';

/*
 * The models a cloud peer serves with. With a cloud pack, its unified Transformer generates images
 * (with or without a prompt) and answers questions; without one, the coding pack's masked entropy
 * models double as (weak, unconditional-ish) generators and the peer offers no VQA.
 */
export async function cloudModels(coding: CodingModels, codingPack: LoadedPack, cloudPack?: LoadedPack, runtime?: Runtime): Promise<CloudModels> {
  if (!cloudPack) {
    return { coding: coding.list, image: digitSampler(coding.masked), ...(coding.text ? { imageWithText: digitSampler(coding.text) } : {}) };
  }
  if (!runtime) throw new ProtocolError(ErrorCode.InvalidArgument, 'a cloud pack needs a runtime to run on');
  checkCompatible(codingPack, cloudPack);
  const unified = await UnifiedModel.fromPack(cloudPack, runtime);
  return { coding: coding.list, image: unified, imageWithText: unified, answer: unified };
}

/** The cloud model reads and writes the coding pack's tokens: same grid, same codebook, same tokenizer. */
export function checkCompatible(codingPack: LoadedPack, cloudPack: LoadedPack): void {
  const a = codingPack.manifest;
  const b = cloudPack.manifest;
  const same = a.image.width === b.image.width && a.image.height === b.image.height && a.image.downsample === b.image.downsample && a.codebook.size === b.codebook.size;
  if (!same) throw new ProtocolError(ErrorCode.InvalidField, `cloud pack ${b.id} does not fit pack ${a.id}: image or codebook differ`);
  const encoder = a.models.find((m) => m.role === 'tokenizer.encoder')?.sha256;
  const wanted = (b.training?.tokenizer as { encoder_sha256?: unknown } | undefined)?.encoder_sha256;
  if (encoder && typeof wanted === 'string' && wanted !== encoder) {
    throw new ProtocolError(ErrorCode.InvalidField, `cloud pack ${b.id} was trained on tokens of another tokenizer (${wanted.slice(0, 12)}…, pack has ${encoder.slice(0, 12)}…)`);
  }
}
