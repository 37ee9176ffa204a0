import { TableBuilder, buildSchedule, decodeChunk, encodeStage, headerLength, type FrequencyTable } from '@unimic/protocol';
import { gaussian, rng, type Suite } from './harness.ts';

/**
 * A typical session without models: 10 images of 16x16 tokens, each sent as 8 cosine stages, with
 * per-position tables from Gaussian logits (scale 3: ~9.5 bits per token, about what a weak
 * entropy model achieves on 8192 codes). Measures what framing costs on the wire.
 */
export const framingSuite: Suite = {
  name: 'framing',
  run(report) {
    for (const side of [16, 32]) {
      const cells = side * side;
      const normal = gaussian(rng(side));
      const builder = new TableBuilder(8192);
      const tables: FrequencyTable[] = Array.from({ length: cells }, () =>
        builder.fromLogits(Float32Array.from({ length: 8192 }, () => normal() * 3)),
      );
      const rand = rng(1);
      let chunks = 0;
      let headerBytes = 0;
      let totalBytes = 0;
      const images = 10;
      for (let message = 0; message < images; message++) {
        const schedule = buildSchedule({ width: side, height: side, stages: 8, kind: 'cosine', seed: message });
        schedule.stages.forEach((positions, stage) => {
          const tableAt = (k: number) => tables[positions[k] as number] as FrequencyTable;
          // Sample each token from its own table, as a well-calibrated model would see them.
          const tokens = Array.from(positions, (_, k) => {
            const cdf = tableAt(k).cdf;
            const u = Math.floor(rand() * 2 ** 24);
            let lo = 0;
            let hi = 8192;
            while (hi - lo > 1) {
              const mid = (lo + hi) >>> 1;
              if ((cdf[mid] as number) <= u) lo = mid;
              else hi = mid;
            }
            return lo;
          });
          for (const bytes of encodeStage({ stream: 0, model: 3, message, stage, tokens, tableAt })) {
            chunks++;
            headerBytes += headerLength(decodeChunk(bytes).header);
            totalBytes += bytes.length;
          }
        });
      }
      const suffix = side === 16 ? '' : `_${side}x${side}`;
      report({
        name: `framing.header_bytes_per_chunk${suffix}`,
        value: headerBytes / chunks,
        unit: 'bytes',
        ...(side === 16 ? { goal: { op: '<=' as const, value: 8 } } : {}),
        note: `${side}x${side} grid, 8 cosine stages, ${(chunks / images).toFixed(1)} chunks/image`,
      });
      report({
        name: `framing.overhead_share${suffix}`,
        value: headerBytes / totalBytes,
        unit: 'ratio',
        note: `header bytes / all bytes, ${(totalBytes / images).toFixed(0)} B/image`,
      });
    }
  },
};
