import { describe, expect, it } from 'vitest';
import type { CloudEvent } from '@unimic/cloud-peer';
import type { EdgeEvent } from '@unimic/edge-peer';
import { timelineSvg } from '../examples/timeline-svg.ts';

const grid = { width: 16, height: 16, tokens: new Int32Array(256) };
const t0 = 5000;
const edge = [
  { type: 'upload-stage', stage: 0, cells: 4, bytes: 15, at: t0 + 2 },
  { type: 'upload-stage', stage: 1, cells: 12, bytes: 22, at: t0 + 90 },
  { type: 'step', step: 0, cells: 2, bytes: 11, grid, done: false, at: t0 + 300 },
  { type: 'step', step: 1, cells: 3, bytes: 13, grid, done: true, at: t0 + 420 },
  { type: 'result', at: t0 + 421 },
] as unknown as EdgeEvent[];
const cloud = [
  { type: 'upload-stage', requestId: 1, stage: 0, complete: true, at: t0 + 10 },
  { type: 'upload-stage', requestId: 1, stage: 1, complete: true, at: t0 + 150 },
  { type: 'generation-start', requestId: 1, upStages: 2, at: t0 + 151 },
  { type: 'step-sent', requestId: 1, step: 0, cells: 2, bytes: 11, inferenceMs: 120, at: t0 + 290 },
  { type: 'step-sent', requestId: 1, step: 1, cells: 3, bytes: 13, inferenceMs: 60, at: t0 + 400 },
] as unknown as CloudEvent[];

describe('timelineSvg', () => {
  const svg = timelineSvg({ title: 'inpaint <test> & co', edge, cloud, origin: t0 });

  it('draws one mark per stage and step on each side, an arrow per hand-over, a bar per model run', () => {
    expect(svg.match(/<circle /g)).toHaveLength(2 + 2 + 2 + 2);
    expect(svg.match(/stroke-opacity="0.45"/g)).toHaveLength(2 + 2);
    expect(svg.match(/fill-opacity="0.35"/g)).toHaveLength(2);
    expect(svg).toContain('start (2 stages in)');
  });

  it('places events on the request clock and marks the first result and the end', () => {
    expect(svg).toContain('first result 300 ms');
    expect(svg).toContain('final 421 ms');
    expect(svg).toContain('>500 ms<'); // axis rounded up to 100 ms steps
    expect(svg).not.toContain('>600 ms<');
  });

  it('escapes the title', () => {
    expect(svg).toContain('inpaint &lt;test&gt; &amp; co');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  });
});
