/** The edge this tab runs: the pack (fetched, SHA-256 checked), the tokenizer and the session's entropy models. */
import { ImageTokenizer, loadPack, parseManifest, timedRuntime, type InferenceClock, type LoadedPack, type PackRole } from '@unimic/models';
import { ensureBrotli } from '@unimic/protocol';
import { CODING_MODEL_ROLES, codingModels, type CodingModels } from '@unimic/session';
import { PreviewRenderer } from '@unimic/edge-peer/browser';
import { fetchOk } from './dom.ts';
import { workerRuntime } from './worker-runtime.ts';

export interface Edge {
  readonly pack: LoadedPack;
  readonly tokenizer: ImageTokenizer;
  readonly models: CodingModels;
  readonly renderer: PreviewRenderer;
  readonly clock: InferenceClock;
}

export async function loadEdge(progress: (text: string) => void): Promise<Edge> {
  progress('loading Brotli (wasm)…');
  await ensureBrotli();
  const manifestBytes = new Uint8Array(await (await fetchOk('/pack/manifest.json')).arrayBuffer());
  const manifest = parseManifest(JSON.parse(new TextDecoder().decode(manifestBytes)));
  const listed = [...manifest.models, ...manifest.assets];
  // the edge needs the tokenizer and the session's entropy models, not the whole pack
  const roles = (['tokenizer.encoder', 'tokenizer.decoder', ...CODING_MODEL_ROLES] as PackRole[]).filter((r) => listed.some((m) => m.role === r));
  const total = listed.filter((m) => roles.includes(m.role)).reduce((a, m) => a + m.bytes, 0);
  let loaded = 0;
  const pack = await loadPack(async (name) => {
    if (name === 'manifest.json') return manifestBytes;
    const bytes = new Uint8Array(await (await fetchOk(`/pack/${name}`)).arrayBuffer());
    loaded += bytes.length;
    progress(`loading pack ${manifest.id}: ${(loaded / 1e6).toFixed(1)} / ${(total / 1e6).toFixed(1)} MB (SHA-256 checked)…`);
    return bytes;
  }, roles);
  progress('compiling models on onnxruntime-web (in a worker)…');
  const clock: InferenceClock = { ms: 0, runs: 0 };
  // every model run happens in a worker: the main thread keeps the UI and the WebRTC heartbeat going
  const runtime = timedRuntime(await workerRuntime('/model-worker.js', { wasmPaths: '/ort/' }), clock);
  const tokenizer = await ImageTokenizer.create(pack, runtime);
  const models = await codingModels(pack, runtime);
  return { pack, tokenizer, models, renderer: new PreviewRenderer(tokenizer, models.masked), clock };
}
