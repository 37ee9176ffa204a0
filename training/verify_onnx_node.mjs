// Runs exported ONNX graphs in onnxruntime-node on fixtures written by the Python exporters
// (export_cloud.py, scene_classifier.py) and prints, as one JSON line, the max |ONNX - PyTorch| per output.
//
//   node training/verify_onnx_node.mjs FIXTURE_DIR
//
// FIXTURE_DIR/manifest.json: [{ "model": "<path to .onnx>", "inputs": [{ "name", "dtype": "int32"|"float32",
// "shape", "file" }], "outputs": [{ "name", "shape", "file" }] }, ...]; every file is raw little-endian data.
// ORT_DIR=<folder whose node_modules has onnxruntime-node> (default: the repository root).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const dir = process.argv[2];
const ortDir = process.env.ORT_DIR ?? path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const ort = await import(pathToFileURL(createRequire(path.join(ortDir, 'x.js')).resolve('onnxruntime-node')).href);
const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
const read = (file, dtype) => {
  const buf = fs.readFileSync(path.join(dir, file));
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  return dtype === 'int32' ? new Int32Array(ab) : new Float32Array(ab);
};
const result = {};
for (const entry of manifest) {
  const session = await ort.InferenceSession.create(entry.model, { intraOpNumThreads: 1 });
  const feeds = {};
  for (const inp of entry.inputs) feeds[inp.name] = new ort.Tensor(inp.dtype, read(inp.file, inp.dtype), inp.shape);
  const t0 = performance.now();
  const out = await session.run(feeds);
  const ms = performance.now() - t0;
  const diffs = {};
  for (const o of entry.outputs) {
    const ref = read(o.file, 'float32');
    const got = out[o.name];
    if (!got || got.data.length !== ref.length) { diffs[o.name] = 'shape mismatch'; continue; }
    let m = 0;
    for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(got.data[i] - ref[i]));
    diffs[o.name] = m;
  }
  result[path.basename(entry.model)] = { max_abs_diff: diffs, run_ms: Math.round(ms * 10) / 10 };
}
console.log(JSON.stringify({ onnxruntime_node: ort.env.versions?.common ?? 'unknown', results: result }));
