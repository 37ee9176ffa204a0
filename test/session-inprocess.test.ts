import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastValueFrom, toArray } from 'rxjs';
import { UNKNOWN, loadPack, type LoadedPack } from '@unimic/models';
import { folderReader } from '@unimic/models/node';
import { wasmRuntime } from '@unimic/models/wasm';
import { ErrorCode, ensureBrotli, isProtocolError } from '@unimic/protocol';
import { codingModels, type CodingModels } from '@unimic/session';
import type { WeriftPeer } from '@unimic/transport';
import { connectedPair } from './fixtures/peer-pair.ts';
import { CloudPeer, cloudModels, type CloudEvent } from '@unimic/cloud-peer';
import { EdgePeer, type EdgeEvent } from '@unimic/edge-peer';

/*
 * A whole request over a real werift connection on loopback (edge = offerer, cloud = answerer,
 * in one process): upload stage by stage with the masked model, progressive decode at the cloud,
 * early start, MaskGIT steps coded and streamed back, progressive decode at the edge.
 */

const root = path.resolve(import.meta.dirname, '..');
const packDir = process.env.UNIMIC_PACK ?? path.join(root, 'models/default');
const manifest = existsSync(path.join(packDir, 'manifest.json')) ? readFileSync(path.join(packDir, 'manifest.json'), 'utf8') : '';
const kodak: Record<string, number[]> = JSON.parse(readFileSync(path.join(root, 'test/fixtures/kodak-grids.json'), 'utf8')).grids;

describe.skipIf(!manifest.includes('"entropy.masked.backbone"'))('session over werift (in-process pair)', () => {
  let pack: LoadedPack;
  let models: CodingModels;
  let peers: { offerer: WeriftPeer; answerer: WeriftPeer };
  let cloud: CloudPeer;
  let edge: EdgePeer;
  const cloudEvents: CloudEvent[] = [];

  beforeAll(async () => {
    await ensureBrotli();
    pack = await loadPack(folderReader(packDir));
    models = await codingModels(pack, wasmRuntime());
    peers = await connectedPair({ mode: 'reliable' });
    cloud = new CloudPeer({
      transport: peers.answerer,
      pack: { id: pack.manifest.id, sha256: pack.digest },
      models: await cloudModels(models, pack),
      readiness: { afterStages: 4, deadlineMs: 20_000 },
      steps: 4,
      onEvent: (e) => cloudEvents.push(e),
    });
    edge = new EdgePeer({ transport: peers.offerer, pack, models: models.list });
    await edge.open();
  }, 60_000);

  afterAll(async () => {
    cloud?.close();
    edge?.close();
    await Promise.all([peers?.offerer.close(), peers?.answerer.close()]);
  });

  it('inpaints a region: the cloud starts after stage 4 of 8, steps stream back, the edge holds every generated token', async () => {
    const grid = Int32Array.from(kodak['kodim04.png'] as number[]);
    const region = Array.from({ length: 256 }, (_, i) => i).filter((i) => i % 16 >= 5 && i % 16 < 11 && i >> 4 >= 5 && i >> 4 < 11);
    const events = await lastValueFrom(edge.run({ task: 'inpaint', requestId: 1, grid, region, steps: 4 }).pipe(toArray()));
    const kinds = events.map((e) => e.type);
    expect(kinds.filter((k) => k === 'upload-stage').length).toBeGreaterThan(0);
    const steps = events.filter((e): e is Extract<EdgeEvent, { type: 'step' }> => e.type === 'step');
    expect(steps.length).toBe(4);
    const final = steps.at(-1)!.grid;
    for (const p of region) expect(final.tokens[p]).not.toBe(UNKNOWN);
    for (let i = 0; i < 256; i++) if (!region.includes(i)) expect(final.tokens[i]).toBe(grid[i]);
    const result = events.at(-1) as Extract<EdgeEvent, { type: 'result' }>;
    expect(result.type).toBe('result');
    expect(result.result.tokensDown).toBe(region.length);
    // each step event says its size: the cells the step committed and the bytes that carried them
    expect(steps.reduce((a, s) => a + s.cells, 0)).toBe(region.length);
    expect(steps.every((s) => s.bytes > 0)).toBe(true);
    expect(steps.reduce((a, s) => a + s.bytes, 0)).toBe(result.bytesDown);
    // control messages are counted too: each step message carries its 256-cell bitmap (32 B)
    expect(result.controlBytes).toBeGreaterThan(32 * steps.length);
    const start = cloudEvents.find((e) => e.type === 'generation-start' && e.requestId === 1) as Extract<CloudEvent, { type: 'generation-start' }>;
    expect(start.upStages).toBeGreaterThanOrEqual(4);
    expect(cloudEvents.filter((e) => e.type === 'refused')).toEqual([]);
  }, 120_000);

  it('outpaints 6 columns to the right: a 16x22 canvas whose old cells are the original', async () => {
    const grid = Int32Array.from(kodak['kodim12.png'] as number[]);
    const events = await lastValueFrom(edge.run({ task: 'outpaint', requestId: 2, grid, outpaint: { side: 'right', amount: 6 }, steps: 3 }).pipe(toArray()));
    const final = (events.filter((e) => e.type === 'step').at(-1) as Extract<EdgeEvent, { type: 'step' }>).grid;
    expect([final.width, final.height]).toEqual([22, 16]);
    for (let y = 0; y < 16; y++) for (let x = 0; x < 22; x++) {
      const t = final.tokens[y * 22 + x] as number;
      if (x < 16) expect(t).toBe(grid[y * 16 + x]);
      else expect(t).not.toBe(UNKNOWN);
    }
  }, 120_000);

  it('text-to-image: a full grid from a prompt', async () => {
    const events = await lastValueFrom(edge.run({ task: 't2i', requestId: 3, text: 'a red boat on a calm blue sea', steps: 4 }).pipe(toArray()));
    const final = (events.filter((e) => e.type === 'step').at(-1) as Extract<EdgeEvent, { type: 'step' }>).grid;
    expect(final.tokens.every((t) => t >= 0 && t < 8192)).toBe(true);
  }, 120_000);

  // last: it kills the link
  it('a link that dies mid-stream ends the request with a clean ConnectionLost error, well before its deadline', async () => {
    const grid = Int32Array.from(kodak['kodim04.png'] as number[]);
    const region = Array.from({ length: 256 }, (_, i) => i).filter((i) => i >> 4 >= 8);
    const t0 = performance.now();
    const seen: string[] = [];
    const outcome = lastValueFrom(edge.run({ task: 'inpaint', requestId: 4, grid, region, steps: 8, deadlineMs: 60_000 }).pipe(toArray())).then(
      () => 'completed',
      (err: unknown) => err,
    );
    // kill the cloud's side once the upload is under way
    const killer = setInterval(() => {
      if (cloudEvents.some((e) => e.type === 'upload-stage' && 'requestId' in e && e.requestId === 4)) {
        clearInterval(killer);
        seen.push('killed');
        void peers.answerer.close();
      }
    }, 20);
    const err = await outcome;
    clearInterval(killer);
    expect(seen).toEqual(['killed']);
    expect(isProtocolError(err, ErrorCode.ConnectionLost)).toBe(true);
    expect(performance.now() - t0).toBeLessThan(15_000);
  }, 60_000);
});
