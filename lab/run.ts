/**
 * `npm run lab -- …` — real sessions over an emulated link, swept. Needs root.
 *
 *   npm run lab -- [--tasks inpaint,vqa] [--links loss:0,loss:10,ge:wlan,loss:5+delay:40~10]
 *                  [--modes reliable,partial,rtx:2,life:200] [--seeds 1,2] [--reps 5]
 *                  [--sweep sweep.json] [--out DIR] [--prefix umlab] [--addresses 10.213.7.1,10.213.7.2]
 *
 * Signaling and a cloud worker run in one network namespace, the lab's edge (lab/edge-agent.ts) in
 * another, joined by a veth pair. Every session's datagrams cross a seeded impairment relay on the
 * ICE path. Writes DIR/records.jsonl (one JSON line per session, also on stdout), DIR/summary.md,
 * DIR/metrics.json and the figures (DIR/*.svg and .png); a progress line on stderr.
 * A sweep file holds the same keys as the flags: {"tasks":"inpaint","links":"loss:0,loss:10",…}.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { createLab, removeStale, requireRoot, type Lab } from '@unimic/netlab';
import { mintToken } from '@unimic/signaling';
import { svgToPng } from '../eval/plot.ts';
import { labFigures } from './plots.ts';
import type { SessionRecord } from './record.ts';
import { labMetrics, summarize, summaryTable } from './summary.ts';
import { expandSweep, parseLink, parseSweep, type SessionConfig, type SweepSpec } from './sweep.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

export interface LabRunOptions {
  readonly spec: SweepSpec;
  readonly outDir: string;
  readonly prefix?: string;
  readonly addresses?: readonly [string, string];
  /** Progress lines (default: stderr, one line rewritten). */
  readonly progress?: (line: string) => void;
  /** Each record as it lands (default: a JSON line on stdout). */
  readonly onRecord?: (r: SessionRecord) => void;
}

export interface LabRunResult {
  readonly records: SessionRecord[];
  readonly summary: ReturnType<typeof summarize>;
  readonly metrics: ReturnType<typeof labMetrics>;
  readonly files: string[];
}

/** Lines of a child's stdout as JSON objects (other lines ignored). */
function jsonLines(child: ChildProcess, on: (o: Record<string, unknown>) => void): void {
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    try {
      on(JSON.parse(line) as Record<string, unknown>);
    } catch {
      /* not ours */
    }
  });
}

