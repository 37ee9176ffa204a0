import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../packages/transport/test/chromium-harness.ts';
import { startWebServer, type WebServer } from '../examples/progressive-web/server.ts';
import type { RunSummary } from '../examples/progressive-web/app.ts';
import { bpeEncode, compressText, ensureBrotli } from '../packages/protocol/src/index.ts';

/*
 * The progressive-rendering page end to end, no mocks: the server bundles the page, starts
 * signaling and a cloud worker process; Chromium loads the pack, runs the edge on onnxruntime-web
 * and talks to the cloud over its own RTCPeerConnection. Every task the cloud offers is driven
 * through the page's controls (clicks, typing, an upload), and each must end with its final image
 * or answer and sane counters. The last state is saved as out/web-page.png (copy it to docs/img/ to update the docs).
 */

const root = path.resolve(import.meta.dirname, '..');
const hasPack = existsSync(path.join(root, 'models/default/manifest.json'));
const hasCloudPack = existsSync(path.join(root, 'models/cloud/manifest.json'));
const STEPS = 4;
if (!existsSync(CHROMIUM_PATH)) console.warn(`web-page: ${CHROMIUM_PATH} not found, skipping (apt-get install -y chromium)`);
if (!hasPack) console.warn('web-page: models/default has no manifest.json, skipping');

