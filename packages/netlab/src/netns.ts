/**
 * Two-namespace lab topology (ip netns + veth) with kernel-level impairments.
 *
 * Why: a real WebRTC session (werift, Chromium) run in two network namespaces joined by one veth pair
 * exchanges every packet over a link we control and can observe — nothing on the host's interfaces —
 * while both ends still use the real kernel UDP stack. This kernel has no netem, so the kernel-level
 * impairments are the ones that exist here: nftables `numgen random` drop (seedless, independent loss)
 * and tc `tbf` (bandwidth). Bursty loss and delay come from the userspace relay (udp-relay.ts).
 * nftables named counters measure the UDP datagrams/bytes leaving and entering each namespace.
 *
 *   [ns <prefix>0] <prefix>0v 10.213.7.1/30  ══veth══  10.213.7.2/30 <prefix>1v [ns <prefix>1]
 *
 * Everything is created by name from a prefix, so a run killed with SIGKILL can be cleaned up by
 * `removeStale(prefix)`; normal exits, SIGINT/SIGTERM and uncaught errors tear labs down via process
 * handlers registered once. Commands are run with execFile and argument arrays (never a shell);
 * every name and number is validated before it reaches a command line.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';

const TABLE = 'umlab';
const DEFAULT_TIMEOUT_MS = 10_000;

export interface LabOptions {
  /** Namespaces are `<prefix>0`, `<prefix>1`; veth ends `<prefix>0v`, `<prefix>1v`. Default 'umlab'. */
  readonly prefix?: string;
  /** Default 10.213.7.1 (side A) and 10.213.7.2 (side B), /30: unused on this host, RFC 1918. */
  readonly addressA?: string;
  readonly addressB?: string;
  readonly prefixLength?: number;
}

export interface LabSide {
  readonly ns: string;
  readonly dev: string;
  readonly address: string;
}

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
}

export interface ExecOptions {
  readonly timeoutMs?: number;
  readonly input?: string;
}

