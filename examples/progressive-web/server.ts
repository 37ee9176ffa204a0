/**
 * `npm run web` — the progressive-rendering page: bundles app.ts for the browser (esbuild), serves
 * it with onnxruntime-web's wasm files, the default pack and the samples, starts a signaling
 * server on loopback and a cloud worker as its own process (examples/cloud-worker.ts, with the
 * cloud pack when models/cloud holds one), and hands the page a fresh edge token per session.
 *
 *   npm run web [-- --port 8765] [-- --cloud-pack DIR|none] [-- --verbose]
 *
 * Everything listens on 127.0.0.1 only. WebRTC goes browser ↔ cloud worker directly; the page's
 * edge (tokenizer, entropy coding, previews) runs in the browser on onnxruntime-web.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { createSignalingServer, type SignalingServer } from '@unimic/signaling';

const HERE = import.meta.dirname;
const ROOT = path.resolve(HERE, '../..');
const ORT_DIST = path.join(ROOT, 'node_modules/onnxruntime-web/dist');
const BROTLI_WASM = path.join(ROOT, 'node_modules/brotli-wasm/pkg.web/brotli_wasm_bg.wasm');
const SAMPLES = path.join(ROOT, 'examples/samples');

/** Imports that must never reach the browser bundle (Node-only or native). */
const FORBIDDEN = /^(werift|ws|onnxruntime-node|node:.*|fs|path|os|net|http|https|crypto|module|child_process|worker_threads)$/;

export interface WebServerOptions {
  /** HTTP port (0: any free one). Default 0. */
  readonly port?: number;
  /** The coding pack the page and the cloud load. Default models/default (or UNIMIC_PACK). */
  readonly packDir?: string;
  /** The cloud's generative pack; `null`: none (no VQA). Default models/cloud (or UNIMIC_CLOUD_PACK) when it exists. */
  readonly cloudPackDir?: string | null;
  /** The cloud's readiness floor in upload stages (the page's "start after" asks for more). Default 1. */
  readonly afterStages?: number;
  /** Sessions one cloud worker serves at once (page reloads, several tabs). Default 4. */
  readonly sessionsPerWorker?: number;
  /** Progress and cloud logs. Default: to stderr. */
  readonly log?: (line: string) => void;
  /** Also log every cloud event. */
  readonly verbose?: boolean;
}

export interface WebServer {
  readonly url: string;
  readonly signalingUrl: string;
  /** Whether the cloud worker runs with a cloud pack (then it offers VQA). */
  readonly cloudPack: string | null;
  /** The files esbuild put in the page's bundles, app.js and model-worker.js (relative to the repository). */
  readonly bundleInputs: readonly string[];
  readonly bundleBytes: number;
  close(): Promise<void>;
}

export class WebServerError extends Error {
  override readonly name = 'WebServerError';
  constructor(
    readonly code: 'ERR_BUNDLE' | 'ERR_NO_PACK' | 'ERR_CLOUD_WORKER',
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** Fails the build on any import the browser must not see, naming who imported it. */
const browserOnly: Plugin = {
  name: 'browser-only',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (a) => (FORBIDDEN.test(a.path) ? { errors: [{ text: `${a.importer} imports ${a.path}, which cannot run in a browser` }] } : undefined));
  },
};

/**
 * Bundles the page's script (app.js) and its model worker (model-worker.js) for browsers; throws
 * WebServerError ERR_BUNDLE on a forbidden import.
 */
