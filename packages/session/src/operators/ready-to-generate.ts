import { asyncScheduler, defer, filter, map, merge, mergeMap, share, take, tap, timer, type OperatorFunction, type SchedulerLike } from 'rxjs';

/** What the readiness policy watches: upload stages completing, and the edge's end of upload. */
export type UploadProgress = { readonly completeStages: number } | { readonly uploadDone: true };

export interface Readiness {
  /** Start once this many upload stages are complete (0: at once). */
  readonly need: number;
  /** …or this long after the request arrived, whatever has arrived. */
  readonly deadlineMs: number;
  /** …or this long after the edge said its upload is done (partial reliability: lost stays lost). */
  readonly graceMs: number;
}

/**
 * Emits once, when generation may start, the number of complete upload stages at that moment;
 * then completes. Whichever comes first: enough stages, the deadline, or the grace period after
 * the end of the upload.
 */
export function readyToGenerate(policy: Readiness, scheduler: SchedulerLike = asyncScheduler): OperatorFunction<UploadProgress, number> {
  return (source) =>
    defer(() => {
      let complete = 0;
      const progress = source.pipe(
        tap((p) => {
          if ('completeStages' in p) complete = Math.max(complete, p.completeStages);
        }),
        share(),
      );
      const enough = progress.pipe(filter(() => complete >= policy.need));
      const graceOver = progress.pipe(
        filter((p) => 'uploadDone' in p),
        take(1),
        mergeMap(() => timer(policy.graceMs, scheduler)),
      );
      const atOnce = policy.need <= 0 ? timer(0, scheduler) : [];
      return merge(atOnce, enough, graceOver, timer(policy.deadlineMs, scheduler)).pipe(
        take(1),
        map(() => complete),
      );
    });
}