export interface Lab {
  readonly prefix: string;
  readonly a: LabSide;
  readonly b: LabSide;
  /** Runs `cmd args…` inside a namespace and waits for it (throws on non-zero exit or timeout). */
  exec(ns: string, cmd: string, args: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Starts `cmd args…` inside a namespace; the process is killed on teardown. */
  spawn(ns: string, cmd: string, args: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Kills spawned processes and deletes both namespaces (which destroys the veth pair). Idempotent. */
  teardown(): Promise<void>;
}

export type Direction = 'out' | 'in';

export interface CounterValue {
  readonly packets: number;
  readonly bytes: number;
}

/** UDP seen by each hook before the drop rule, and passed after it. */
export interface UdpCounters {
  readonly out: { readonly seen: CounterValue; readonly passed: CounterValue };
  readonly in: { readonly seen: CounterValue; readonly passed: CounterValue };
}

export interface BandwidthOptions {
  readonly rateKbit: number;
  /** Bucket size in bytes; at least one MTU-sized packet (≥ 1600). */
  readonly burstBytes: number;
  /** Longest a packet may wait in the tbf queue before being dropped. */
  readonly latencyMs: number;
}

/** Null when the lab can run here; otherwise a one-line reason (for `it.skipIf` messages). */
export function requireRoot(): string | null {
  if (typeof process.geteuid !== 'function' || process.geteuid() !== 0) return 'netlab: needs root (ip netns, nft, tc)';
  for (const tool of ['ip', 'nft', 'tc']) {
    try {
      execFileSync(tool, ['-V'], { stdio: 'ignore', timeout: DEFAULT_TIMEOUT_MS });
    } catch {
      return `netlab: '${tool}' is not usable (apt-get install -y iproute2 nftables)`;
    }
  }
  return null;
}

/** Runs a command in a namespace via `ip netns exec`. */
export function nsExec(ns: string, cmd: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  checkNsName(ns);
  return run('ip', ['netns', 'exec', ns, cmd, ...args], options);
}

/** Spawns a long-running command in a namespace via `ip netns exec`. */
export function nsSpawn(ns: string, cmd: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  checkNsName(ns);
  return spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
}

export async function createLab(options: LabOptions = {}): Promise<Lab> {
  const prefix = options.prefix ?? 'umlab';
  checkPrefix(prefix);
  const prefixLength = options.prefixLength ?? 30;
  const addressA = options.addressA ?? '10.213.7.1';
  const addressB = options.addressB ?? '10.213.7.2';
  if (!(Number.isInteger(prefixLength) && prefixLength >= 8 && prefixLength <= 30)) {
    throw new RangeError(`prefixLength must be 8..30, got ${prefixLength}`);
  }
  const ipA = parseIpv4(addressA);
  const ipB = parseIpv4(addressB);
  if (network(ipA, prefixLength) !== network(ipB, prefixLength) || ipA === ipB) {
    throw new RangeError(`${addressA} and ${addressB} must be distinct hosts of one /${prefixLength}`);
  }
  await assertNoHostOverlap(ipA, prefixLength);

  const a: LabSide = { ns: `${prefix}0`, dev: `${prefix}0v`, address: addressA };
  const b: LabSide = { ns: `${prefix}1`, dev: `${prefix}1v`, address: addressB };
  const existing = await listNamespaces();
  for (const side of [a, b]) {
    if (existing.includes(side.ns)) throw new Error(`namespace ${side.ns} exists (a stale run? call removeStale('${prefix}'))`);
  }

  const children = new Set<ChildProcess>();
  let down = false;
  const lab: Lab = {
    prefix,
    a,
    b,
    exec: (ns, cmd, args, opts) => nsExec(ns, cmd, args, opts),
    spawn(ns, cmd, args, opts) {
      const child = nsSpawn(ns, cmd, args, opts);
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    async teardown(): Promise<void> {
      if (down) return;
      down = true;
      live.delete(syncTeardown);
      for (const c of children) c.kill('SIGKILL');
      children.clear();
      for (const side of [a, b]) await run('ip', ['netns', 'del', side.ns]).catch(() => undefined);
    },
  };
  const syncTeardown = (): void => {
    if (down) return;
    down = true;
    for (const c of children) c.kill('SIGKILL');
    for (const side of [a, b]) {
      try {
        execFileSync('ip', ['netns', 'del', side.ns], { stdio: 'ignore', timeout: DEFAULT_TIMEOUT_MS });
      } catch {
        /* already gone */
      }
    }
  };
  live.add(syncTeardown);
  registerExitHandlers();

  try {
    await run('ip', ['netns', 'add', a.ns]);
    await run('ip', ['netns', 'add', b.ns]);
    // Create the pair directly inside the namespaces: nothing is ever left on the host's link list.
    await run('ip', ['link', 'add', a.dev, 'netns', a.ns, 'type', 'veth', 'peer', 'name', b.dev, 'netns', b.ns]);
    for (const side of [a, b]) {
      await nsExec(side.ns, 'ip', ['link', 'set', 'lo', 'up']);
      await nsExec(side.ns, 'ip', ['addr', 'add', `${side.address}/${prefixLength}`, 'dev', side.dev]);
      await nsExec(side.ns, 'ip', ['link', 'set', side.dev, 'up']);
      await installFilter(side.ns);
    }
  } catch (err) {
    await lab.teardown();
    throw err;
  }
  return lab;
}

/**
 * Deletes namespaces named `<prefix><digits>` and host links named `<prefix><digits>v` — what a killed
 * run of a lab with this prefix leaves behind. Returns the names removed.
 */
export async function removeStale(prefix: string): Promise<string[]> {
  checkPrefix(prefix);
  const nsPattern = new RegExp(`^${prefix}\\d+$`);
  const linkPattern = new RegExp(`^${prefix}\\d+v$`);
  const removed: string[] = [];
  for (const ns of await listNamespaces()) {
    if (!nsPattern.test(ns)) continue;
    await run('ip', ['netns', 'del', ns]);
    removed.push(ns);
  }
  const { stdout } = await run('ip', ['-o', 'link', 'show']);
  for (const line of stdout.split('\n')) {
    const name = /^\d+:\s+([^:@\s]+)/.exec(line)?.[1];
    if (name === undefined || !linkPattern.test(name)) continue;
    // Deleting one veth end also deletes its peer, so a later name in the list may already be gone.
    await run('ip', ['link', 'del', name]).then(
      () => removed.push(name),
      () => undefined,
    );
  }
  return removed;
}

export async function listNamespaces(): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

/**
 * Drops `percent` % (0.01 % steps) of the UDP datagrams leaving (`out`) or entering (`in`) `ns`,
 * independently per datagram (nft `numgen random`: seedless, so not reproducible). 0 removes the rule.
 */
export async function setRandomDrop(ns: string, direction: Direction, percent: number): Promise<void> {
  if (!(Number.isFinite(percent) && percent >= 0 && percent <= 100)) throw new RangeError(`percent must be 0..100, got ${percent}`);
  const threshold = Math.round(percent * 100); // out of 10,000
  const chain = direction === 'out' ? 'out' : 'in';
  const lines = [
    tableDeclaration(),
    `flush chain inet ${TABLE} ${chain}`,
    `add rule inet ${TABLE} ${chain} meta l4proto udp counter name udp_${chain}_seen`,
    ...(threshold > 0 ? [`add rule inet ${TABLE} ${chain} meta l4proto udp numgen random mod 10000 < ${threshold} drop`] : []),
    `add rule inet ${TABLE} ${chain} meta l4proto udp counter name udp_${chain}_passed`,
  ];
  await nsExec(ns, 'nft', ['-f', '-'], { input: lines.join('\n') + '\n' });
}

/** Reads the UDP counters installed in `ns` (by createLab or setRandomDrop). */
export async function readUdpCounters(ns: string): Promise<UdpCounters> {
  const { stdout } = await nsExec(ns, 'nft', ['-j', 'list', 'counters', 'table', 'inet', TABLE]);
  const values = new Map<string, CounterValue>();
  const parsed: unknown = JSON.parse(stdout);
  const items = (parsed as { nftables?: unknown }).nftables;
  if (!Array.isArray(items)) throw new Error(`unexpected nft -j output: ${stdout.slice(0, 200)}`);
  for (const item of items) {
    const c = (item as { counter?: { name?: unknown; packets?: unknown; bytes?: unknown } }).counter;
    if (c && typeof c.name === 'string' && typeof c.packets === 'number' && typeof c.bytes === 'number') {
      values.set(c.name, { packets: c.packets, bytes: c.bytes });
    }
  }
  const get = (name: string): CounterValue => {
    const v = values.get(name);
    if (!v) throw new Error(`counter ${name} missing in ${ns}`);
    return v;
  };
  return {
    out: { seen: get('udp_out_seen'), passed: get('udp_out_passed') },
    in: { seen: get('udp_in_seen'), passed: get('udp_in_passed') },
  };
}

/** Limits egress of `dev` in `ns` with a token bucket (tc tbf). */
export async function setBandwidth(ns: string, dev: string, bw: BandwidthOptions): Promise<void> {
  checkDevName(dev);
  const { rateKbit, burstBytes, latencyMs } = bw;
  if (!(Number.isInteger(rateKbit) && rateKbit >= 8)) throw new RangeError(`rateKbit must be an integer ≥ 8, got ${rateKbit}`);
  if (!(Number.isInteger(burstBytes) && burstBytes >= 1600)) throw new RangeError(`burstBytes must be an integer ≥ 1600, got ${burstBytes}`);
  if (!(Number.isInteger(latencyMs) && latencyMs >= 1)) throw new RangeError(`latencyMs must be an integer ≥ 1, got ${latencyMs}`);
  await nsExec(ns, 'tc', [
    'qdisc', 'replace', 'dev', dev, 'root', 'tbf',
    'rate', `${rateKbit}kbit`, 'burst', String(burstBytes), 'latency', `${latencyMs}ms`,
  ]);
}

/** Removes a root qdisc set by setBandwidth (no-op when there is none). */
export async function clearBandwidth(ns: string, dev: string): Promise<void> {
  checkDevName(dev);
  await nsExec(ns, 'tc', ['qdisc', 'del', 'dev', dev, 'root']).catch(() => undefined);
}

// ---- internals -------------------------------------------------------------------------------

function tableDeclaration(): string {
  return [
    `table inet ${TABLE} {`,
    '  counter udp_out_seen { }',
    '  counter udp_out_passed { }',
    '  counter udp_in_seen { }',
    '  counter udp_in_passed { }',
    '  chain out { type filter hook output priority 0; policy accept; }',
    '  chain in { type filter hook input priority 0; policy accept; }',
    '}',
  ].join('\n');
}

async function installFilter(ns: string): Promise<void> {
  await setRandomDrop(ns, 'out', 0);
  await setRandomDrop(ns, 'in', 0);
}

const live = new Set<() => void>();
let handlersRegistered = false;

function registerExitHandlers(): void {
  if (handlersRegistered) return;
  handlersRegistered = true;
  const teardownAll = (): void => {
    for (const t of [...live]) t();
    live.clear();
  };
  process.once('exit', teardownAll);
  // Observes uncaught errors without changing Node's default crash behaviour.
  process.on('uncaughtExceptionMonitor', teardownAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = (): void => {
      teardownAll();
      // If nobody else handles the signal, restore the default action (terminate) and re-raise.
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
}

function run(cmd: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      [...args],
      { timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`));
        else resolve({ stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

function checkPrefix(prefix: string): void {
  if (!/^[a-z][a-z0-9]{0,9}$/.test(prefix)) throw new RangeError(`prefix must match [a-z][a-z0-9]{0,9}, got ${JSON.stringify(prefix)}`);
}

function checkNsName(ns: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(ns)) throw new RangeError(`bad namespace name ${JSON.stringify(ns)}`);
}

function checkDevName(dev: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/.test(dev)) throw new RangeError(`bad device name ${JSON.stringify(dev)}`);
}

function parseIpv4(s: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  const parts = m ? m.slice(1).map(Number) : [];
  if (parts.length !== 4 || parts.some((x) => x > 255)) throw new RangeError(`not an IPv4 address: ${JSON.stringify(s)}`);
  return parts.reduce((acc, x) => acc * 256 + x, 0);
}

function network(ip: number, len: number): number {
  const size = 2 ** (32 - len);
  return Math.floor(ip / size) * size;
}

/** The lab's subnet must not overlap any host address range, or host routes would become ambiguous. */
async function assertNoHostOverlap(ip: number, len: number): Promise<void> {
  const { stdout } = await run('ip', ['-4', '-o', 'addr', 'show']);
  for (const m of stdout.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\/(\d+)/g)) {
    const hostIp = parseIpv4(m[1] ?? '');
    const hostLen = Number(m[2]);
    const shorter = Math.min(len, hostLen);
    if (network(ip, shorter) === network(hostIp, shorter)) {
      throw new Error(`lab subnet overlaps host address ${m[1]}/${hostLen}; pass addressA/addressB`);
    }
  }
}
