import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastValueFrom, toArray } from 'rxjs';
import { loadPack, type LoadedPack } from '@unimic/models';
import { folderReader } from '@unimic/models/node';
import { wasmRuntime } from '@unimic/models/wasm';
import { ErrorCode, ensureBrotli } from '@unimic/protocol';
import { codingModels, type CodingModels } from '@unimic/session';
import type { WeriftPeer } from '@unimic/transport';
import { connectedPair } from './fixtures/peer-pair.ts';
import { CloudPeer, cloudModels, type CloudEvent, type CloudModels } from '@unimic/cloud-peer';
import { EdgePeer, type EdgeEvent } from '@unimic/edge-peer';

/*
 * Fault isolation as a worker sees it: two sessions share one process and one set of models
 * (as a cloud worker serves them), each over its own real werift connection. Edge A's link dies
 * in the middle of generation; the cloud's sends for A then fail. That must end A's request,
 * never the process, and B's request on the same models must complete. (An unhandled rejection
 * fails this test file: vitest reports it as an error.)
 */

const root = path.resolve(import.meta.dirname, '..');
const packDir = process.env.UNIMIC_PACK ?? path.join(root, 'models/default');
const manifest = existsSync(path.join(packDir, 'manifest.json')) ? readFileSync(path.join(packDir, 'manifest.json'), 'utf8') : '';
const kodak: Record<string, number[]> = JSON.parse(readFileSync(path.join(root, 'test/fixtures/kodak-grids.json'), 'utf8')).grids;
const region = Array.from({ length: 256 }, (_, i) => i).filter((i) => i >> 4 >= 6);

describe.skipIf(!manifest.includes('"entropy.masked.backbone"'))('a dead edge ends only its own request', () => {
  let pack: LoadedPack;
  let models: CodingModels;
  let shared: CloudModels;
  const links: { offerer: WeriftPeer; answerer: WeriftPeer }[] = [];
  const clouds: CloudPeer[] = [];
  const edges: EdgePeer[] = [];
  const events: { who: 'A' | 'B'; e: CloudEvent }[] = [];

  beforeAll(async () => {
    await ensureBrotli();
    pack = await loadPack(folderReader(packDir));
    models = await codingModels(pack, wasmRuntime());
    shared = await cloudModels(models, pack);
    for (const who of ['A', 'B'] as const) {
      const link = await connectedPair({ mode: 'reliable' });
      links.push(link);
      clouds.push(
        new CloudPeer({
          transport: link.answerer,
          pack: { id: pack.manifest.id, sha256: pack.digest },
          models: shared,
          readiness: { afterStages: 8, deadlineMs: 20_000 },
          steps: 8,
          onEvent: (e) => events.push({ who, e }),
        }),
      );
      const edge = new EdgePeer({ transport: link.offerer, pack, models: models.list });
      await edge.open();
      edges.push(edge);
    }
  }, 90_000);

  afterAll(async () => {
    for (const c of clouds) c.close();
    for (const e of edges) e.close();
    await Promise.all(links.flatMap((l) => [l.offerer.close(), l.answerer.close()]));
  });

  it('edge A dies at its first generation step; the cloud reports A lost, and B completes', async () => {
    const grid = Int32Array.from(kodak['kodim04.png'] as number[]);
    const a = lastValueFrom((edges[0] as EdgePeer).run({ task: 'inpaint', requestId: 1, grid, region, steps: 8, deadlineMs: 60_000 }).pipe(toArray())).then(
      () => 'completed',
      () => 'failed',
    );
    const killer = setInterval(() => {
      if (events.some(({ who, e }) => who === 'A' && e.type === 'step-sent')) {
        clearInterval(killer);
        void (links[0] as { offerer: WeriftPeer }).offerer.close(); // the edge goes away without a word
      }
    }, 5);
    const b = lastValueFrom((edges[1] as EdgePeer).run({ task: 'inpaint', requestId: 1, grid, region, steps: 8, deadlineMs: 60_000 }).pipe(toArray()));
    const bEvents = await b;
    clearInterval(killer);
    expect(await a).toBe('failed');
    const result = bEvents.at(-1) as Extract<EdgeEvent, { type: 'result' }>;
    expect(result.type).toBe('result');
    expect(result.result.ok).toBe(true);
    expect(result.result.tokensDown).toBe(region.length);
    // A's request ends on the cloud too (a result with ok false, or stopped), with nothing thrown
    await new Promise((r) => setTimeout(r, 2_000));
    const aEnd = events.filter(({ who, e }) => who === 'A' && (e.type === 'result' || e.type === 'refused'));
    expect(aEnd.length).toBeGreaterThan(0);
    const aRefused = aEnd.flatMap(({ e }) => (e.type === 'refused' ? [e.error.code] : []));
    for (const code of aRefused) expect([ErrorCode.ConnectionLost, ErrorCode.Remote]).toContain(code);
    expect(events.filter(({ who, e }) => who === 'B' && e.type === 'refused')).toEqual([]);
  }, 120_000);
});
