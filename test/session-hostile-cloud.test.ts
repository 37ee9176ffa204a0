import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { lastValueFrom, toArray } from 'rxjs';
import { loadPack, type LoadedPack } from '@unimic/models';
import { folderReader } from '@unimic/models/node';
import { wasmRuntime } from '@unimic/models/wasm';
import { ErrorCode, STREAM_IDS, decodeControl, encodeControl, ensureBrotli, isProtocolError, PROTOCOL_VERSION, type ControlMessage } from '@unimic/protocol';
import { codingModels, type CodingModels } from '@unimic/session';
import type { WeriftPeer } from '@unimic/transport';
import { EdgePeer } from '@unimic/edge-peer';
import { connectedPair } from './fixtures/peer-pair.ts';

/*
 * The edge against a cloud that lies about its generation steps (a real EdgePeer on a real werift
 * pair; the "cloud" is this test speaking raw control messages): a step bitmap of the wrong size,
 * one selecting cells past the open list, or steps out of order end the request with a typed
 * error, never with tokens placed in the wrong cells.
 */

const root = path.resolve(import.meta.dirname, '..');
const packDir = process.env.UNIMIC_PACK ?? path.join(root, 'models/default');
const manifest = existsSync(path.join(packDir, 'manifest.json')) ? readFileSync(path.join(packDir, 'manifest.json'), 'utf8') : '';

describe.skipIf(!manifest.includes('"entropy.masked.backbone"'))('edge against a lying cloud', () => {
  let pack: LoadedPack;
  let models: CodingModels;
  let pair: { offerer: WeriftPeer; answerer: WeriftPeer } | undefined;

  beforeAll(async () => {
    await ensureBrotli();
    pack = await loadPack(folderReader(packDir));
    models = await codingModels(pack, wasmRuntime());
  }, 60_000);

  afterEach(async () => {
    await Promise.all([pair?.offerer.close(), pair?.answerer.close()]);
    pair = undefined;
  });

  /** Opens a session whose cloud answers every t2i task with `steps` (given the request id). */
  async function lyingCloud(steps: (requestId: number) => ControlMessage[]): Promise<EdgePeer> {
    pair = await connectedPair({ mode: 'reliable' });
    const cloud = pair.answerer;
    cloud.control.messages$.subscribe((bytes) => {
      const m = decodeControl(bytes);
      const send = (r: ControlMessage) => void cloud.control.send(encodeControl(r));
      if (m.type === 'open') send({ type: 'open', protocolVersion: PROTOCOL_VERSION, role: 'cloud', pack: m.pack, capabilities: { models: models.list.map((x) => x.name), tasks: ['t2i'], maxChunkBytes: 1200 } });
      if (m.type === 'task') for (const s of steps(m.requestId)) send(s);
    });
    const edge = new EdgePeer({ transport: pair.offerer, pack, models: models.list });
    await edge.open();
    return edge;
  }

  // text-to-image's output stream is image:full (0)
  const step = (requestId: number, stage: number, cells: Uint8Array): ControlMessage => ({ type: 'step', requestId, stream: STREAM_IDS['image:full'], stage, upStages: 0, cells });

  async function failure(edge: EdgePeer): Promise<unknown> {
    try {
      await lastValueFrom(edge.run({ task: 't2i', requestId: 7, text: 'a red star', steps: 4, deadlineMs: 10_000 }).pipe(toArray()));
    } catch (err) {
      return err;
    }
    return undefined;
  }

  it.each([
    ['a bitmap one byte short of the 256 open cells', (id: number) => [step(id, 0, new Uint8Array(31).fill(1))], ErrorCode.Malformed],
    ['a bitmap selecting nothing', (id: number) => [step(id, 0, new Uint8Array(32))], ErrorCode.Malformed],
    ['step 1 before step 0', (id: number) => [step(id, 1, new Uint8Array(32).fill(1))], ErrorCode.InvalidField],
    ['a second step sized for the cells the first one took', (id: number) => [step(id, 0, Uint8Array.of(0xff, ...new Uint8Array(31))), step(id, 1, new Uint8Array(32).fill(2))], ErrorCode.Malformed],
  ])('%s ends the request with a typed error', async (_what, steps, expected) => {
    const edge = await lyingCloud(steps);
    const err = await failure(edge);
    expect(isProtocolError(err) && err.code).toBe(expected);
    edge.close();
  }, 60_000);
});
