import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode, bpeEncode, buildSchedule, isProtocolError, type Schedule } from '@unimic/protocol';
import {
  AutoregressiveModel,
  MaskedEntropyModel,
  UNKNOWN,
  decodeGridStage,
  encodeGridStage,
  loadPack,
  staticModel,
  uniformModel,
  type LoadedPack,
  type StageEntropyModel,
} from '../src/index.ts';
import { folderReader } from '../src/node.ts';
import { wasmRuntime } from '../src/wasm.ts';

const root = path.resolve(import.meta.dirname, '../../..');
const packDir = process.env.UNIMIC_PACK ?? path.join(root, 'models/default');
const manifest = path.join(packDir, 'manifest.json');
const roles = existsSync(manifest) ? JSON.stringify(JSON.parse(readFileSync(manifest, 'utf8'))) : '';
const has = (role: string) => roles.includes(`"${role}"`);
const kodak: Record<string, number[]> = JSON.parse(readFileSync(path.join(root, 'test/fixtures/kodak-grids.json'), 'utf8')).grids;
const grid = (name: string) => Int32Array.from(kodak[name] as number[]);
const schedule = buildSchedule({ width: 16, height: 16, stages: 8, kind: 'cosine', seed: 1 });

/** Codes a grid stage by stage and decodes each stage from its chunks (in reverse order). */
async function roundTrip(model: StageEntropyModel, g: Int32Array, sched: Schedule, text?: number[]) {
  const sent = new Int32Array(g.length).fill(UNKNOWN);
  const got = new Int32Array(g.length).fill(UNKNOWN);
  let bytes = 0;
  for (const [stage, positions] of sched.stages.entries()) {
    const tokens = Array.from(positions, (p) => g[p] as number);
    const chunks = await encodeGridStage({ model, known: sent, positions, tokens, ...(text ? { text } : {}), address: { stream: 0, message: 1, stage, model: 0 } });
    bytes += chunks.reduce((a, c) => a + c.length, 0);
    const r = await decodeGridStage({ model, known: got, positions, ...(text ? { text } : {}), chunks: [...chunks].reverse() });
    expect(r.errors).toEqual([]);
    for (const c of r.chunks) c.tokens.forEach((t, j) => (got[positions[c.offset + j] as number] = t));
    for (const p of positions) sent[p] = g[p] as number;
  }
  return { got, bitsPerToken: (bytes * 8) / g.length };
}

describe('context-free models', () => {
  it('uniform and static code Kodak grids losslessly; static beats uniform', async () => {
    const uniform = uniformModel(8192);
    const counts = new Uint32Array(8192);
    for (const g of Object.values(kodak).slice(12)) for (const t of g) counts[t]! += 1; // "training" half
    const stat = staticModel(new TextEncoder().encode(JSON.stringify({ counts: Array.from(counts) })), 8192);
    const g = grid('kodim03.png');
    const u = await roundTrip(uniform, g, schedule);
    const s = await roundTrip(stat, g, schedule);
    expect(Array.from(u.got)).toEqual(Array.from(g));
    expect(Array.from(s.got)).toEqual(Array.from(g));
    expect(s.bitsPerToken).toBeLessThan(u.bitsPerToken);
  });

  it('refuses malformed static counts with a typed error', () => {
    const bad = (s: string) => () => staticModel(new TextEncoder().encode(s), 8192);
    expect(bad('{"counts":[1,2]}')).toThrow(expect.objectContaining({ code: ErrorCode.InvalidField }));
    expect(bad('{"counts":')).toThrow(expect.objectContaining({ code: ErrorCode.Malformed }));
  });
});

