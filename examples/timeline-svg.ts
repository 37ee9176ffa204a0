/**
 * One request as a sequence diagram over time (SVG): upload stages leaving the edge and decoded at
 * the cloud, generation steps leaving the cloud (each with the model time before it) and decoded at
 * the edge. Where the time goes is easier seen than read off an event log. Pure: events in, text out.
 */
import type { CloudEvent } from '@unimic/cloud-peer';
import type { EdgeEvent } from '@unimic/edge-peer';

export interface TimelineInput {
  readonly title: string;
  /** The edge's events and the cloud's events of this request, `at` on one clock (performance.now()). */
  readonly edge: readonly EdgeEvent[];
  readonly cloud: readonly CloudEvent[];
  /** When the request started, on that clock: the diagram's 0 ms. */
  readonly origin: number;
}

const LANES = ['edge · codes upload', 'cloud · decodes upload', 'cloud · generates', 'edge · decodes steps'] as const;
const W = 960;
const LEFT = 170;
const RIGHT = 20;
const TOP = 46;
const LANE_H = 44;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function timelineSvg(input: TimelineInput): string {
  const { title } = input;
  const edge = input.edge.map((e) => ({ ...e, at: e.at - input.origin }));
  const cloud = input.cloud.map((e) => ({ ...e, at: e.at - input.origin }));
  const end = Math.max(1, ...edge.map((e) => e.at), ...cloud.map((e) => e.at));
  // round the axis up to a multiple of 100 ms
  const span = Math.ceil(end / 100) * 100;
  const x = (ms: number) => LEFT + ((W - LEFT - RIGHT) * Math.max(0, ms)) / span;
  const laneY = (i: number) => TOP + i * LANE_H + LANE_H / 2;
  const out: string[] = [];
  const h = TOP + LANES.length * LANE_H + 40;
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${W}" height="${h}" fill="white"/>`);
  out.push(`<text x="10" y="18" font-size="13" font-weight="bold">${esc(title)}</text>`);
  LANES.forEach((name, i) => {
    out.push(`<rect x="${LEFT}" y="${laneY(i) - LANE_H / 2 + 4}" width="${W - LEFT - RIGHT}" height="${LANE_H - 8}" fill="${i % 2 ? '#f4f6fa' : '#fafafa'}"/>`);
    out.push(`<text x="${LEFT - 8}" y="${laneY(i) + 4}" text-anchor="end">${esc(name)}</text>`);
  });
  // time axis
  const axisY = TOP + LANES.length * LANE_H + 6;
  const tick = span <= 1000 ? 100 : span <= 3000 ? 250 : 500;
  for (let t = 0; t <= span; t += tick) {
    out.push(`<line x1="${x(t)}" y1="${TOP}" x2="${x(t)}" y2="${axisY}" stroke="#ddd"/>`);
    out.push(`<text x="${x(t)}" y="${axisY + 14}" text-anchor="middle" fill="#555">${t} ms</text>`);
  }
  const mark = (lane: number, at: number, label: string, color: string) => {
    out.push(`<circle cx="${x(at).toFixed(1)}" cy="${laneY(lane)}" r="4" fill="${color}"/>`);
    out.push(`<text x="${x(at).toFixed(1)}" y="${laneY(lane) - 8}" text-anchor="middle" fill="${color}">${esc(label)}</text>`);
  };
  const arrow = (fromLane: number, from: number, toLane: number, to: number, color: string) =>
    out.push(`<line x1="${x(from).toFixed(1)}" y1="${laneY(fromLane)}" x2="${x(to).toFixed(1)}" y2="${laneY(toLane)}" stroke="${color}" stroke-opacity="0.45"/>`);
  const sentUp = new Map<number, number>();
  for (const e of edge) if (e.type === 'upload-stage') sentUp.set(e.stage, e.at), mark(0, e.at, `u${e.stage}`, '#1f5fbf');
  for (const e of cloud) {
    if (e.type === 'upload-stage' && e.complete) {
      const sent = sentUp.get(e.stage);
      if (sent !== undefined) arrow(0, sent, 1, e.at, '#1f5fbf');
      mark(1, e.at, `u${e.stage}`, '#1f5fbf');
    }
  }
  const sentStep = new Map<number, number>();
  for (const e of cloud) {
    if (e.type === 'generation-start') {
      out.push(`<line x1="${x(e.at)}" y1="${laneY(2) - 16}" x2="${x(e.at)}" y2="${laneY(2) + 16}" stroke="#333" stroke-width="2"/>`);
      out.push(`<text x="${x(e.at) + 3}" y="${laneY(2) + 16}" fill="#333">start (${e.upStages} stages in)</text>`);
    }
    if (e.type === 'step-sent') {
      // the model time that produced the step, ending when it left
      out.push(`<rect x="${x(e.at - e.inferenceMs).toFixed(1)}" y="${laneY(2) - 5}" width="${Math.max(1, x(e.at) - x(e.at - e.inferenceMs)).toFixed(1)}" height="10" fill="#d9822b" fill-opacity="0.35"/>`);
      sentStep.set(e.step, e.at);
      mark(2, e.at, `s${e.step}`, '#b35c00');
    }
    if (e.type === 'answer-sent') mark(2, e.at, `a:${e.tokens}`, '#b35c00');
  }
  let first: number | undefined;
  for (const e of edge) {
    if (e.type === 'step') {
      const sent = sentStep.get(e.step);
      if (sent !== undefined) arrow(2, sent, 3, e.at, '#b35c00');
      mark(3, e.at, `s${e.step}`, '#b35c00');
      first ??= e.at;
    }
    if (e.type === 'answer') mark(3, e.at, 'answer', '#b35c00'), (first ??= e.at);
  }
  const last = [...edge].reverse().find((e) => e.type === 'result')?.at;
  for (const [at, label] of [[first, 'first result'], [last, 'final']] as const) {
    if (at === undefined) continue;
    out.push(`<line x1="${x(at).toFixed(1)}" y1="${TOP - 4}" x2="${x(at).toFixed(1)}" y2="${axisY}" stroke="#2a7a2a" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${x(at).toFixed(1)}" y="${TOP - 8}" text-anchor="middle" fill="#2a7a2a">${label} ${at.toFixed(0)} ms</text>`);
  }
  out.push('</svg>');
  return out.join('\n');
}
