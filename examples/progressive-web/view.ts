/** The output side: the frames, counters, bars, timeline, stage list, answer and the runs table. */
import type { PlanarImage } from '@unimic/models';
import type { TaskName } from '@unimic/protocol';
import type { EdgeTask } from '@unimic/edge-peer/browser';
import { PIXELS, TASK_LABEL, buttons, ctx2d, drawPlanar, el, fmtBytes, fmtMs, setStat, ui } from './dom.ts';
import type { RunSummary } from './runs.ts';

/** One segment of the timeline, in ms since the task was sent. */
export interface Mark {
  readonly lane: 'up' | 'down';
  readonly from: number;
  readonly to: number;
  readonly label: string;
}

/** Tabs for tasks the cloud has no model for are disabled. */
export function showCloudTasks(tasks: readonly TaskName[]) {
  document.body.dataset.tasks = tasks.join(',');
  for (const b of buttons(ui.tabs)) {
    b.disabled = !tasks.includes(b.dataset.task as TaskName);
    b.title = b.disabled ? 'this cloud has no model for it (no cloud pack)' : '';
  }
}

/** The big output canvas, shown at twice its pixel size. */
export function paintOutput(img: PlanarImage): void {
  drawPlanar(ui.output, img);
  ui.output.style.width = `${2 * img.width}px`;
  ui.outWrap.classList.add('has-frame');
}

/** A decoded step: the output, its thumbnail, and the count of frames in `data-frames`. */
export function showFrame(img: PlanarImage, label: string, framesRendered: number) {
  paintOutput(img);
  thumb(img, label);
  ui.outWrap.dataset.frames = String(framesRendered);
}

export function showAnswer(text: string) {
  ui.answerText.textContent = text;
  ui.answerText.dataset.answer = text;
}

export function resetOutput(t: EdgeTask, steps: number) {
  ui.frames.replaceChildren();
  ui.outWrap.dataset.frames = '0';
  ui.outWrap.classList.remove('has-frame');
  ui.answer.hidden = t.task !== 'vqa';
  showAnswer('');
  el('answer-q').textContent = t.task === 'vqa' ? (t.text ?? '') : '';
  ui.answer.classList.remove('done');
  el('tl-up').replaceChildren();
  el('tl-down').replaceChildren();
  el('stage-list').replaceChildren();
  el('out-caption').textContent = `· ${TASK_LABEL[t.task]}${t.text && t.task !== 'vqa' ? ` · “${t.text}”` : ''}`;
  bars(0, 0, 0, steps);
  for (const id of ['s-first', 's-final', 's-stages', 's-edge', 's-cloud']) setStat(id, '–', '');
  counters(0, 0);
}

export function counters(up: number, down: number) {
  setStat('s-up', fmtBytes(up), up);
  setStat('s-down', fmtBytes(down), down);
  el('s-bpp-up').textContent = `${((up * 8) / PIXELS).toFixed(4)} bpp`;
  el('s-bpp-down').textContent = `${((down * 8) / PIXELS).toFixed(4)} bpp`;
}

export function bars(up: number, upTotal: number, down: number, downTotal: number) {
  el('bar-up').style.width = `${upTotal ? (100 * up) / upTotal : 0}%`;
  el('bar-down').style.width = `${downTotal ? (100 * down) / downTotal : 0}%`;
  el('bar-up-text').textContent = `${up} / ${upTotal}`;
  el('bar-down-text').textContent = `${down} / ${downTotal}`;
}

/** Lays the timeline out again on the current time scale (it grows as the run goes). */
export function timeline(marks: readonly Mark[], now: number) {
  const span = Math.max(now, 1);
  el('tl-scale').textContent = `· 0 – ${fmtMs(span)}`;
  for (const lane of ['up', 'down'] as const) {
    const track = el(`tl-${lane}`);
    track.replaceChildren(
      ...marks
        .filter((m) => m.lane === lane)
        .map((m) => {
          const d = document.createElement('div');
          d.className = `seg ${lane}`;
          d.style.left = `${(100 * m.from) / span}%`;
          d.style.width = `max(3px, ${(100 * (m.to - m.from)) / span}%)`;
          d.title = m.label;
          return d;
        }),
    );
  }
}

export function listStage(text: string, kind: 'up' | 'down' | 'info') {
  const li = document.createElement('li');
  li.className = kind;
  li.textContent = text;
  el('stage-list').append(li);
}

export function thumb(img: PlanarImage, label: string): void {
  const fig = document.createElement('figure');
  const c = document.createElement('canvas');
  drawPlanar(c, img);
  const cap = document.createElement('figcaption');
  cap.textContent = label;
  fig.append(c, cap);
  ui.frames.append(fig);
  requestAnimationFrame(() => fig.classList.add('in'));
}

/** A row of the runs table, newest first. */
export function history(s: RunSummary) {
  const tr = document.createElement('tr');
  const cell = (text: string, cls = '') => {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    tr.append(td);
    return td;
  };
  // the final frame (for VQA: the detokenized input the cloud answered from)
  const c = document.createElement('canvas');
  c.width = ui.output.width;
  c.height = ui.output.height;
  ctx2d(c).drawImage(ui.output, 0, 0);
  cell('').append(c);
  cell(TASK_LABEL[s.task], 'task');
  cell(s.input.replace(/\.(png|jpe?g)/i, ''));
  cell(fmtBytes(s.bytesUp), 'mono');
  cell(fmtBytes(s.bytesDown), 'mono');
  cell(s.bppUp.toFixed(3), 'mono');
  cell(fmtMs(s.firstFrameMs ?? s.firstStepMs), 'mono');
  cell(fmtMs(s.finalMs), 'mono');
  cell(s.task === 'vqa' ? `“${s.answer}”` : `${s.framesRendered} frames, ${s.outputWidth}×${s.outputHeight}`, s.task === 'vqa' ? 'answer-cell' : '');
  tr.dataset.task = s.task;
  ui.history.prepend(tr);
}
