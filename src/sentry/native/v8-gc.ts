/**
 * A full V8 garbage collection on demand, without starting Node with `--expose-gc`: the flag is
 * set at run time and `gc` taken from a fresh context (a context created after the flag has it).
 * It runs on the main thread and pauses it for as long as it marks the live heap (V8 has no
 * non-blocking forced collection: `execution: 'async'` only posts the same collection as a task).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | undefined;

/** Runs the collection; resolves with how long it held this thread, in ms. */
export function fullGarbageCollection(): Promise<number> {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  const start = performance.now();
  gc();
  return Promise.resolve(performance.now() - start);
}
