import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, ProtocolError } from '../src/errors.ts';
import {
  EXTENSION_SIDES,
  STREAM_IDS,
  TASKS,
  TASK_NAMES,
  TOKEN_SET_NAMES,
  extensionGeometry,
  maskByteLength,
  maskFromPositions,
  maskedPositions,
  taskSpec,
  tokenSetOfStream,
  unmaskedPositions,
} from '../src/tasks/index.ts';
import type { ExtensionSide, TaskSpec } from '../src/tasks/index.ts';
import { expectCode } from './helpers.ts';

const summary = (t: TaskSpec) => ({
  up: t.up.map((s) => `${s.set}@${s.stream}${s.required ? '' : '?'}`),
  down: t.down.map((s) => `${s.set}@${s.stream}${s.required ? '' : '?'}`),
  ext: t.needsExtension,
});

describe('task table', () => {
  it('lists the four UniMIC tasks', () => {
    expect([...TASK_NAMES]).toEqual(['t2i', 'inpaint', 'outpaint', 'vqa']);
    expect(Object.keys(TASKS).sort()).toEqual([...TASK_NAMES].sort());
  });

  it('t2i: prompt up, full grid down', () => {
    expect(summary(taskSpec('t2i'))).toEqual({ up: ['text:prompt@5'], down: ['image:full@0'], ext: false });
  });

  it('inpaint: unmasked tokens + mask + optional prompt up, masked tokens down', () => {
    expect(summary(taskSpec('inpaint'))).toEqual({
      up: ['image:unmasked@1', 'mask@4', 'text:prompt@5?'],
      down: ['image:masked@2'],
      ext: false,
    });
  });

  it('outpaint: all tokens (+ optional prompt) and geometry up, new region down', () => {
    expect(summary(taskSpec('outpaint'))).toEqual({
      up: ['image:full@0', 'text:prompt@5?'],
      down: ['image:extension@3'],
      ext: true,
    });
  });

  it('vqa: image + question up, answer text down', () => {
    expect(summary(taskSpec('vqa'))).toEqual({
      up: ['image:full@0', 'text:question@6'],
      down: ['text:answer@7'],
      ext: false,
    });
  });

  it('codecs follow the set family', () => {
    for (const name of TASK_NAMES) {
      for (const s of [...TASKS[name].up, ...TASKS[name].down]) {
        const family = s.set.startsWith('image:') ? 'image' : s.set.startsWith('text:') ? 'text' : 'mask';
        expect(s.codec).toBe(family);
        expect(s.stream).toBe(STREAM_IDS[s.set]);
      }
    }
  });

  it('stream ids are a bijection onto 0..7', () => {
    const ids = TOKEN_SET_NAMES.map((n) => STREAM_IDS[n]);
    expect([...ids].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const n of TOKEN_SET_NAMES) expect(tokenSetOfStream(STREAM_IDS[n])).toBe(n);
    for (const bad of [-1, 8, 1.5, Number.NaN]) expectCode(() => tokenSetOfStream(bad), ErrorCode.UnknownType);
  });

  it('no set travels both ways within a task, and every task sends something each way', () => {
    for (const name of TASK_NAMES) {
      const t = TASKS[name];
      const up = new Set(t.up.map((s) => s.set));
      expect(t.down.some((s) => up.has(s.set))).toBe(false);
      expect(t.up.some((s) => s.required)).toBe(true);
      expect(t.down.some((s) => s.required)).toBe(true);
    }
  });

  it('is frozen all the way down', () => {
    const t = taskSpec('inpaint');
    expect(Object.isFrozen(TASKS)).toBe(true);
    expect(Object.isFrozen(t)).toBe(true);
    expect(Object.isFrozen(t.up)).toBe(true);
    expect(Object.isFrozen(t.up[0])).toBe(true);
    expect(Object.isFrozen(STREAM_IDS)).toBe(true);
  });

  it('unknown tasks are ERR_UNKNOWN_TYPE, including prototype keys', () => {
    for (const bad of ['t2v', '', 'T2I', '__proto__', 'constructor', 'toString']) {
      expectCode(() => taskSpec(bad), ErrorCode.UnknownType);
    }
    expectCode(() => taskSpec(42 as unknown as string), ErrorCode.UnknownType);
  });
});