export async function bundleApp(): Promise<{ files: ReadonlyMap<string, Uint8Array>; inputs: string[] }> {
  try {
    const r = await build({
      entryPoints: { app: path.join(HERE, 'app.ts'), 'model-worker': path.join(HERE, 'model-worker.ts') },
      outdir: '/bundle',
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      write: false,
      metafile: true,
      sourcemap: 'inline',
      logLevel: 'silent',
      absWorkingDir: ROOT,
      // The wasm-only build of onnxruntime-web: the same ort-wasm-simd-threaded.wasm that Node
      // runs (bit-exact tables on both peers), and none of the default (JSEP) build's global
      // "one run at a time" guard, which throws "Session already started" when upload coding
      // and step decoding overlap.
      alias: { 'onnxruntime-web': 'onnxruntime-web/wasm' },
      plugins: [browserOnly],
    });
    const files = new Map(r.outputFiles.map((f) => [path.basename(f.path), f.contents] as const));
    if (!files.has('app.js') || !files.has('model-worker.js')) throw new Error(`unexpected outputs ${[...files.keys()].join(', ')}`);
    return { files, inputs: Object.keys(r.metafile.inputs) };
  } catch (err) {
    const errors = (err as { errors?: { text: string }[] }).errors;
    throw new WebServerError('ERR_BUNDLE', errors ? errors.map((e) => e.text).join('; ') : (err as Error).message);
  }
}

