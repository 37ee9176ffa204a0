/**
 * The lab's edge: one long-lived process in the edge namespace that runs the sessions the runner
 * asks for, one at a time, so models load once and a sweep spends its time on sessions. Commands
 * and records are JSON lines (stdin → stdout):
 *   → {"cmd":"run","config":SessionConfig,"token":"…","reference":false}
 *   ← {"event":"ready"} once, then {"event":"record","record":SessionRecord} per run
 * Each session gets its own impairment relay on the ICE path (lab/ice-path.ts), seeded by the
 * session, and its own signaling connection (a token is good for one).
 * Env: SIGNALING_URL, ICE_HOST (this namespace's address), UNIMIC_PACK, SESSION_DEADLINE_MS (default 90000).
 */
import path from 'node:path';
import { createInterface } from 'node:readline';
import { lastValueFrom, toArray } from 'rxjs';
import { ImageTokenizer, UNKNOWN, downscaleAndCrop, loadPack, psnr, type PlanarImage } from '@unimic/models';
import { folderReader, nativeRuntime, readImage } from '@unimic/models/node';
import { wasmRuntime } from '@unimic/models/wasm';
import { ensureBrotli } from '@unimic/protocol';
import { codingModels } from '@unimic/session';
import { connectEdge } from '@unimic/edge-peer/node';
import { PreviewRenderer, type EdgeEvent, type EdgeTask } from '@unimic/edge-peer';
import { createUdpRelay, type UdpRelay } from '@unimic/netlab';
import { throughRelay } from './ice-path.ts';
import { configFields, type DirectionCount, type SessionRecord } from './record.ts';
import { impairmentFor, type LabTask, type SessionConfig } from './sweep.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const signalingUrl = process.env.SIGNALING_URL ?? '';
const iceHost = process.env.ICE_HOST ?? '';
if (!signalingUrl || !iceHost) throw new Error('edge-agent needs SIGNALING_URL and ICE_HOST');
const deadlineMs = Number(process.env.SESSION_DEADLINE_MS ?? 90_000);

await ensureBrotli();
const pack = await loadPack(folderReader(process.env.UNIMIC_PACK ?? path.join(ROOT, 'models/default')));
const models = await codingModels(pack, wasmRuntime());
const tokenizer = await ImageTokenizer.create(pack, nativeRuntime());
const renderer = new PreviewRenderer(tokenizer, models.masked);
const input = downscaleAndCrop(await readImage(path.join(ROOT, 'examples/samples/kodim04.png')), 1, 128);
const grid = (await tokenizer.encode(input)).tokens;
const region = Array.from({ length: 256 }, (_, i) => i).filter((i) => i % 16 >= 4 && i % 16 < 12 && i >> 4 >= 4 && i >> 4 < 12);

/**
 * The requests a sweep sends: one fixed request per task (the same schedule seed every time), and
 * generation waits for the whole upload, so the output depends only on what arrived — the lossless
 * reference is then the same output, and any difference is the link's.
 */
const SCHEDULE = { kind: 'cosine', stages: 8, seed: 1 } as const;
function taskFor(task: LabTask, requestId: number): EdgeTask {
  const common = { requestId, steps: 8, startAfter: SCHEDULE.stages, schedule: SCHEDULE };
  if (task === 'inpaint') return { ...common, task, grid, region };
  if (task === 'outpaint') return { ...common, task, grid, outpaint: { side: 'right', amount: 8 } };
  if (task === 't2i') return { ...common, task, text: 'a lighthouse on a rocky coast' };
  return { requestId, task, grid, text: 'what is in the picture?', schedule: SCHEDULE };
}

interface Reference {
  readonly tokens: Int32Array;
  readonly image: PlanarImage | null;
  readonly answer: string | null;
}
/** By task and mode: a mode's own lossless run (partial mode codes and conditions differently). */
const references = new Map<string, Reference>();

const codeOf = (err: unknown): string => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'ERR_UNKNOWN';
};

function count(relays: UdpRelay[], dir: 'up' | 'down'): DirectionCount {
  let datagrams = 0, bytes = 0, dropped = 0;
  for (const r of relays) {
    const s = r.stats()[dir];
    datagrams += s.datagramsIn;
    bytes += s.bytesIn;
    dropped += s.dropped;
  }
  return { datagrams, bytes, dropped };
}

