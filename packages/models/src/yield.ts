/**
 * Lets timers and I/O run. onnxruntime-web's wasm backend computes on the calling thread and its
 * `run` promise settles in a microtask, so a chain of model calls never yields to the event loop:
 * a peer doing a few seconds of inference in one chain would miss its transport's heartbeats
 * and inbound messages (measured: a werift peer declared `failed` after 2 s of uploads).
 */
export function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => unknown };
  return new Promise((resolve) => (g.setImmediate ? g.setImmediate(resolve) : setTimeout(resolve, 0)));
}
