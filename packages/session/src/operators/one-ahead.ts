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
