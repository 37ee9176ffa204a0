/** A run: the form's task through the session, each event shown as it lands, and its summary. */
import type { TaskName } from '@unimic/protocol';
import type { BrowserEdgeConnection, EdgeEvent, EdgeTask } from '@unimic/edge-peer/browser';
import { PIXELS, SIDE, TASK_LABEL, errorMessage, fmtBytes, fmtMs, setMsStat, setStat, ui } from './dom.ts';
import type { Edge } from './edge.ts';
import { ensureConnected } from './connection.ts';
import { readForm } from './controls.ts';
import { inputGrid, page, setState } from './state.ts';
import { bars, counters, history, listStage, paintOutput, resetOutput, showAnswer, showFrame, thumb, timeline, type Mark } from './view.ts';

export interface RunSummary {
  readonly task: TaskName;
  readonly requestId: number;
  readonly input: string;
  readonly ok: boolean;
  readonly error?: string;
  readonly stepsAsked: number;
  readonly stepsReceived: number;
  readonly framesRendered: number;
  readonly uploadStages: number;
  /** Upload stages the cloud had when it started generating (result.stagesUsed). */
  readonly stagesUsed: number;
  readonly bytesUp: number;
  readonly bytesDown: number;
  readonly bppUp: number;
  readonly bppDown: number;
  /** Task sent → first step decoded / first frame painted / result (ms). */
  readonly firstStepMs: number | null;
  readonly firstFrameMs: number | null;
  readonly finalMs: number;
  readonly edgeModelMs: number;
  readonly cloudModelMs: number;
  readonly answer: string;
  readonly outputWidth: number;
  readonly outputHeight: number;
}

/** Runs what the form says; the summary also lands in `page.last`, failed or not. */
export async function runFromForm(): Promise<RunSummary> {
  if (page.busy) throw new Error('a run is in progress');
  const e = page.edge;
  if (!e) throw new Error('models not loaded');
  page.busy = true;
  const inputName = page.task === 't2i' ? '—' : (page.image?.name ?? '—');
  let t: EdgeTask | null = null;
  try {
    const form = readForm();
    const c = await ensureConnected();
    if (!c.cloud.capabilities.tasks.includes(form.task)) throw new Error(`this cloud offers no ${form.task}`);
    setState('running', `${TASK_LABEL[form.task]}: tokenizing the input…`);
    const grid = form.task === 't2i' ? undefined : await inputGrid();
    t = { ...form, requestId: page.nextRequest++, ...(grid ? { grid } : {}) };
    const stepsAsked = t.task === 'vqa' ? 0 : (t.steps ?? 8);
    resetOutput(t, stepsAsked);
    const { image } = page;
    if (image && (t.task === 'inpaint' || t.task === 'outpaint')) thumb(image.planar, 'input');
    if (t.task === 'vqa' && grid) {
      // what the cloud will see: the edge's tokens, detokenized
      paintOutput(await e.tokenizer.decode({ width: SIDE, height: SIDE, tokens: grid }));
    }
    setState('running', `${TASK_LABEL[t.task]}: streaming…`);
    const summary = await stream(c, e, t, stepsAsked, inputName);
    page.last = summary;
    history(summary);
    setState('done', `${TASK_LABEL[t.task]} done in ${fmtMs(summary.finalMs)}: ${fmtBytes(summary.bytesUp)} up, ${fmtBytes(summary.bytesDown)} down`);
    return summary;
  } catch (err) {
    const message = errorMessage(err);
    setState('error', message);
    ui.status.dataset.error = message;
    page.last = failed(t?.task ?? page.task, t?.requestId ?? 0, inputName, message);
    throw err;
  } finally {
    // setState above has already set the Run button for 'done' or 'error'
    page.busy = false;
  }
}

function failed(task: TaskName, requestId: number, input: string, error: string): RunSummary {
  return {
    task,
    requestId,
    input,
    ok: false,
    error,
    stepsAsked: 0,
    stepsReceived: 0,
    framesRendered: 0,
    uploadStages: 0,
    stagesUsed: 0,
    bytesUp: 0,
    bytesDown: 0,
    bppUp: 0,
    bppDown: 0,
    firstStepMs: null,
    firstFrameMs: null,
    finalMs: 0,
    edgeModelMs: 0,
    cloudModelMs: 0,
    answer: '',
    outputWidth: 0,
    outputHeight: 0,
  };
}

