import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { UNKNOWN, loadPack } from '@unimic/models';
import { folderReader } from '@unimic/models/node';
import { wasmRuntime } from '@unimic/models/wasm';
import { ErrorCode, buildSchedule, decodeChunk } from '@unimic/protocol';
import { ChunkStore, CODING_MODEL_ROLES, StageReceiver, readChunk, codingModels, type ChunkFailure, type ModelTable, type StageUpdate } from '../src/index.ts';

/*
 * The stage receiver under the arrival orders a real link produces: later stages before earlier
 * ones, corrupted copies before good ones, floods of chunks whose stage never becomes known.
 * Real pack models (the masked model needs the earlier stages' tokens as context).
 */

const root = path.resolve(import.meta.dirname, '../../..');
const grids = JSON.parse(readFileSync(path.join(root, 'test/fixtures/kodak-grids.json'), 'utf8')).grids as Record<string, number[]>;
const grid = Int32Array.from(grids['kodim04.png'] as number[]);
const stages = buildSchedule({ width: 16, height: 16, stages: 8, kind: 'cosine', seed: 7 }).stages;

let models: ModelTable;
/** Every upload stage coded as the edge codes it: stage s against the tokens of stages < s. */
let chunksByStage: Uint8Array[][];

function prefix(k: number): Int32Array {
  const g = new Int32Array(256).fill(UNKNOWN);
  for (const st of stages.slice(0, k)) for (const p of st) g[p] = grid[p] as number;
  return g;
}

/** A receiver wired as the cloud wires it: stage s decodes once stages < s are complete. */
function uploadReceiver(limits?: ConstructorParameters<typeof StageReceiver>[4]) {
  const got = new Int32Array(256).fill(UNKNOWN);
  const failures: ChunkFailure[] = [];
  const receiver: StageReceiver = new StageReceiver(
    {
      positionsOf: (s) => stages[s],
      contextFor: (s) => {
        if (receiver.completePrefix < s) return undefined;
        const g = new Int32Array(256).fill(UNKNOWN);
        for (const st of stages.slice(0, s)) for (const p of st) g[p] = got[p] as number;
        return g;
      },
      apply: (u: StageUpdate) => u.cells.forEach((p, j) => (got[p] = u.tokens[j] as number)),
    },
    models,
    undefined,
    stages.length - 1,
    limits,
  );
  // the peers read a chunk's header once, where they route it; one that does not frame goes no further
  const push = async (c: Uint8Array) => {
    let chunk;
    try {
      chunk = readChunk(c);
    } catch (error) {
      return failures.push({ header: null, error: error as ChunkFailure['error'] });
    }
    return failures.push(...(await receiver.push(chunk)).failures);
  };
  return { receiver, got, failures, push };
}

beforeAll(async () => {
  const pack = await loadPack(folderReader(path.join(root, 'models/default')), [...CODING_MODEL_ROLES]);
  models = (await codingModels(pack, wasmRuntime())).list;
  const store = new ChunkStore();
  chunksByStage = [];
  for (let s = 0; s < stages.length; s++) {
    const positions = stages[s] as Uint16Array;
    // every stage with the learned model, so each depends on the stages before it
    chunksByStage.push(await store.code({ models, context: prefix(s), positions, tokens: Array.from(positions, (p) => grid[p] as number), stream: 1, message: 3, stage: s, contextFreeMaxCells: 0 }));
  }
}, 120_000);

describe('StageReceiver', () => {
  it('decodes stages that arrive in reverse order, each against the tokens of the stages before it', async () => {
    const { receiver, got, failures, push } = uploadReceiver();
    for (const chunks of [...chunksByStage].reverse()) for (const c of chunks) await push(c);
    // before the fix, the pass that completed stage 0 decoded stage 1 against a grid without
    // stage 0's tokens: intact chunks failed their checksum
    expect(failures).toEqual([]);
    expect(receiver.completePrefix).toBe(stages.length);
    expect(Array.from(got)).toEqual(Array.from(grid));
  }, 60_000);

  it('a corrupted copy that arrives first does not shadow the good chunk', async () => {
    const { receiver, got, failures, push } = uploadReceiver();
    for (let s = 0; s < stages.length; s++) {
      for (const c of chunksByStage[s] as Uint8Array[]) {
        const bad = Uint8Array.from(c);
        bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 0x5a; // payload bit flips: the header still places it
        await push(bad);
        await push(c);
      }
    }
    expect(receiver.completePrefix).toBe(stages.length);
    expect(Array.from(got)).toEqual(Array.from(grid));
    // refusals are bad copies (checksum or stream errors), or — where the flipped tail bits did not
    // change what the range coder decodes, so the copy carried the right tokens — the good chunk
    // arriving for a stage already complete
    expect(failures.filter((f) => f.error.code === ErrorCode.ChecksumMismatch).length).toBeGreaterThan(0);
    for (const f of failures) {
      expect([ErrorCode.ChecksumMismatch, ErrorCode.CorruptStream, ErrorCode.Malformed, ErrorCode.Duplicate]).toContain(f.error.code);
      if (f.error.code === ErrorCode.Duplicate) expect(f.error.message).toMatch(/already complete/);
    }
  }, 60_000);

  it('holds chunks of a stage it cannot decode yet within its limits, and refuses the flood beyond', async () => {
    const { receiver, failures, push } = uploadReceiver({ maxQueuedChunks: 50, maxQueuedBytes: 1 << 20 });
    const late = chunksByStage[7]?.[0] as Uint8Array;
    for (let i = 0; i < 200; i++) await push(late);
    expect(receiver.queued.chunks).toBe(50);
    expect(failures).toHaveLength(150);
    for (const f of failures) expect(f.error.code).toBe(ErrorCode.Oversized);
    // the held chunks decode once the context arrives: one copy is taken, the others are duplicates
    for (let s = 0; s < 7; s++) for (const c of chunksByStage[s] as Uint8Array[]) await push(c);
    expect(receiver.queued.chunks).toBe(0);
    expect(receiver.complete(7)).toBe(decodeChunk(late).header.last && decodeChunk(late).header.chunkIndex === 0);
    expect(failures.slice(150).every((f) => f.error.code === ErrorCode.Duplicate)).toBe(true);
  }, 60_000);
});
