import { ffmpegDecode, ffmpegEncode } from './ffmpeg-io.ts';
import { hevcCodedBytes } from './payload.ts';
import { range, type PixelCodec } from './types.ts';

/**
 * HEVC intra: one frame through ffmpeg + libx265 at a fixed QP (constant quantiser, so the setting is
 * deterministic and bisectable), tune=psnr, preset slower, yuv444p (Main 4:4:4, like CompressAI's HM anchors: the
 * metric is RGB PSNR, which 4:2:0 would cap). Raw Annex-B .hevc out, decoded back with ffmpeg to rgb24.
 */
export const hevc: PixelCodec = {
  name: 'hevc',
  knob: 'x265 qp 51..0',
  levels: range(51, 0),
  sweep: [46, 42, 38, 34, 30, 26, 22, 18],
  async encode(rgb, qp) {
    const file = await ffmpegEncode(rgb, [
      '-pix_fmt', 'yuv444p', '-c:v', 'libx265', '-preset', 'slower',
      '-x265-params', `log-level=error:qp=${qp}:tune=psnr:keyint=1:info=0`,
    ], 'hevc');
    return { file, codedBytes: hevcCodedBytes(file) };
  },
  decode: (file, width, height) => ffmpegDecode(file, 'hevc', width, height),
};