function waitFor<T>(what: string, ms: number, start: (resolve: (v: T) => void, reject: (e: Error) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    start(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}

function tail(child: ChildProcess): () => string {
  let text = '';
  child.stderr?.on('data', (d: Buffer) => (text = (text + d.toString()).slice(-2000)));
  return () => text.trim();
}

export async function runLab(opts: LabRunOptions): Promise<LabRunResult> {
  const notRoot = requireRoot();
  if (notRoot) throw new Error(notRoot);
  const progress = opts.progress ?? ((l: string) => process.stderr.write(`\r\x1b[2K${l}`));
  const onRecord = opts.onRecord ?? ((r: SessionRecord) => process.stdout.write(`${JSON.stringify(r)}\n`));
  const prefix = opts.prefix ?? 'umlab';
  const [addressA, addressB] = opts.addresses ?? ['10.213.7.1', '10.213.7.2'];
  mkdirSync(opts.outDir, { recursive: true });
  const stale = await removeStale(prefix);
  if (stale.length) progress(`removed a stale lab: ${stale.join(', ')}\n`);
  const lab: Lab = await createLab({ prefix, addressA, addressB });
  const records: SessionRecord[] = [];
  const secretFile = path.join(opts.outDir, '.secret');
  try {
    const secret = randomBytes(24).toString('hex');
    writeFileSync(secretFile, secret, { mode: 0o600 });
    const tsx = ['--import', 'tsx'];
    const signalingUrl = `ws://${addressA}:8443`;
    progress('starting signaling and the cloud worker…');
    const signaling = lab.spawn(lab.a.ns, process.execPath, [...tsx, path.join(ROOT, 'packages/signaling/src/cli.ts'), '--host', addressA, '--port', '8443', '--secret-file', secretFile], { cwd: ROOT });
    const sigErr = tail(signaling);
    signaling.stdout?.resume();
    const worker = lab.spawn(lab.a.ns, process.execPath, [...tsx, path.join(ROOT, 'examples/cloud-worker.ts')], {
      cwd: ROOT,
      env: { ...process.env, SIGNALING_URL: signalingUrl, SIGNALING_SECRET: secret, UNIMIC_ICE_HOST: addressA, AFTER_STAGES: '4', EVENTS: 'all' },
    });
    // the worker's JSON lines (every cloud event) are kept for post-mortems
    const workerLog = path.join(opts.outDir, 'worker.jsonl');
    writeFileSync(workerLog, '');
    jsonLines(worker, (o) => writeFileSync(workerLog, `${JSON.stringify(o)}\n`, { flag: 'a' }));
    const workerErr = tail(worker);
    let workerBugs = 0;
    let workerExited: number | null = null;
    worker.once('exit', (code) => (workerExited = code ?? -1));
    await waitFor<void>('cloud worker registration', 90_000, (resolve, reject) => {
      jsonLines(worker, (o) => {
        if (o.event === 'registered') resolve();
        if (o.event === 'worker-bug') workerBugs++;
      });
      worker.once('exit', () => reject(new Error(`the cloud worker exited: ${workerErr()} ${sigErr()}`)));
    });
    progress('starting the edge agent…');
    const agent = lab.spawn(lab.b.ns, process.execPath, [...tsx, path.join(ROOT, 'lab/edge-agent.ts')], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, SIGNALING_URL: signalingUrl, ICE_HOST: addressB },
    });
    const agentErr = tail(agent);
    const pending: ((r: SessionRecord) => void)[] = [];
    let agentDead: Error | null = null;
    const ready = waitFor<void>('edge agent start', 120_000, (resolve, reject) => {
      jsonLines(agent, (o) => {
        if (o.event === 'ready') resolve();
        if (o.event === 'record') pending.shift()?.(o.record as SessionRecord);
      });
      agent.once('exit', (code) => {
        agentDead = new Error(`the edge agent exited (${code}): ${agentErr()}`);
        reject(agentDead);
      });
    });
    await ready;
    const runOne = (config: SessionConfig, reference: boolean) =>
      waitFor<SessionRecord>(`session ${config.index}`, 180_000, (resolve, reject) => {
        if (agentDead) return reject(agentDead);
        pending.push((r) => {
          agent.off('exit', onExit);
          resolve(r);
        });
        const onExit = () => reject(agentDead ?? new Error('the edge agent exited'));
        agent.once('exit', onExit);
        const token = mintToken(secret, { role: 'edge', sub: `lab-${config.index}-${reference ? 'ref' : 'run'}-${randomBytes(4).toString('hex')}` });
        agent.stdin?.write(`${JSON.stringify({ cmd: 'run', config, token, reference })}\n`);
      });

    // the lossless reference run of each task in each mode: what fidelity is measured against
    const clean = parseLink('loss:0');
    for (const task of opts.spec.tasks)
      for (const mode of opts.spec.modes) {
        progress(`reference run: ${task}, ${mode.name}, no loss…`);
        const ref = await runOne({ index: -1, task, link: clean, mode, seed: 0, rep: 0 }, true);
        if (ref.outcome !== 'ok') throw new Error(`the lossless reference run of ${task} (${mode.name}) failed: ${ref.outcome} ${ref.message ?? ''}`);
      }
    const sessions = expandSweep(opts.spec);
    const t0 = performance.now();
    const file = path.join(opts.outDir, 'records.jsonl');
    writeFileSync(file, '');
    for (const config of sessions) {
      const done = records.length;
      const okSoFar = records.filter((r) => r.outcome === 'ok').length;
      const eta = done > 0 ? ((performance.now() - t0) / done) * (sessions.length - done) : NaN;
      progress(`[${done + 1}/${sessions.length}] ${config.task} ${config.link.name} ${config.mode.name} seed ${config.seed} rep ${config.rep} · ok ${okSoFar}/${done}${Number.isFinite(eta) ? ` · ~${Math.ceil(eta / 1000)} s left` : ''}`);
      const r = await runOne(config, false);
      records.push(r);
      writeFileSync(file, `${JSON.stringify(r)}\n`, { flag: 'a' });
      onRecord(r);
    }
    progress(`${sessions.length} sessions in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
    agent.stdin?.write(`${JSON.stringify({ cmd: 'exit' })}\n`);

    const summary = summarize(records);
    const metrics = [...labMetrics(summary), { name: 'faults.worker_exits', value: workerExited === null ? 0 : 1, unit: 'count' }, { name: 'faults.worker_bugs', value: workerBugs, unit: 'count' }];
    const files = [file];
    const write = (name: string, data: string | Uint8Array) => {
      const p = path.join(opts.outDir, name);
      writeFileSync(p, data);
      files.push(p);
    };
    write('summary.md', `# Lab sweep\n\n${summaryTable(summary)}\n`);
    write('metrics.json', `${JSON.stringify(metrics, null, 1)}\n`);
    for (const fig of labFigures(summary)) {
      write(`${fig.name}.svg`, fig.svg);
      write(`${fig.name}.png`, await svgToPng(fig.svg));
    }
    return { records, summary, metrics, files };
  } finally {
    await lab.teardown();
    rmSync(secretFile, { force: true }); // the signaling secret does not outlive the run
  }
}

function flagsOf(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${JSON.stringify(a)}`);
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${a} needs a value`);
    flags.set(a.slice(2), v);
    i++;
  }
  return flags;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const flags = flagsOf(process.argv.slice(2));
    const known = ['tasks', 'links', 'modes', 'seeds', 'reps', 'sweep', 'out', 'prefix', 'addresses'];
    for (const k of flags.keys()) if (!known.includes(k)) throw new Error(`unknown flag --${k} (known: ${known.map((x) => `--${x}`).join(' ')})`);
    const file = flags.get('sweep') ? (JSON.parse(readFileSync(flags.get('sweep') as string, 'utf8')) as Record<string, string>) : {};
    const pick = (k: string) => flags.get(k) ?? (file[k] === undefined ? undefined : String(file[k]));
    const spec = parseSweep({ tasks: pick('tasks'), links: pick('links'), modes: pick('modes'), seeds: pick('seeds'), reps: pick('reps') } as Parameters<typeof parseSweep>[0]);
    const addresses = flags.get('addresses')?.split(',') as [string, string] | undefined;
    const outDir = path.resolve(flags.get('out') ?? path.join('lab-out', new Date().toISOString().replace(/[:.]/g, '-')));
    const result = await runLab({ spec, outDir, ...(flags.get('prefix') ? { prefix: flags.get('prefix') as string } : {}), ...(addresses ? { addresses } : {}) });
    process.stderr.write(`\n${summaryTable(result.summary)}\n\nwrote ${path.relative(process.cwd(), outDir)}/ (records.jsonl, summary.md, metrics.json, ${result.files.filter((f) => f.endsWith('.svg')).length} figures as SVG and PNG)\n`);
    process.exit(0);
  } catch (err) {
    process.stderr.write(`\nlab: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