export async function startWebServer(options: WebServerOptions = {}): Promise<WebServer> {
  const log = options.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const packDir = path.resolve(options.packDir ?? process.env.UNIMIC_PACK ?? path.join(ROOT, 'models/default'));
  const manifestPath = path.join(packDir, 'manifest.json');
  if (!existsSync(manifestPath)) throw new WebServerError('ERR_NO_PACK', `no pack at ${packDir}`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { models: { file: string }[]; assets?: { file: string }[] };
  const packFiles = new Set(['manifest.json', ...manifest.models.map((m) => m.file), ...(manifest.assets ?? []).map((a) => a.file)]);
  const cloudCandidate = options.cloudPackDir === undefined ? (process.env.UNIMIC_CLOUD_PACK ?? path.join(ROOT, 'models/cloud')) : options.cloudPackDir;
  const cloudPack = cloudCandidate && existsSync(path.join(cloudCandidate, 'manifest.json')) ? path.resolve(cloudCandidate) : null;
  const samples = readdirSync(SAMPLES).filter((f) => f.endsWith('.png')).sort();

  const t0 = performance.now();
  const { files: bundle, inputs } = await bundleApp();
  const bundleBytes = [...bundle.values()].reduce((a, f) => a + f.length, 0);
  log(`bundled app.ts and model-worker.ts for the browser: ${(bundleBytes / 1e6).toFixed(2)} MB, ${inputs.length} modules, ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const signaling = await createSignalingServer({ port: 0, limits: { maxSessionsPerWorker: options.sessionsPerWorker ?? 4 } });
  let child: ChildProcess | null = null;
  let http: Server | null = null;
  const killChild = () => void child?.kill('SIGTERM');
  process.once('exit', killChild);
  try {
    log(`starting a cloud worker (${cloudPack ? `cloud pack ${path.relative(ROOT, cloudPack)}: t2i, inpaint, outpaint, VQA` : 'no cloud pack: t2i, inpaint, outpaint with the entropy models, no VQA'})…`);
    child = await spawnCloud(signaling, packDir, cloudPack, options.afterStages ?? 1, log, options.verbose ?? false);
    const html = readFileSync(path.join(HERE, 'index.html'));
    const css = readFileSync(path.join(HERE, 'style.css'));
    http = createServer((req, res) => serve(req, res));
    function serve(req: IncomingMessage, res: ServerResponse) {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const p = url.pathname;
      const send = (status: number, type: string, body: Uint8Array | string) => {
        res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
        res.end(body);
      };
      if (req.method !== 'GET') return send(405, 'text/plain', 'GET only');
      if (p === '/' || p === '/index.html') return send(200, 'text/html; charset=utf-8', html);
      if (p === '/style.css') return send(200, 'text/css; charset=utf-8', css);
      const script = bundle.get(p.slice(1));
      if (script) return send(200, 'text/javascript; charset=utf-8', script);
      // brotli-wasm's web build fetches its wasm next to the script that imports it
      if (p === '/brotli_wasm_bg.wasm') return send(200, 'application/wasm', readFileSync(BROTLI_WASM));
      if (p === '/api/config') return send(200, 'application/json', JSON.stringify({ samples, cloudPack: cloudPack !== null }));
      if (p === '/api/session') {
        // a fresh single-use edge token per WebRTC session (the server refuses a replayed one)
        const token = signaling.mintToken('edge', `web-${randomBytes(6).toString('hex')}`, 60_000);
        return send(200, 'application/json', JSON.stringify({ signalingUrl: signaling.url, token }));
      }
      // only names we list: no path from the request ever reaches the file system unchecked
      const name = path.basename(p);
      if (p.startsWith('/ort/') && /^ort[-\w.]*\.(wasm|mjs)$/.test(name) && existsSync(path.join(ORT_DIST, name))) {
        return send(200, name.endsWith('.wasm') ? 'application/wasm' : 'text/javascript', readFileSync(path.join(ORT_DIST, name)));
      }
      if (p.startsWith('/pack/') && packFiles.has(name)) return send(200, 'application/octet-stream', readFileSync(path.join(packDir, name)));
      if (p.startsWith('/samples/') && samples.includes(name)) return send(200, 'image/png', readFileSync(path.join(SAMPLES, name)));
      return send(404, 'text/plain', 'not found');
    }
    const server = http;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', resolve);
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    return {
      url,
      signalingUrl: signaling.url,
      cloudPack,
      bundleInputs: inputs,
      bundleBytes,
      async close() {
        process.off('exit', killChild);
        killChild();
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
        await signaling.close();
      },
    };
  } catch (err) {
    process.off('exit', killChild);
    killChild();
    http?.close();
    await signaling.close();
    throw err;
  }
}

/** examples/cloud-worker.ts as a child process; resolves once it has registered. */
async function spawnCloud(signaling: SignalingServer, packDir: string, cloudPack: string | null, afterStages: number, log: (l: string) => void, verbose: boolean): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'examples/cloud-worker.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      SIGNALING_URL: signaling.url,
      TOKEN: signaling.mintToken('cloud', 'web-cloud-1', 120_000),
      UNIMIC_PACK: packDir,
      // a folder without a manifest: the worker then runs without a cloud pack
      UNIMIC_CLOUD_PACK: cloudPack ?? path.join(packDir, 'no-cloud-pack'),
      AFTER_STAGES: String(afterStages),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => log(`[cloud] ${l}`));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => (child.kill('SIGTERM'), reject(new WebServerError('ERR_CLOUD_WORKER', 'the cloud worker did not register within 120 s'))), 120_000);
    child.once('exit', (code) => (clearTimeout(timer), reject(new WebServerError('ERR_CLOUD_WORKER', `the cloud worker exited with ${code}`))));
    lines.on('line', (l) => {
      if (l.includes('"registered"')) clearTimeout(timer), resolve();
    });
  });
  lines.on('line', (l) => verbose && log(`[cloud] ${l}`));
  child.once('exit', (code, signal) => signal !== 'SIGTERM' && log(`[cloud] the cloud worker exited (${code ?? signal}); sessions will fail until the server restarts`));
  return child;
}

async function main() {
  const args = process.argv.slice(2);
  const opt = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const cloud = opt('cloud-pack');
  const t0 = performance.now();
  const web = await startWebServer({
    port: Number(opt('port') ?? process.env.PORT ?? 8765),
    ...(cloud !== undefined ? { cloudPackDir: cloud === 'none' ? null : cloud } : {}),
    verbose: args.includes('--verbose'),
  });
  console.log(`\nUniMIC-RTC progressive web edge ready in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${web.url}`);
  console.log(`  signaling ${web.signalingUrl}, cloud worker ${web.cloudPack ? 'with the cloud pack (VQA on)' : 'without a cloud pack (no VQA)'}`);
  console.log('  WebRTC stays on 127.0.0.1, so the browser must offer a loopback candidate; open the page in Chromium or Chrome started as');
  console.log(`    chromium --user-data-dir=/tmp/unimic-web --allow-loopback-in-peer-connection ${web.url}`);
  console.log('  (the page asks for the microphone once, only so that the browser lists its interfaces; nothing is recorded)');
  const stop = () => void web.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