describe.skipIf(!has('entropy.masked.backbone'))('masked entropy model (real ONNX on onnxruntime-web wasm)', () => {
  let pack: LoadedPack;
  let model: MaskedEntropyModel;

  it('loads from the pack', async () => {
    pack = await loadPack(folderReader(packDir), ['entropy.masked.backbone', 'entropy.masked.head']);
    model = await MaskedEntropyModel.fromPack(pack, 'masked', wasmRuntime());
    expect(model.planes.sizes).toEqual([8, 8, 8, 4, 4]);
  });

  it('codes Kodak grids stage by stage (cosine and coarse-to-fine), decodes them bit-exactly, in fewer bits than uniform', async () => {
    const c2f = buildSchedule({ width: 16, height: 16, kind: 'coarse-to-fine', stages: 5, seed: 0 }) as Schedule;
    for (const [name, sched] of [['kodim05.png', schedule], ['kodim19.png', c2f]] as const) {
      const g = grid(name);
      const r = await roundTrip(model, g, sched);
      expect(Array.from(r.got)).toEqual(Array.from(g));
      const u = await roundTrip(uniformModel(8192), g, sched);
      console.log(`masked ${name} ${sched.kind}: ${r.bitsPerToken.toFixed(2)} bits/token on the wire (headers included; uniform ${u.bitsPerToken.toFixed(2)})`);
      expect(r.bitsPerToken).toBeLessThan(u.bitsPerToken - 0.3);
    }
  }, 120_000);

  it('refuses a corrupted or duplicated chunk with a typed error and still decodes the others', async () => {
    const g = grid('kodim11.png');
    const positions = schedule.stages[7] as Uint16Array;
    const known = new Int32Array(256).fill(UNKNOWN);
    for (const s of schedule.stages.slice(0, 7)) for (const p of s) known[p] = g[p] as number;
    const tokens = Array.from(positions, (p) => g[p] as number);
    const chunks = await encodeGridStage({ model, known, positions, tokens, address: { stream: 0, message: 1, stage: 7, model: 0 }, maxPayloadBytes: 20 });
    expect(chunks.length).toBeGreaterThan(2);
    const bad = Uint8Array.from(chunks[1] as Uint8Array);
    bad[bad.length - 2]! ^= 0x40;
    const r = await decodeGridStage({ model, known, positions, chunks: [chunks[0]!, bad, ...chunks.slice(2), chunks[0]!] });
    expect(r.errors.map((e) => e.index)).toEqual([1, chunks.length]);
    expect(r.errors.every((e) => isProtocolError(e.error))).toBe(true);
    expect(r.errors[1]?.error.code).toBe(ErrorCode.Duplicate);
    expect(r.chunks.length).toBe(chunks.length - 1);
    for (const c of r.chunks) c.tokens.forEach((t, j) => expect(t).toBe(tokens[c.offset + j]));
  }, 60_000);
});

describe.skipIf(!has('entropy.text.backbone'))('text-conditional entropy model', () => {
  it('codes a grid with and without a caption, bit-exactly', async () => {
    const pack = await loadPack(folderReader(packDir), ['entropy.text.backbone', 'entropy.text.head', 'entropy.text.vocab']);
    const model = await MaskedEntropyModel.fromPack(pack, 'text', wasmRuntime());
    const g = grid('kodim23.png');
    const caption = Array.from(bpeEncode('two colourful parrots perched side by side'));
    for (const text of [caption, []]) {
      const r = await roundTrip(model, g, schedule, text);
      expect(Array.from(r.got)).toEqual(Array.from(g));
      expect(r.bitsPerToken).toBeLessThan((await roundTrip(uniformModel(8192), g, schedule)).bitsPerToken);
    }
  }, 120_000);
});

describe.skipIf(!has('entropy.autoregressive.backbone'))('autoregressive entropy model', () => {
  it('codes a grid in raster order and decodes it (one backbone run per cell); corruption is a typed error', async () => {
    const pack = await loadPack(folderReader(packDir), ['entropy.autoregressive.backbone', 'entropy.autoregressive.head']);
    const model = await AutoregressiveModel.fromPack(pack, wasmRuntime());
    const g = grid('kodim08.png');
    const coded = await model.encodeGrid(g);
    expect(coded.idealBits / 256).toBeLessThan(13);
    const back = await model.decodeGrid(coded.bytes, coded.checksum);
    expect(Array.from(back)).toEqual(Array.from(g));
    const bad = Uint8Array.from(coded.bytes);
    bad[5]! ^= 1;
    await expect(model.decodeGrid(bad, coded.checksum)).rejects.toSatisfy(isProtocolError);
  }, 300_000);
});
