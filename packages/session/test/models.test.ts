import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UNKNOWN, loadPack, type StageEntropyModel } from '@unimic/models';
import { folderReader } from '@unimic/models/node';
import { wasmRuntime } from '@unimic/models/wasm';
import { decodeChunk } from '@unimic/protocol';
import { CONTEXT_FREE_MAX_CELLS, ChunkStore, CODING_MODEL_ROLES, StageReceiver, pickCodingModel, readChunk, codingModels, type StageUpdate } from '../src/index.ts';

/*
 * Which entropy model codes a stage (the sender's choice, named in every chunk header), and a
 * round trip through the real pack's models: small stages go context-free, the rest learned.
 */

const named = (...names: string[]) => names.map((name) => ({ name }) as StageEntropyModel);
const root = path.resolve(import.meta.dirname, '../../..');

describe('pickCodingModel', () => {
  it('small stages take the unigram model, larger ones the learned model (text-conditional with a prompt)', () => {
    const all = named('masked', 'text', 'static');
    expect(pickCodingModel(all, 1, false)).toBe(2);
    expect(pickCodingModel(all, CONTEXT_FREE_MAX_CELLS, true)).toBe(2);
    expect(pickCodingModel(all, CONTEXT_FREE_MAX_CELLS + 1, false)).toBe(0);
    expect(pickCodingModel(all, CONTEXT_FREE_MAX_CELLS + 1, true)).toBe(1);
    expect(pickCodingModel(all, 3, false, 0)).toBe(0);
    expect(pickCodingModel(all, 200, false, 256)).toBe(2);
  });

  it('falls back to what the session has', () => {
    expect(pickCodingModel(named('masked'), 1, true)).toBe(0);
    expect(pickCodingModel(named('masked', 'static'), CONTEXT_FREE_MAX_CELLS + 1, true)).toBe(0);
    expect(pickCodingModel(named('masked', 'static'), 2, false)).toBe(1);
  });
});

describe('the session models of the default pack', () => {
  it('list masked, text and static; a stage coded context-free decodes exactly and says so in its header', async () => {
    const pack = await loadPack(folderReader(path.join(root, 'models/default')), [...CODING_MODEL_ROLES]);
    const models = await codingModels(pack, wasmRuntime());
    expect(models.list.map((m) => m.name)).toEqual(['masked', 'text', 'static']);
    const grid = Int32Array.from({ length: 256 }, (_, i) => (i * 2654435761) % 8192);
    const store = new ChunkStore();
    const context = new Int32Array(256).fill(UNKNOWN);
    for (const positions of [Uint16Array.of(3, 77, 200), Uint16Array.from({ length: 40 }, (_, i) => i * 6)]) {
      const chunks = await store.code({ models: models.list, context, positions, tokens: Array.from(positions, (p) => grid[p] as number), stream: 1, message: 9, stage: 0 });
      const index = decodeChunk(chunks[0] as Uint8Array).header.model;
      expect(models.list[index]?.name).toBe(positions.length <= CONTEXT_FREE_MAX_CELLS ? 'static' : 'masked');
      const got = new Int32Array(256).fill(UNKNOWN);
      const apply = (u: StageUpdate) => u.cells.forEach((p, j) => (got[p] = u.tokens[j] as number));
      const receiver = new StageReceiver({ positionsOf: () => positions, contextFor: () => context, apply }, models.list, undefined);
      for (const c of chunks) await receiver.push(readChunk(c));
      expect(Array.from(positions, (p) => got[p])).toEqual(Array.from(positions, (p) => grid[p]));
    }
  }, 60_000);
});
