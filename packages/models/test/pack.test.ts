import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '@unimic/protocol';
import { loadPack, parseManifest } from '../src/index.ts';
import { folderReader } from '../src/node.ts';

const model = new Uint8Array([8, 7, 6, 5, 4, 3, 2, 1]);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function manifest(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    format: 'unimic-pack/1',
    id: 'test-pack',
    image: { width: 128, height: 128, downsample: 8 },
    codebook: { size: 8192, kind: 'fsq', levels: [8, 8, 8, 4, 4] },
    models: [
      {
        role: 'entropy.masked.backbone',
        file: 'masked.onnx',
        sha256: sha(model),
        bytes: model.length,
        runtime: 'onnxruntime-web-wasm@1.30.0',
        inputs: [{ name: 'tokens', dtype: 'int32', shape: ['batch', 256] }],
        outputs: [{ name: 'logits', dtype: 'float32', shape: ['batch', 256, 8192] }],
      },
    ],
    ...over,
  };
}

async function packDir(m: unknown, file = model): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'unimic-pack-'));
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(m));
  await writeFile(path.join(dir, 'masked.onnx'), file);
  return dir;
}

const code = (c: string) => expect.objectContaining({ code: c });

describe('model pack', () => {
  it('loads a pack, verifies every file and names it by the manifest digest', async () => {
    const dir = await packDir(manifest());
    const pack = await loadPack(folderReader(dir));
    expect(pack.manifest.id).toBe('test-pack');
    expect(Array.from(pack.files.get('entropy.masked.backbone') ?? [])).toEqual(Array.from(model));
    expect(pack.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a file whose bytes are not the listed ones', async () => {
    const tampered = model.slice();
    tampered[0] = 9;
    await expect(loadPack(folderReader(await packDir(manifest(), tampered)))).rejects.toThrow(code(ErrorCode.ChecksumMismatch));
    await expect(loadPack(folderReader(await packDir(manifest(), model.subarray(1))))).rejects.toThrow(code(ErrorCode.ChecksumMismatch));
  });

  it('verifies assets (JSON files) like models and refuses an unknown asset role', async () => {
    const counts = new TextEncoder().encode('{"counts":[1,2,3]}');
    const m = manifest({ assets: [{ role: 'entropy.static.counts', file: 'static.json', sha256: sha(counts), bytes: counts.length }] });
    const dir = await packDir(m);
    await writeFile(path.join(dir, 'static.json'), counts);
    const pack = await loadPack(folderReader(dir), ['entropy.static.counts']);
    expect(new TextDecoder().decode(pack.files.get('entropy.static.counts'))).toBe('{"counts":[1,2,3]}');
    await writeFile(path.join(dir, 'static.json'), '{"counts":[1,2,4]}');
    await expect(loadPack(folderReader(dir), ['entropy.static.counts'])).rejects.toThrow(code(ErrorCode.ChecksumMismatch));
    expect(() => parseManifest(manifest({ assets: [{ role: 'weights', file: 'w.json', sha256: sha(counts), bytes: 3 }] }))).toThrow(code(ErrorCode.InvalidField));
  });

  it('refuses a role the pack does not have', async () => {
    await expect(loadPack(folderReader(await packDir(manifest())), ['entropy.text.head'])).rejects.toThrow(code(ErrorCode.InvalidField));
  });

  it('parses strictly: unknown, missing, mistyped fields, traversal and prototype keys', () => {
    const bad = code(ErrorCode.InvalidField);
    expect(() => parseManifest(manifest({ extra: 1 }))).toThrow(bad);
    expect(() => parseManifest({ ...manifest(), format: 'other/1' })).toThrow(bad);
    const { id: _id, ...noId } = manifest();
    expect(() => parseManifest(noId)).toThrow(bad);
    expect(() => parseManifest(manifest({ codebook: { size: 8192, kind: 'fsq', levels: [8, 8, 8, 4] } }))).toThrow(bad);
    expect(() => parseManifest(manifest({ image: { width: 100, height: 128, downsample: 8 } }))).toThrow(bad);
    const m = manifest();
    const models = m.models as Array<Record<string, unknown>>;
    for (const file of ['../etc/passwd', 'a/b.onnx', '.hidden']) {
      expect(() => parseManifest({ ...m, models: [{ ...models[0], file }] })).toThrow(bad);
    }
    expect(() => parseManifest({ ...m, models: [{ ...models[0], sha256: 'ABC' }] })).toThrow(bad);
    expect(() => parseManifest({ ...m, models: [models[0], models[0]] })).toThrow(bad);
    expect(() => parseManifest(JSON.parse('{"__proto__": {"polluted": 1}}'))).toThrow(code(ErrorCode.ForbiddenKey));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses a manifest that is not JSON', async () => {
    const dir = await packDir(manifest());
    await writeFile(path.join(dir, 'manifest.json'), '{"format": ');
    await expect(loadPack(folderReader(dir))).rejects.toThrow(code(ErrorCode.Malformed));
  });
});
