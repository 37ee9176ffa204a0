/**
 * Position helpers shared by the peers: which raster cells a mask selects, and where cells
 * land when an outpainting request grows the canvas.
 *
 * Mask bitmap format: ceil(width*height / 8) bytes, cell i = y*width+x is bit (i & 7) of byte
 * (i >> 3), least significant bit first; 1 = masked (to be regenerated). Unused bits of the
 * last byte must be 0 so each mask has exactly one encoding.
 */
import { ErrorCode, ProtocolError } from '../errors.ts';

/** Same limit as schedules: positions must fit a Uint16. */
export const MAX_CANVAS_SIDE = 128;

export const EXTENSION_SIDES = ['left', 'right', 'top', 'bottom'] as const;
export type ExtensionSide = (typeof EXTENSION_SIDES)[number];

function fail(message: string): never {
  throw new ProtocolError(ErrorCode.InvalidArgument, message);
}

function checkSide(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_CANVAS_SIDE) {
    fail(`${what} must be an integer in 1..${MAX_CANVAS_SIDE}, got ${String(value)}`);
  }
  return value;
}

/** Bytes a mask bitmap for a width x height grid occupies. */
export function maskByteLength(width: number, height: number): number {
  const w = checkSide(width, 'width');
  const h = checkSide(height, 'height');
  return (w * h + 7) >> 3;
}

/**
 * Validates a bitmap that may have come off the wire: wrong length or set padding bits are
 * ERR_MALFORMED (bad data); a non-Uint8Array or bad grid size is ERR_INVALID_ARGUMENT.
 */
function checkMask(mask: unknown, width: number, height: number): number {
  const bytes = maskByteLength(width, height);
  if (!(mask instanceof Uint8Array)) fail('mask must be a Uint8Array bitmap');
  if (mask.length !== bytes) {
    throw new ProtocolError(
      ErrorCode.Malformed,
      `mask for ${width}x${height} needs ${bytes} bytes, got ${mask.length}`,
    );
  }
  const cells = width * height;
  const usedBits = cells & 7;
  if (usedBits !== 0) {
    const last = mask[bytes - 1] ?? 0;
    if (last >> usedBits !== 0) {
      throw new ProtocolError(ErrorCode.Malformed, 'mask has bits set beyond the last cell');
    }
  }
  return cells;
}

function selectPositions(mask: Uint8Array, cells: number, wanted: 0 | 1): Uint16Array {
  let count = 0;
  for (let i = 0; i < cells; i++) if ((((mask[i >> 3] ?? 0) >> (i & 7)) & 1) === wanted) count++;
  const out = new Uint16Array(count);
  let n = 0;
  for (let i = 0; i < cells; i++) if ((((mask[i >> 3] ?? 0) >> (i & 7)) & 1) === wanted) out[n++] = i;
  return out;
}

/** Raster positions (ascending) whose mask bit is 1: the cells the cloud regenerates. */
export function maskedPositions(mask: Uint8Array, width: number, height: number): Uint16Array {
  return selectPositions(mask, checkMask(mask, width, height), 1);
}

/** Raster positions (ascending) whose mask bit is 0: the cells the edge sends up. */
export function unmaskedPositions(mask: Uint8Array, width: number, height: number): Uint16Array {
  return selectPositions(mask, checkMask(mask, width, height), 0);
}

/** Builds a mask bitmap from masked raster positions (any order; duplicates are an error). */
export function maskFromPositions(positions: ArrayLike<number>, width: number, height: number): Uint8Array {
  const mask = new Uint8Array(maskByteLength(width, height));
  const cells = width * height;
  for (let k = 0; k < positions.length; k++) {
    const p = positions[k];
    if (p === undefined || !Number.isInteger(p) || p < 0 || p >= cells) {
      fail(`mask position ${String(p)} is outside 0..${cells - 1}`);
    }
    const bit = 1 << (p & 7);
    const byte = mask[p >> 3] ?? 0;
    if ((byte & bit) !== 0) fail(`mask position ${p} listed twice`);
    mask[p >> 3] = byte | bit;
  }
  return mask;
}

export interface ExtensionGeometry {
  /** New canvas size. */
  readonly width: number;
  readonly height: number;
  /** Where the old (0, 0) lands in the new canvas. */
  readonly offsetX: number;
  readonly offsetY: number;
  /** Raster positions in the new canvas of the added cells, ascending: what flows down. */
  readonly newRegion: Uint16Array;
  /** oldToNew[oldPosition] = position of that cell in the new canvas. */
  readonly oldToNew: Uint16Array;
}

/**
 * Geometry of extending a width x height grid by `amount` rows/columns on `side`. The new
 * canvas must still fit MAX_CANVAS_SIDE; amount is an integer >= 1.
 */
export function extensionGeometry(
  width: number,
  height: number,
  side: ExtensionSide,
  amount: number,
): ExtensionGeometry {
  const w = checkSide(width, 'width');
  const h = checkSide(height, 'height');
  if (typeof side !== 'string' || !(EXTENSION_SIDES as readonly string[]).includes(side)) {
    fail(`extension side must be one of ${EXTENSION_SIDES.join(', ')}, got ${JSON.stringify(side)}`);
  }
  if (typeof amount !== 'number' || !Number.isInteger(amount) || amount < 1) {
    fail(`extension amount must be a positive integer, got ${String(amount)}`);
  }
  const horizontal = side === 'left' || side === 'right';
  const newW = horizontal ? w + amount : w;
  const newH = horizontal ? h : h + amount;
  if (newW > MAX_CANVAS_SIDE || newH > MAX_CANVAS_SIDE) {
    fail(`extending ${w}x${h} by ${amount} on the ${side} gives ${newW}x${newH}, over ${MAX_CANVAS_SIDE}`);
  }
  const offsetX = side === 'left' ? amount : 0;
  const offsetY = side === 'top' ? amount : 0;

  const oldToNew = new Uint16Array(w * h);
  const isOld = new Uint8Array(newW * newH);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const np = (y + offsetY) * newW + (x + offsetX);
      oldToNew[y * w + x] = np;
      isOld[np] = 1;
    }
  }
  const newRegion = new Uint16Array(newW * newH - w * h);
  let n = 0;
  for (let p = 0; p < isOld.length; p++) if (isOld[p] === 0) newRegion[n++] = p;
  return Object.freeze({ width: newW, height: newH, offsetX, offsetY, newRegion, oldToNew });
}
