/*
 * The progressive-rendering page (bundled for the browser by server.ts). Everything the edge does
 * runs in this tab: the pack is fetched and verified (SHA-256), the tokenizer and entropy models
 * run on onnxruntime-web (wasm), text goes through the same BPE and Brotli as in Node, and the
 * session talks to the cloud worker over the browser's own RTCPeerConnection. Each generation step
 * the cloud streams is decoded as it lands and painted as one frame.
 *
 * dom.ts: elements and helpers · state.ts: page state and the status pill · edge.ts: pack and models ·
 * controls.ts: input and form · view.ts: output, counters, runs table · connection.ts: the session ·
 * runs.ts: a run · test-hook.ts: `window.unimic`.
 */
import type { TaskName } from '@unimic/protocol';
import { allowHostCandidates } from '@unimic/transport/browser';
import { TASK_LABEL, errorMessage, fetchOk, ui } from './dom.ts';
import { closeConnection, ensureConnected } from './connection.ts';
import { addSamples, bindControls, pickSample, selectTask } from './controls.ts';
import { loadEdge } from './edge.ts';
import { runFromForm } from './runs.ts';
import { centreRegion, page, setState } from './state.ts';
import { installTestHook } from './test-hook.ts';

export type { RunSummary } from './runs.ts';
export type { RunOptions } from './test-hook.ts';

/** GET /api/config: what the server offers. */
interface Config {
  readonly samples: readonly string[];
  readonly cloudPack: boolean;
}

async function boot(): Promise<{ tasks: TaskName[] }> {
  setState('loading', 'loading…');
  bindControls();
  // bound here: runs.ts reads the form, so controls.ts does not import it
  ui.run.addEventListener('click', () => void runFromForm().catch(() => undefined));
  centreRegion();
  selectTask('inpaint');
  const config = (await (await fetchOk('/api/config')).json()) as Config;
  addSamples(config.samples);
  const first = config.samples.find((s) => s.startsWith('kodim23')) ?? config.samples[0];
  if (first) await pickSample(first);
  page.edge = await loadEdge((text) => setState('loading', text));
  // Chromium offers a loopback candidate only once the page may list interfaces
  if (!(await allowHostCandidates())) console.warn('no media permission: the browser may offer no loopback ICE candidate');
  await ensureConnected();
  setState('ready', `ready · cloud offers ${page.cloudTasks.map((x) => TASK_LABEL[x]).join(', ')}${config.cloudPack ? '' : ' (no cloud pack: no VQA)'}`);
  return { tasks: page.cloudTasks };
}

const ready = boot();
ready.catch((err: unknown) => setState('error', errorMessage(err)));
addEventListener('pagehide', closeConnection);
installTestHook(ready);