describe('mask positions', () => {
  it('reads an LSB-first bitmap in raster order', () => {
    // 3x3 grid, masked: (1,0)=1, (0,1)=3, (2,2)=8 -> byte0 = 0b00001010, byte1 = 0b1
    const mask = new Uint8Array([0b00001010, 0b00000001]);
    expect(Array.from(maskedPositions(mask, 3, 3))).toEqual([1, 3, 8]);
    expect(Array.from(unmaskedPositions(mask, 3, 3))).toEqual([0, 2, 4, 5, 6, 7]);
    expect(maskFromPositions([8, 1, 3], 3, 3)).toEqual(mask);
  });

  it('masked and unmasked partition the grid; maskFromPositions inverts maskedPositions', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.nat(),
        (w, h, density, salt) => {
          const cells = w * h;
          const picked: number[] = [];
          for (let i = 0; i < cells; i++) {
            if (((Math.imul(i + 1, 0x9e3779b1) ^ salt) >>> 0) / 2 ** 32 < density) picked.push(i);
          }
          const mask = maskFromPositions(picked, w, h);
          expect(mask.length).toBe(maskByteLength(w, h));
          const m = maskedPositions(mask, w, h);
          const u = unmaskedPositions(mask, w, h);
          expect(Array.from(m)).toEqual(picked);
          expect(m.length + u.length).toBe(cells);
          const all = [...m, ...u].sort((a, b) => a - b);
          expect(all).toEqual(Array.from({ length: cells }, (_, i) => i));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('rejects wrong lengths and padding bits as ERR_MALFORMED', () => {
    expectCode(() => maskedPositions(new Uint8Array(1), 3, 3), ErrorCode.Malformed);
    expectCode(() => maskedPositions(new Uint8Array(3), 3, 3), ErrorCode.Malformed);
    expectCode(() => unmaskedPositions(new Uint8Array([0, 0b10]), 3, 3), ErrorCode.Malformed);
    // 4x4 = 16 cells: no padding, all bits valid
    expect(maskedPositions(new Uint8Array([0xff, 0xff]), 4, 4).length).toBe(16);
  });

  it('rejects bad arguments as ERR_INVALID_ARGUMENT', () => {
    expectCode(() => maskedPositions([1] as unknown as Uint8Array, 3, 3), ErrorCode.InvalidArgument);
    expectCode(() => maskedPositions(new Uint8Array(2), 0, 3), ErrorCode.InvalidArgument);
    expectCode(() => maskedPositions(new Uint8Array(2), 3, 129), ErrorCode.InvalidArgument);
    expectCode(() => unmaskedPositions(new Uint8Array(2), 2.5, 3), ErrorCode.InvalidArgument);
    expectCode(() => maskFromPositions([9], 3, 3), ErrorCode.InvalidArgument);
    expectCode(() => maskFromPositions([-1], 3, 3), ErrorCode.InvalidArgument);
    expectCode(() => maskFromPositions([2, 2], 3, 3), ErrorCode.InvalidArgument);
    expectCode(() => maskFromPositions([0.5], 3, 3), ErrorCode.InvalidArgument);
  });
});

describe('extensionGeometry', () => {
  it('right: new columns at the end of each row', () => {
    const g = extensionGeometry(2, 2, 'right', 1);
    expect([g.width, g.height, g.offsetX, g.offsetY]).toEqual([3, 2, 0, 0]);
    expect(Array.from(g.newRegion)).toEqual([2, 5]);
    expect(Array.from(g.oldToNew)).toEqual([0, 1, 3, 4]);
  });

  it('left: old cells shift right', () => {
    const g = extensionGeometry(2, 2, 'left', 2);
    expect([g.width, g.height, g.offsetX, g.offsetY]).toEqual([4, 2, 2, 0]);
    expect(Array.from(g.newRegion)).toEqual([0, 1, 4, 5]);
    expect(Array.from(g.oldToNew)).toEqual([2, 3, 6, 7]);
  });

  it('top: old cells shift down', () => {
    const g = extensionGeometry(3, 1, 'top', 1);
    expect([g.width, g.height, g.offsetX, g.offsetY]).toEqual([3, 2, 0, 1]);
    expect(Array.from(g.newRegion)).toEqual([0, 1, 2]);
    expect(Array.from(g.oldToNew)).toEqual([3, 4, 5]);
  });

  it('bottom: new rows appended', () => {
    const g = extensionGeometry(2, 2, 'bottom', 2);
    expect([g.width, g.height, g.offsetX, g.offsetY]).toEqual([2, 4, 0, 0]);
    expect(Array.from(g.newRegion)).toEqual([4, 5, 6, 7]);
    expect(Array.from(g.oldToNew)).toEqual([0, 1, 2, 3]);
  });

  it('old and new cells partition the new canvas, preserving layout', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 64 }),
        fc.constantFrom<ExtensionSide>(...EXTENSION_SIDES),
        fc.integer({ min: 1, max: 64 }),
        (w, h, side, amount) => {
          const g = extensionGeometry(w, h, side, amount);
          const cells = g.width * g.height;
          const seen = new Uint8Array(cells);
          for (const p of g.newRegion) seen[p] = (seen[p] ?? 0) + 1;
          for (const p of g.oldToNew) seen[p] = (seen[p] ?? 0) + 1;
          expect(seen.every((c) => c === 1)).toBe(true);
          expect(g.newRegion.length).toBe(amount * (side === 'left' || side === 'right' ? h : w));
          // Each old cell keeps its relative position.
          let ok = true;
          for (let i = 0; i < w * h; i++) {
            const np = g.oldToNew[i] ?? -1;
            const x = (i % w) + g.offsetX;
            const y = Math.floor(i / w) + g.offsetY;
            if (np !== y * g.width + x) ok = false;
          }
          expect(ok).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('rejects bad arguments', () => {
    expectCode(() => extensionGeometry(0, 4, 'left', 1), ErrorCode.InvalidArgument);
    expectCode(() => extensionGeometry(4, 4, 'up' as ExtensionSide, 1), ErrorCode.InvalidArgument);
    expectCode(() => extensionGeometry(4, 4, 'left', 0), ErrorCode.InvalidArgument);
    expectCode(() => extensionGeometry(4, 4, 'left', 1.5), ErrorCode.InvalidArgument);
    expectCode(() => extensionGeometry(120, 4, 'right', 9), ErrorCode.InvalidArgument);
    expectCode(() => extensionGeometry(4, 128, 'top', 1), ErrorCode.InvalidArgument);
    expect(extensionGeometry(120, 4, 'right', 8).width).toBe(128);
  });
});