let requestId = 1;
async function run(config: SessionConfig, token: string, reference: boolean): Promise<SessionRecord> {
  const relays: UdpRelay[] = [];
  const base = { ...configFields(config), setupMs: null, setupAttempts: null, firstPreviewMs: null, finalMs: null, tokenBytesUp: null, tokenBytesDown: null, cells: null, psnrDb: null, identical: null, upStagesUsed: null };
  let conn: Awaited<ReturnType<typeof connectEdge>> | undefined;
  try {
    conn = await connectEdge({
      signalingUrl,
      token,
      pack,
      models: models.list,
      tokens: config.mode.tokens,
      ice: { loopbackOnly: false, iceHostAddress: iceHost },
      setup: {
        signals: (relay) =>
          throughRelay(relay, async (target) => {
            const r = await createUdpRelay({ listen: { address: iceHost, port: 0 }, target, up: impairmentFor(config, 'up'), down: impairmentFor(config, 'down') });
            relays.push(r);
            return { address: r.address, port: r.port };
          }),
      },
    });
    const setup = { setupMs: Math.round(conn.setupMs), setupAttempts: conn.setupAttempts };
    const t0 = performance.now();
    const task = taskFor(config.task, requestId++);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const events = await Promise.race([
      lastValueFrom(conn.edge.run(task).pipe(toArray())),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(Object.assign(new Error(`no result within ${deadlineMs} ms`), { code: 'ERR_LAB_DEADLINE' })), deadlineMs))),
    ]).finally(() => clearTimeout(timer));
    const first = events.find((e) => e.type === 'step' || e.type === 'answer');
    const result = events.at(-1) as Extract<EdgeEvent, { type: 'result' }>;
    const answerEvents = events.filter((e): e is Extract<EdgeEvent, { type: 'answer' }> => e.type === 'answer');
    const answer = answerEvents.at(-1)?.text ?? null;
    const tokens = Int32Array.from(result.grid.tokens);
    const image = config.task === 'vqa' ? null : await renderer.render(result.grid);
    const refKey = `${config.task} ${config.mode.name}`;
    if (reference) references.set(refKey, { tokens, image, answer });
    const ref = references.get(refKey);
    const lost = tokens.filter((t) => t === UNKNOWN).length;
    const exact = ref && ref.tokens.length === tokens.length ? tokens.filter((t, i) => t === ref.tokens[i]).length : null;
    const db = image && ref?.image ? psnr(image, ref.image) : null;
    return {
      ...base,
      ...setup,
      outcome: 'ok',
      firstPreviewMs: Math.round((first?.at ?? result.at) - t0),
      finalMs: Math.round(result.at - t0),
      tokenBytesUp: result.bytesUp,
      tokenBytesDown: result.bytesDown,
      udp: { up: count(relays, 'up'), down: count(relays, 'down') },
      cells: config.task === 'vqa' ? null : { total: tokens.length, exact: exact ?? 0, lost, concealed: lost },
      psnrDb: db !== null && Number.isFinite(db) ? +db.toFixed(2) : null,
      identical: db === null ? null : !Number.isFinite(db),
      ...(answer !== null ? { answer, answerRight: ref?.answer === answer } : {}),
      upStagesUsed: result.result.stagesUsed,
    };
  } catch (err) {
    return { ...base, ...(conn ? { setupMs: Math.round(conn.setupMs), setupAttempts: conn.setupAttempts } : {}), outcome: codeOf(err), message: String((err as Error)?.message ?? err).slice(0, 300), udp: { up: count(relays, 'up'), down: count(relays, 'down') } };
  } finally {
    await conn?.close().catch(() => undefined);
    await Promise.all(relays.map((r) => r.close()));
  }
}

process.on('unhandledRejection', (reason) => out({ event: 'agent-bug', message: String(reason) }));
out({ event: 'ready', gridCells: grid.length });
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const cmd = JSON.parse(line) as { cmd: 'run'; config: SessionConfig; token: string; reference?: boolean } | { cmd: 'exit' };
  if (cmd.cmd === 'exit') break;
  out({ event: 'record', record: await run(cmd.config, cmd.token, cmd.reference ?? false) });
}
process.exit(0);
