import { ffmpegDecode, ffmpegEncode } from './ffmpeg-io.ts';
import { av1CodedBytes } from './payload.ts';
import { range, type PixelCodec } from './types.ts';

/**
 * AV1 intra: one still picture through ffmpeg + libaom-av1 (constant quality, crf 63..0, cpu-used 4),
 * yuv444p (High profile), into a raw low-overhead OBU stream. libaom rather than SVT-AV1 1.4 because SVT-AV1
 * needs 4:2:0 and is tuned for video; libaom takes 128x128 4:4:4 stills with -still-picture.
 */
export const av1: PixelCodec = {
  name: 'av1',
  knob: 'aom crf 63..0',
  levels: range(63, 0),
  sweep: [60, 55, 50, 44, 38, 32, 26, 20],
  async encode(rgb, crf) {
    const file = await ffmpegEncode(rgb, [
      '-pix_fmt', 'yuv444p', '-c:v', 'libaom-av1', '-crf', String(crf), '-b:v', '0',
      '-cpu-used', '4', '-still-picture', '1', '-threads', '1',
    ], 'obu');
    return { file, codedBytes: av1CodedBytes(file) };
  },
  decode: (file, width, height) => ffmpegDecode(file, 'obu', width, height),
};
