/**
 * All tasks over real WebRTC as separate processes: the signaling server (CLI), a cloud worker
 * with the model pack, and an edge that runs several tasks in one session.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mintToken } from '@unimic/signaling';
import { loadPack } from '@unimic/models';
import { folderReader, nativeRuntime } from '@unimic/models/node';
import { bpeDecode, bpeEncode } from '@unimic/protocol';
import { CLOUD_MODEL_ROLES, UnifiedModel } from '@unimic/cloud-peer';
import { processes } from './fixtures/processes.ts';
import { loadHeldOutScenes, type HeldOutScene } from '../eval/scenes.ts';

const root = path.resolve(import.meta.dirname, '..');
const packDir = process.env.UNIMIC_PACK ?? path.join(root, 'models/default');
const manifest = existsSync(path.join(packDir, 'manifest.json')) ? readFileSync(path.join(packDir, 'manifest.json'), 'utf8') : '';
const cloudPackDir = process.env.UNIMIC_CLOUD_PACK ?? path.join(root, 'models/cloud');
const hasCloudPack = existsSync(path.join(cloudPackDir, 'manifest.json'));
const { start, killAll } = processes(root);
afterAll(killAll);

describe.skipIf(!manifest.includes('"entropy.masked.backbone"'))('sessions across three processes', () => {
  it('inpainting, outpainting, text-to-image and (with the cloud pack) VQA in one session', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'unimic-session-'));
    const secret = randomBytes(32);
    writeFileSync(path.join(dir, 'secret'), secret);
    const sig = start('packages/signaling/src/cli.ts', ['--port', '0', '--secret-file', path.join(dir, 'secret')], {});
    const port = /port=(\d+)/.exec(await sig.waitFor((l) => l.includes(' listening ')))?.[1];
    const env = { SIGNALING_URL: `ws://127.0.0.1:${port}`, UNIMIC_PACK: packDir, UNIMIC_CLOUD_PACK: cloudPackDir };
    const cloud = start('examples/cloud-worker.ts', [], { ...env, STEPS: '4', TOKEN: mintToken(secret, { role: 'cloud', sub: 'worker-s' }) });
    await cloud.event('registered', 60_000);
    const edge = start('test/fixtures/session-edge-process.ts', [], { ...env, TOKEN: mintToken(secret, { role: 'edge', sub: 'edge-s' }) });
    const open = await edge.event('open', 60_000);
    const tasks = open.tasks as string[];
    const inpaint = await edge.event('task', 120_000);
    expect(inpaint).toMatchObject({ task: 'inpaint', steps: 4, unknown: 0, keptOriginal: true, tokensDown: 48 });
    const outpaint = await edge.event('task', 120_000);
    expect(outpaint).toMatchObject({ task: 'outpaint', width: 16, height: 20, unknown: 0, tokensDown: 64 });
    const t2i = await edge.event('task', 120_000);
    expect(t2i).toMatchObject({ task: 't2i', uploads: 0, unknown: 0, tokensDown: 256 });
    if (hasCloudPack) {
      // the answer that crossed WebRTC is the one the cloud model gives when asked directly
      expect(tasks).toContain('vqa');
      const vqa = await edge.event('task', 120_000);
      const scene = loadHeldOutScenes()[5] as HeldOutScene;
      const model = await UnifiedModel.fromPack(await loadPack(folderReader(cloudPackDir), [...CLOUD_MODEL_ROLES]), nativeRuntime(1));
      const ids: number[] = [];
      for await (const piece of model.answer(scene.grid, Array.from(bpeEncode(scene.qa[0]?.[0] as string)), 0)) ids.push(...piece);
      expect(ids.length).toBeGreaterThan(0);
      expect(vqa).toMatchObject({ task: 'vqa', answer: bpeDecode(ids), tokensDown: ids.length });
    }
    await edge.event('done', 30_000);
    const start1 = await cloud.event('cloud-generation-start');
    expect(start1.upStages).toBeGreaterThanOrEqual(4);
  }, 300_000);
});
