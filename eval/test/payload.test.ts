import { describe, expect, it } from 'vitest';
import { av1CodedBytes, hevcCodedBytes, jpegCodedBytes, mdatPayload, webpCodedBytes } from '../codecs/payload.ts';

const bytes = (...parts: (number[] | Uint8Array)[]) => new Uint8Array(parts.flatMap((p) => [...p]));

describe('codedBytes parsers on hand-built streams', () => {
  it('JPEG: entropy data of each scan (stuffing and RST included) plus DHT, not DQT', () => {
    const file = bytes(
      [0xff, 0xd8],
      [0xff, 0xdb, 0, 5, 1, 2, 3], // DQT, 7 bytes: excluded
      [0xff, 0xc4, 0, 4, 9, 9], // DHT, 6 bytes: counted
      [0xff, 0xda, 0, 3, 0], [1, 2, 0xff, 0x00, 3, 0xff, 0xd0, 4], // SOS + 8 bytes entropy
      [0xff, 0xda, 0, 3, 0], [5, 6], // second scan, 2 bytes
      [0xff, 0xd9],
    );
    expect(jpegCodedBytes(file)).toBe(6 + 8 + 2);
  });

  it('WebP: the VP8 chunk payload', () => {
    const vp8 = new Uint8Array(11);
    const file = bytes(new TextEncoder().encode('RIFF'), [0, 0, 0, 0], new TextEncoder().encode('WEBPVP8 '), [11, 0, 0, 0], vp8, [0]);
    expect(webpCodedBytes(file)).toBe(11);
  });

  it('HEVC: VCL NAL units only, without start codes', () => {
    const file = bytes([0, 0, 0, 1, 0x40, 0x01, 7, 7], [0, 0, 0, 1, 0x42, 0x01, 7], [0, 0, 1, 0x4e, 0x01, 5], [0, 0, 1, 0x26, 0x01, 1, 2, 3, 4, 5]);
    expect(hevcCodedBytes(file)).toBe(7); // IDR_W_RADL (19): 2-byte header + 5
  });

  it('AV1: frame OBUs, not the temporal delimiter or sequence header', () => {
    const td = [0x12, 0x00];
    const seq = [0x0a, 0x03, 1, 2, 3];
    const frame = [0x32, 0x04, 1, 2, 3, 4];
    expect(av1CodedBytes(bytes(td, seq, frame))).toBe(6);
    expect(() => av1CodedBytes(bytes(td, [0x32, 0x09, 1]))).toThrow();
  });

  it('ISOBMFF: the mdat payload', () => {
    const file = bytes([0, 0, 0, 12], new TextEncoder().encode('ftyp'), [1, 2, 3, 4], [0, 0, 0, 11], new TextEncoder().encode('mdat'), [9, 8, 7]);
    expect([...mdatPayload(file)]).toEqual([9, 8, 7]);
  });
});
