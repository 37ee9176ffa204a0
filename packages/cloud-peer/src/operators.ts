import { asyncScheduler, concatMap, defer, filter, map, merge, mergeMap, share, take, tap, timer, type ObservableInput, type OperatorFunction, type SchedulerLike } from 'rxjs';

/*
 * The cloud's request pipeline, one concern per operator so each can be tested on virtual time
 * (marble tests): chunks are decoded one at a time in arrival order, and generation starts the
 * moment the readiness policy allows.
 */

/**
 * Runs `decode` for every item, one at a time and in arrival order: a stage can only be decoded
 * after the stages before it, and the model adapters are not re-entrant.
 */
export function decodeInArrivalOrder<T, R>(decode: (item: T) => ObservableInput<R>): OperatorFunction<T, R> {
  return concatMap((item) => defer(() => decode(item)));
}

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

/**
 * Pulls the next item of `source` as soon as the current one is handed out, so producing item
 * t+1 (a generation step, on the model runtime's threads) overlaps consuming item t (coding and
 * sending it, on this thread). A failure of the look-ahead surfaces when that item is asked for.
 */
export async function* oneAhead<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let next = it.next();
  try {
    for (;;) {
      const r = await next;
      if (r.done) return;
      next = it.next();
      // the consumer may stop before asking for it: never leave a rejection unhandled
      next.catch(() => undefined);
      yield r.value;
    }
  } finally {
    await it.return?.();
  }
}
