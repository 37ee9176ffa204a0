import { WLAN_TWO_STATE, randomLoss, type Impairment } from '@unimic/netlab';
import { parseTokensReliability, type TokensReliability } from '@unimic/transport';

/*
 * What a sweep runs: tasks × link conditions × reliability modes × seeds × repetitions, one
 * session each. Pure: parsing the spec (flags or a sweep file) and expanding it into sessions.
 * A link condition is applied per direction in the impairment relay on the ICE path (seeded:
 * the same seed gives the same drop pattern), so every datagram of the session meets it.
 */

export type LabTask = 'inpaint' | 'outpaint' | 't2i' | 'vqa';
export const LAB_TASKS: readonly LabTask[] = ['inpaint', 'outpaint', 't2i', 'vqa'];

export interface LinkCondition {
  /** Its name in records and metrics: loss0, loss10, ge14, loss10+d50 … */
  readonly name: string;
  /** Loss in percent (random) or the Gilbert–Elliott preset, each way. */
  readonly loss: { readonly kind: 'random'; readonly percent: number } | { readonly kind: 'ge-wlan' };
  /** One-way delay and jitter (ms), each way. */
  readonly delayMs: number;
  readonly jitterMs: number;
  /** The loss in percent it should show (for the x axis): the preset's stationary rate for ge-wlan. */
  readonly nominalLossPercent: number;
}

export interface Mode {
  /** reliable | partial | the spec itself for other reliabilities. */
  readonly name: string;
  readonly tokens: TokensReliability;
}

export interface SweepSpec {
  readonly tasks: readonly LabTask[];
  readonly links: readonly LinkCondition[];
  readonly modes: readonly Mode[];
  readonly seeds: readonly number[];
  readonly reps: number;
}

export interface SessionConfig {
  readonly index: number;
  readonly task: LabTask;
  readonly link: LinkCondition;
  readonly mode: Mode;
  readonly seed: number;
  readonly rep: number;
}

/** 13.9%: the WLAN trace's loss rate (ResiComp), kept as the name `ge14`. */
const GE_WLAN_PERCENT = 13.9;

/** `loss:10`, `ge:wlan`, either with `+delay:50` or `+delay:50~10` (jitter). `0` is loss:0. */
export function parseLink(spec: string): LinkCondition {
  const parts = spec.split('+');
  let loss: LinkCondition['loss'] | undefined;
  let delayMs = 0;
  let jitterMs = 0;
  for (const part of parts) {
    let m: RegExpExecArray | null;
    if ((m = /^(?:loss:)?(\d{1,2}(?:\.\d+)?)%?$/.exec(part))) loss = { kind: 'random', percent: Number(m[1]) };
    else if (/^ge(:wlan)?$/.test(part)) loss = { kind: 'ge-wlan' };
    else if ((m = /^delay:(\d{1,4})(?:~(\d{1,4}))?$/.exec(part))) (delayMs = Number(m[1])), (jitterMs = Number(m[2] ?? 0));
    else throw new RangeError(`link condition must be loss:N (0..99), ge:wlan, optionally +delay:MS[~JITTER], got ${JSON.stringify(spec)}`);
  }
  loss ??= { kind: 'random', percent: 0 };
  if (loss.kind === 'random' && loss.percent >= 100) throw new RangeError(`loss must be below 100%, got ${loss.percent}`);
  const lossName = loss.kind === 'random' ? `loss${loss.percent}` : 'ge14';
  const delayName = delayMs > 0 ? `+d${delayMs}${jitterMs > 0 ? `~${jitterMs}` : ''}` : '';
  return { name: lossName + delayName, loss, delayMs, jitterMs, nominalLossPercent: loss.kind === 'random' ? loss.percent : GE_WLAN_PERCENT };
}

/** `reliable`, `partial` (rtx:0: never retransmitted), or any `rtx:N` / `life:MS`. */
export function parseMode(spec: string): Mode {
  if (spec === 'partial') return { name: 'partial', tokens: { mode: 'maxRetransmits', n: 0 } };
  return { name: spec, tokens: parseTokensReliability(spec) };
}

function parseTask(spec: string): LabTask {
  if (!(LAB_TASKS as readonly string[]).includes(spec)) throw new RangeError(`task must be one of ${LAB_TASKS.join(', ')}, got ${JSON.stringify(spec)}`);
  return spec as LabTask;
}

const list = (s: string) => s.split(',').map((x) => x.trim()).filter((x) => x.length > 0);

/** The sweep a set of flags asks for (strings as on the command line, or from a sweep file). */
export function parseSweep(o: { tasks?: string; links?: string; modes?: string; seeds?: string; reps?: string | number }): SweepSpec {
  const seeds = list(o.seeds ?? '1').map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0 || n > 2 ** 31) throw new RangeError(`seeds must be non-negative integers, got ${JSON.stringify(s)}`);
    return n;
  });
  const reps = Number(o.reps ?? 1);
  if (!Number.isInteger(reps) || reps < 1 || reps > 1000) throw new RangeError(`reps must be an integer in 1..1000, got ${o.reps}`);
  const spec: SweepSpec = {
    tasks: list(o.tasks ?? 'inpaint').map(parseTask),
    links: list(o.links ?? 'loss:0,loss:10').map(parseLink),
    modes: list(o.modes ?? 'reliable,partial').map(parseMode),
    seeds,
    reps,
  };
  for (const [k, v] of Object.entries(spec)) if (Array.isArray(v) && v.length === 0) throw new RangeError(`the sweep has no ${k}`);
  return spec;
}

/** Every session of the sweep, in the order they run: link conditions outermost, so one setting holds for a stretch. */
export function expandSweep(spec: SweepSpec): SessionConfig[] {
  const out: SessionConfig[] = [];
  for (const link of spec.links)
    for (const mode of spec.modes)
      for (const task of spec.tasks)
        for (const seed of spec.seeds) for (let rep = 0; rep < spec.reps; rep++) out.push({ index: out.length, task, link, mode, seed, rep });
  return out;
}

/** The relay's impairment for one direction of one session: its own seed per session and direction. */
export function impairmentFor(c: SessionConfig, direction: 'up' | 'down'): Impairment {
  const loss = c.link.loss.kind === 'ge-wlan' ? WLAN_TWO_STATE : c.link.loss.percent > 0 ? randomLoss(c.link.loss.percent / 100) : ({ kind: 'none' } as const);
  const seed = (c.seed * 1_000_003 + c.rep * 7919 + (direction === 'up' ? 1 : 2)) >>> 0;
  return {
    loss,
    ...(c.link.delayMs > 0 || c.link.jitterMs > 0 ? { delay: { delayMs: c.link.delayMs, jitterMs: c.link.jitterMs } } : {}),
    seed,
  };
}
