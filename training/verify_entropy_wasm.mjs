// Checks the decoder-side properties of the exported entropy models in onnxruntime-web (wasm), the
// runtime the peers pin for entropy models:
//   1. head: logits_d<k> of a call with only digits 0..k-1 filled in (the rest 0) are bit-identical
//      to those of the one "teacher" call with all true digits (encoder vs decoder path);
//   2. ar backbone: row i of h is bit-identical whatever the tokens at positions >= i;
//   3. the same two runs give bit-identical outputs with 1 and 2 wasm threads.
//
//   node training/verify_entropy_wasm.mjs [ONNX_DIR]      (default ~/.cache/unimic/runs/entropy-onnx)
//   ORT_DIR=<folder whose node_modules has onnxruntime-web> (default: the repository root)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const dir = process.argv[2] ?? path.join(process.env.UNIMIC_RUNS ?? path.join(os.homedir(), '.cache/unimic/runs'), 'entropy-onnx');
const ortDir = process.env.ORT_DIR ?? path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const ort = await import(pathToFileURL(createRequire(path.join(ortDir, 'x.js')).resolve('onnxruntime-web')).href);

let seed = 12345;
const rand = (n) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed % n; };
const eq = (a, b) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
let failures = 0;
const check = (name, ok) => { console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}`); if (!ok) failures++; };

for (const m of ['ar', 'masked', 'text']) {
  const bbPath = path.join(dir, `entropy_${m}_backbone.onnx`);
  const hdPath = path.join(dir, `entropy_${m}_head.onnx`);
  if (!fs.existsSync(bbPath)) continue;
  const outs = {};
  for (const threads of [1, 2]) {
    ort.env.wasm.numThreads = threads;
    const bb = await ort.InferenceSession.create(fs.readFileSync(bbPath), { executionProviders: ['wasm'] });
    const hd = await ort.InferenceSession.create(fs.readFileSync(hdPath), { executionProviders: ['wasm'] });
    seed = 12345;
    const tokens = Int32Array.from({ length: 256 }, (_, i) => (m !== 'ar' && i % 3 === 0 ? 8192 : rand(8192)));
    const feeds = { tokens: new ort.Tensor('int32', tokens, [1, 256]) };
    if (m === 'text') feeds.text = new ort.Tensor('int32', Int32Array.from({ length: 32 }, (_, i) => (i < 12 ? 2 + rand(500) : 0)), [1, 32]);
    const h = (await bb.run(feeds)).h.data;
    if (m === 'ar' && threads === 1) {
      let same = true;
      for (const i of [0, 1, 77, 255]) {
        const t2 = tokens.slice(); t2.fill(0, i);
        const h2 = (await bb.run({ tokens: new ort.Tensor('int32', t2, [1, 256]) })).h.data;
        same &&= eq(h2.subarray(i * 256, (i + 1) * 256), h.subarray(i * 256, (i + 1) * 256));
      }
      check(`${m}: backbone row i independent of tokens >= i (wasm)`, same);
    }
    const P = 49;
    const hP = new ort.Tensor('float32', h.slice(0, P * 256), [1, P, 256]);
    const digits = Int32Array.from({ length: P * 5 }, (_, j) => rand([8, 8, 8, 4, 4][j % 5]));
    const teacher = await hd.run({ h: hP, digits: new ort.Tensor('int32', digits, [1, P, 5]) });
    let same = true;
    for (let k = 0; k < 5; k++) {
      const part = digits.map((v, j) => (j % 5 < k ? v : 0));
      const o = await hd.run({ h: hP, digits: new ort.Tensor('int32', part, [1, P, 5]) });
      same &&= eq(o[`logits_d${k}`].data, teacher[`logits_d${k}`].data);
    }
    if (threads === 1) check(`${m}: head logits_d<k> from partial digits == teacher call (wasm)`, same);
    if (threads === 1) {
      // informational: is a row's result independent of how many rows share the call (P=1 vs P=49)?
      let rowSame = true;
      for (const j of [0, 17, 48]) {
        const o = await hd.run({ h: new ort.Tensor('float32', h.slice(j * 256, (j + 1) * 256), [1, 1, 256]),
          digits: new ort.Tensor('int32', digits.slice(j * 5, j * 5 + 5), [1, 1, 5]) });
        for (let k = 0; k < 5; k++) {
          const L = [8, 8, 8, 4, 4][k];
          rowSame &&= eq(o[`logits_d${k}`].data, teacher[`logits_d${k}`].data.subarray(j * L, (j + 1) * L));
        }
      }
      console.log(`info ${m}: head row result independent of P (1 vs ${P}): ${rowSame}`);
    }
    outs[threads] = [h, ...[0, 1, 2, 3, 4].map((k) => teacher[`logits_d${k}`].data)];
  }
  check(`${m}: 1 vs 2 wasm threads bit-identical`, outs[1].every((a, i) => eq(a, outs[2][i])));
}
console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
process.exit(failures ? 1 : 0);
