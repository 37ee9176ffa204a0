export {
  SCHEDULE_KINDS,
  MAX_GRID_SIDE,
  MAX_STAGES,
  buildSchedule,
  maxStages,
  cosineRevealed,
  spreadOrder,
  stageOf,
  stageSizes,
  positionsBefore,
  revealedCounts,
} from './schedule.ts';
export type { Schedule, ScheduleArgs, ScheduleKind } from './schedule.ts';
export { deterministicCos } from './cos.ts';
export { mix32, hashWords, createRng, shuffleInPlace } from './hash.ts';
export type { Rng } from './hash.ts';
