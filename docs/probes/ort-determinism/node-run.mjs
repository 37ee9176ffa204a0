import fs from 'node:fs'; import crypto from 'node:crypto';
const toks = JSON.parse(fs.readFileSync('tok.json', 'utf8'));
const model = fs.readFileSync('m.onnx');
const hash = (f32) => crypto.createHash('sha256').update(Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength)).digest('hex').slice(0, 16);
const results = {};
async function run(name, ort, opts) {
  const s = await ort.InferenceSession.create(model, opts);
  const feeds = { tokens: new ort.Tensor('int64', BigInt64Array.from(toks.map(BigInt)), [1, 256]) };
  const t0 = performance.now(); let out; for (let i = 0; i < 3; i++) out = await s.run(feeds);
  const ms = (performance.now() - t0) / 3;
  results[name] = out.logp.data; console.log(name, hash(out.logp.data), ms.toFixed(1) + ' ms');
}
const web = await import('onnxruntime-web');
for (const threads of [1, 2]) { web.env.wasm.numThreads = threads; await run(`web-wasm-t${threads}`, web, { executionProviders: ['wasm'] }); }
const { createRequire } = await import('node:module'); const node = createRequire(import.meta.url)('onnxruntime-node');
for (const threads of [1, 2]) await run(`node-cpu-t${threads}`, node, { intraOpNumThreads: threads, executionProviders: ['cpu'] });
const a = results['web-wasm-t1'], b = results['node-cpu-t1']; let diff = 0; for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) diff++;
console.log('web vs node differing values', diff, 'of', a.length);
fs.writeFileSync('web-node-hash.txt', hash(a));
