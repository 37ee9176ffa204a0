/**
 * Container-free sizes ("codedBytes") of each format: the picture data without headers, parameter sets or
 * boxes, so a codec's rate is not charged for framing that a streaming protocol would carry once or not at all.
 */

const u16 = (b: Uint8Array, i: number): number => ((b[i] as number) << 8) | (b[i + 1] as number);
const u32be = (b: Uint8Array, i: number): number => u16(b, i) * 65536 + u16(b, i + 2);
const u32le = (b: Uint8Array, i: number): number =>
  (b[i] as number) + ((b[i + 1] as number) << 8) + ((b[i + 2] as number) << 16) + (b[i + 3] as number) * 16777216;

/**
 * JPEG: the entropy-coded data of every scan (after each SOS header, up to the next non-RST marker, stuffed
 * bytes and RST markers included) plus the DHT segments. Huffman tables count because mozjpeg optimises them
 * per image, so they carry image information; DQT does not, being a function of the quality setting alone.
 */
export function jpegCodedBytes(b: Uint8Array): number {
  if (b[0] !== 0xff || b[1] !== 0xd8) throw new Error('not a JPEG');
  let i = 2;
  let total = 0;
  while (i + 2 <= b.length) {
    if (b[i] !== 0xff) throw new Error(`JPEG: expected a marker at ${i}`);
    const marker = b[i + 1] as number;
    if (marker === 0xff) { i++; continue; } // fill byte
    if (marker === 0xd9) return total; // EOI
    const len = u16(b, i + 2);
    if (marker === 0xc4) total += len + 2;
    i += 2 + len;
    if (marker === 0xda) {
      const start = i;
      while (i + 1 < b.length && !(b[i] === 0xff && b[i + 1] !== 0x00 && ((b[i + 1] as number) < 0xd0 || (b[i + 1] as number) > 0xd7))) i++;
      total += i - start;
    }
  }
  throw new Error('JPEG: no EOI');
}

/** WebP: the payload of the 'VP8 ' (lossy) or 'VP8L' (lossless) chunk, without RIFF, VP8X or metadata chunks. */
export function webpCodedBytes(b: Uint8Array): number {
  const tag = (i: number) => String.fromCharCode(...b.subarray(i, i + 4));
  if (tag(0) !== 'RIFF' || tag(8) !== 'WEBP') throw new Error('not a WebP');
  for (let i = 12; i + 8 <= b.length; ) {
    const size = u32le(b, i + 4);
    if (tag(i) === 'VP8 ' || tag(i) === 'VP8L') return size;
    i += 8 + size + (size & 1);
  }
  throw new Error('WebP: no VP8 chunk');
}

/** HEVC Annex-B: the NAL units (2-byte header + payload, no start codes) of VCL types 0..31, i.e. the slices; VPS/SPS/PPS/SEI/AUD are left out. */
export function hevcCodedBytes(b: Uint8Array): number {
  const starts: { at: number; prefix: number }[] = [];
  for (let i = 0; i + 2 < b.length; i++) {
    if (b[i] === 0 && b[i + 1] === 0 && b[i + 2] === 1) {
      starts.push({ at: i + 3, prefix: i > 0 && b[i - 1] === 0 ? 4 : 3 });
      i += 2;
    }
  }
  if (starts.length === 0) throw new Error('HEVC: no start code');
  let total = 0;
  for (let k = 0; k < starts.length; k++) {
    const s = starts[k] as { at: number; prefix: number };
    const next = starts[k + 1];
    const end = next ? next.at - next.prefix : b.length;
    const type = ((b[s.at] as number) >> 1) & 0x3f;
    if (type <= 31) total += end - s.at;
  }
  return total;
}

/** Reads an unsigned LEB128 at `i`: [value, bytes read]. */
function leb128(b: Uint8Array, i: number): [number, number] {
  let value = 0;
  for (let n = 0; n < 8; n++) {
    const byte = b[i + n];
    if (byte === undefined) throw new Error('AV1: truncated leb128');
    value += (byte & 0x7f) * 2 ** (7 * n);
    if ((byte & 0x80) === 0) return [value, n + 1];
  }
  throw new Error('AV1: leb128 too long');
}

/**
 * AV1 low-overhead OBU stream: the whole OBUs (header, size field, payload) of types FRAME_HEADER (3),
 * TILE_GROUP (4) and FRAME (6); sequence header, temporal delimiter, metadata and padding are left out.
 */
export function av1CodedBytes(b: Uint8Array): number {
  let total = 0;
  let i = 0;
  while (i < b.length) {
    const h = b[i] as number;
    const type = (h >> 3) & 0x0f;
    const ext = (h >> 2) & 1;
    if ((h & 2) === 0) throw new Error('AV1: OBU without size field');
    const [size, n] = leb128(b, i + 1 + ext);
    const whole = 1 + ext + n + size;
    if (type === 3 || type === 4 || type === 6) total += whole;
    i += whole;
  }
  if (i !== b.length) throw new Error('AV1: OBU overruns the stream');
  return total;
}

/** The payload of the top-level ISOBMFF 'mdat' box(es): for a still AVIF, the AV1 item data. */
export function mdatPayload(b: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 0; i + 8 <= b.length; ) {
    let size = u32be(b, i);
    let header = 8;
    if (size === 1) { size = u32be(b, i + 8) * 2 ** 32 + u32be(b, i + 12); header = 16; }
    else if (size === 0) size = b.length - i;
    if (String.fromCharCode(...b.subarray(i + 4, i + 8)) === 'mdat') parts.push(b.subarray(i + header, i + size));
    i += size;
  }
  if (parts.length === 0) throw new Error('ISOBMFF: no mdat');
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** AVIF: the frame OBUs inside the mdat payload (so the same definition as raw AV1); the mdat payload size if it will not parse as OBUs. */
export function avifCodedBytes(b: Uint8Array): number {
  const item = mdatPayload(b);
  try {
    return av1CodedBytes(item);
  } catch {
    return item.length;
  }
}