describe.skipIf(!existsSync(CHROMIUM_PATH) || !hasPack)('progressive web page in Chromium', () => {
  let web: WebServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    await ensureBrotli();
    web = await startWebServer({ port: 0, log: () => undefined });
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(web.url);
    await page.waitForFunction(() => ['ready', 'error'].includes(document.getElementById('status')?.dataset.state ?? ''), null, { timeout: 120_000 });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await web?.close();
  });

  it('bundles for the browser without werift, ws, node: modules or onnxruntime-node', () => {
    expect(web.bundleInputs.some((f) => f.endsWith('packages/transport/src/browser-peer.ts'))).toBe(true);
    expect(web.bundleInputs.some((f) => f.endsWith('packages/edge-peer/src/browser.ts'))).toBe(true);
    expect(web.bundleInputs.filter((f) => /werift|node_modules\/ws\/|onnxruntime-node|werift-peer|signaling\/src\/node\.ts/.test(f))).toEqual([]);
  });

  /** Clicks Run and waits for this request's summary (success or failure). */
  async function run(): Promise<RunSummary> {
    const before = await page.evaluate(() => (globalThis as unknown as { unimic: { last: RunSummary | null } }).unimic.last?.requestId ?? 0);
    await page.click('#run');
    await page.waitForFunction((n) => ((globalThis as unknown as { unimic: { last: RunSummary | null } }).unimic.last?.requestId ?? 0) > n || document.getElementById('status')?.dataset.state === 'error', before, { timeout: 90_000 });
    return page.evaluate(() => (globalThis as unknown as { unimic: { last: RunSummary } }).unimic.last);
  }

  const setRange = (id: string, value: number) =>
    page.locator(`#${id}`).evaluate((e, v) => {
      (e as HTMLInputElement).value = String(v);
      e.dispatchEvent(new Event('input'));
    }, value);

  /** Standard deviation of the output canvas's pixels: a blank or failed frame is ~0. */
  const outputSpread = () =>
    page.evaluate(() => {
      const c = document.getElementById('output') as HTMLCanvasElement;
      const d = (c.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, c.width, c.height).data;
      let s = 0;
      let s2 = 0;
      for (let i = 0; i < d.length; i += 4) (s += d[i] as number), (s2 += (d[i] as number) ** 2);
      const n = d.length / 4;
      return Math.sqrt(s2 / n - (s / n) ** 2);
    });

  async function checkImage(s: RunSummary, width: number, height: number) {
    expect(s.ok, s.error).toBe(true);
    expect(s.stepsAsked).toBe(STEPS);
    expect(s.stepsReceived).toBe(STEPS);
    expect(s.framesRendered).toBe(STEPS);
    expect(s.bytesDown).toBeGreaterThan(0);
    expect([s.outputWidth, s.outputHeight]).toEqual([width, height]);
    expect(s.firstFrameMs).not.toBeNull();
    expect(s.finalMs).toBeGreaterThanOrEqual(s.firstStepMs ?? 0);
    expect(await page.getAttribute('#out-wrap', 'data-frames')).toBe(String(STEPS));
    expect(Number(await page.getAttribute('#s-down', 'data-value'))).toBe(s.bytesDown);
    expect(Number(await page.getAttribute('#s-up', 'data-value'))).toBe(s.bytesUp);
    expect(Number(await page.getAttribute('#s-final', 'data-value'))).toBeGreaterThan(0);
    expect(await outputSpread()).toBeGreaterThan(2);
  }

  function checkUpload(s: RunSummary) {
    expect(s.bytesUp).toBeGreaterThan(0);
    expect(s.uploadStages).toBeGreaterThanOrEqual(1);
    expect(s.stagesUsed).toBeGreaterThanOrEqual(1);
    expect(s.bppUp).toBeCloseTo((s.bytesUp * 8) / (128 * 128), 6);
  }

  const log = (s: RunSummary) =>
    console.log(
      `${s.task}: ${s.bytesUp} B up, ${s.bytesDown} B down, ${s.stepsReceived}/${s.stepsAsked} steps, first preview ${Math.round(s.firstFrameMs ?? s.firstStepMs ?? 0)} ms, final ${Math.round(s.finalMs)} ms${s.answer ? `, answer "${s.answer}"` : ''}`,
    );

  it('makes the same text bytes as Node: BPE ids and Brotli streams', async () => {
    const texts = ['what colour is the triangle?', 'a large red circle on the left and a small blue star at the top', 'Ünïcødé, emoji 🚲 and "quotes"', ''];
    for (const text of texts) {
      const inPage = await page.evaluate((t) => (globalThis as unknown as { unimic: { textBytes(t: string): { bpe: number[]; brotli: number[] } } }).unimic.textBytes(t), text);
      expect(inPage.bpe).toEqual(Array.from(bpeEncode(text)));
      expect(inPage.brotli).toEqual(Array.from(compressText(text)));
    }
  });

  it('connects and offers the cloud tasks', async () => {
    expect(await page.getAttribute('#status', 'data-state'), (await page.textContent('#status')) ?? '').toBe('ready');
    const tasks = (await page.getAttribute('body', 'data-tasks'))?.split(',') ?? [];
    expect(tasks).toEqual(expect.arrayContaining(['t2i', 'inpaint', 'outpaint']));
    if (hasCloudPack) expect(tasks).toContain('vqa');
  });

  it(`text-to-image: ${STEPS} frames from a typed prompt`, async () => {
    await page.click('button[data-task="t2i"]');
    await page.fill('#prompt', 'a large red circle on the left and a small blue square at the top on a white background');
    await setRange('steps', STEPS);
    const s = await run();
    log(s);
    await checkImage(s, 128, 128);
    expect(s.bytesUp).toBe(0); // only the prompt goes up, on the control channel
  }, 100_000);

  it('outpainting 8 token columns to the right of a sample', async () => {
    await page.click('#samples button[data-name="kodim12.png"]');
    await page.waitForSelector('#stage[data-image="sample:kodim12.png"]');
    await page.click('button[data-task="outpaint"]');
    await page.click('#sides button[data-side="right"]');
    await setRange('amount', 8);
    const s = await run();
    log(s);
    await checkImage(s, 192, 128);
    checkUpload(s);
  }, 100_000);

  it.skipIf(!hasCloudPack)('VQA: the answer streams in token by token', async () => {
    await page.click('#samples button[data-name="scene-test5.png"]');
    await page.waitForSelector('#stage[data-image="sample:scene-test5.png"]');
    await page.click('button[data-task="vqa"]');
    await page.fill('#question', 'what colour is the triangle?');
    const s = await run();
    log(s);
    expect(s.ok, s.error).toBe(true);
    expect(s.answer.trim().length).toBeGreaterThan(0);
    expect(await page.getAttribute('#answer-text', 'data-answer')).toBe(s.answer);
    expect(await page.isVisible('#answer')).toBe(true);
    checkUpload(s);
  }, 100_000);

  it(`inpainting the centre of an uploaded image, ${STEPS} frames`, async () => {
    await page.setInputFiles('#file', path.join(root, 'examples/samples/kodim23.png'));
    await page.waitForSelector('#stage[data-image="upload:kodim23.png"]');
    await page.click('button[data-task="inpaint"]');
    await page.click('#region-centre');
    const s = await run();
    log(s);
    await checkImage(s, 128, 128);
    checkUpload(s);
    expect(await page.locator('#history tr').count()).toBe(hasCloudPack ? 4 : 3);
    mkdirSync(path.join(root, 'out'), { recursive: true });
    await page.evaluate(() => scrollTo(0, 0));
    await page.screenshot({ path: path.join(root, 'out/web-page.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 100_000);
});