/** One request through the session, painting a frame per generation step as it is decoded. */
async function stream(c: BrowserEdgeConnection, e: Edge, t: EdgeTask, stepsAsked: number, inputName: string): Promise<RunSummary> {
  const t0 = performance.now();
  const model0 = e.clock.ms;
  const marks: Mark[] = [];
  let bytesUp = 0;
  let bytesDown = 0;
  let uploadStages = 0;
  // the schedule's 8 stages (a stage with no token to send is skipped)
  const uploadTotal = t.task === 't2i' ? 0 : (t.schedule?.stages ?? 8);
  let lastUp = 0;
  let lastDown = 0;
  let stepsReceived = 0;
  let framesRendered = 0;
  let firstStepMs: number | null = null;
  let firstFrameMs: number | null = null;
  let answer = '';
  let result: Extract<EdgeEvent, { type: 'result' }> | null = null;
  let frames: Promise<void> = Promise.resolve();
  let frameError: Error | null = null;
  const ms = (at: number) => at - t0;
  const redrawTimeline = () => timeline(marks, performance.now() - t0);
  const tick = () => {
    counters(bytesUp, bytesDown);
    bars(uploadStages, uploadTotal, stepsReceived, stepsAsked);
    redrawTimeline();
  };

  // live bytes down: every token chunk on the tokens channel during the run (the result has the exact count)
  const down = c.transport.tokens.messages$.subscribe((b) => ((bytesDown += b.length), tick()));
  const clock = setInterval(redrawTimeline, 200);
  const subs: { unsubscribe(): void }[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      // the edge waits for a result until its deadline; a dead transport ends the run at once
      subs.push(
        c.transport.state$.subscribe((st) => {
          if (st === 'closed' || st === 'failed') reject(new Error(`connection ${st} mid-run: ${c.transport.failureReason ?? ''}; run again to reconnect`));
        }),
      );
      subs.push(c.edge.run(t).subscribe({
        next: (ev) => {
          switch (ev.type) {
            case 'upload-stage':
              uploadStages++;
              bytesUp += ev.bytes;
              marks.push({ lane: 'up', from: lastUp, to: ms(ev.at), label: `stage ${ev.stage}: ${ev.cells} tokens, ${ev.bytes} B` });
              listStage(`↑ stage ${ev.stage + 1}: ${ev.cells} tokens · ${ev.bytes} B · ${fmtMs(ms(ev.at) - lastUp)}`, 'up');
              lastUp = ms(ev.at);
              break;
            case 'step': {
              stepsReceived++;
              firstStepMs ??= ms(ev.at);
              marks.push({ lane: 'down', from: lastDown || ms(ev.at) - 1, to: ms(ev.at), label: `step ${ev.step + 1}: ${ev.cells} tokens` });
              listStage(`↓ step ${ev.step + 1}: ${ev.cells} tokens decoded at ${fmtMs(ms(ev.at))}`, 'down');
              lastDown = ms(ev.at);
              const grid = ev.grid;
              const label = `step ${ev.step + 1}`;
              // frames are painted in order, one per step, while later steps keep arriving
              frames = frames.then(async () => {
                try {
                  const img = await e.renderer.render(grid);
                  showFrame(img, label, ++framesRendered);
                  firstFrameMs ??= performance.now() - t0;
                  setMsStat('s-first', firstFrameMs);
                } catch (err) {
                  frameError = err as Error;
                }
              });
              break;
            }
            case 'answer':
              answer = ev.text;
              firstStepMs ??= ms(ev.at);
              if (firstFrameMs === null) setMsStat('s-first', firstStepMs);
              showAnswer(answer);
              marks.push({ lane: 'down', from: ms(ev.at) - 1, to: ms(ev.at), label: `answer: ${answer}` });
              if (ev.done) ui.answer.classList.add('done');
              break;
            case 'result':
              result = ev;
              bytesUp = ev.bytesUp;
              bytesDown = ev.bytesDown;
              listStage(`✓ result at ${fmtMs(ms(ev.at))}: cloud started after ${ev.result.stagesUsed} upload stages`, 'info');
              break;
          }
          tick();
        },
        error: reject,
        complete: resolve,
      }));
    });
    await frames;
  } finally {
    down.unsubscribe();
    for (const x of subs) x.unsubscribe();
    clearInterval(clock);
  }
  if (frameError) throw frameError;
  const r = result as Extract<EdgeEvent, { type: 'result' }> | null;
  if (!r) throw new Error('the run ended without a result');
  const finalMs = ms(r.at);
  const edgeModelMs = e.clock.ms - model0;
  const cloudModelMs = r.result.modelMs ?? 0;
  setMsStat('s-final', finalMs);
  if (firstFrameMs === null && firstStepMs === null) setMsStat('s-first', finalMs);
  setStat('s-stages', t.task === 't2i' ? 'no upload' : `${r.result.stagesUsed} of 8`, r.result.stagesUsed);
  setMsStat('s-edge', edgeModelMs);
  setMsStat('s-cloud', cloudModelMs);
  counters(r.bytesUp, r.bytesDown);
  timeline(marks, finalMs);
  return {
    task: t.task,
    requestId: t.requestId,
    input: inputName,
    ok: true,
    stepsAsked,
    stepsReceived,
    framesRendered,
    uploadStages,
    stagesUsed: r.result.stagesUsed,
    bytesUp: r.bytesUp,
    bytesDown: r.bytesDown,
    bppUp: (r.bytesUp * 8) / PIXELS,
    bppDown: (r.bytesDown * 8) / PIXELS,
    firstStepMs,
    firstFrameMs,
    finalMs,
    edgeModelMs,
    cloudModelMs,
    answer,
    outputWidth: r.grid.width * 8,
    outputHeight: r.grid.height * 8,
  };
}
