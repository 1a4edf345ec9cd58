/**
 * glibc's `malloc_trim(0)`, called from Node through koffi (an FFI library with prebuilt binaries).
 * Node frees TLS and HTTP/2 state into glibc's heaps, which keep the pages; only `malloc_trim`
 * hands them back to the system, and Node does not expose it. The call runs on a libuv pool thread
 * (`.async`): trimming a 300 MB heap takes a few hundred milliseconds, too long for the event loop.
 *
 * Missing where there is no glibc (musl, macOS, Windows) or koffi cannot load: then `loadMallocTrim`
 * says why and the caller goes without.
 */
import { createRequire } from 'node:module';

/** Returns 1 when memory was released to the system, 0 when there was nothing to release. */
export type MallocTrim = () => Promise<number>;

export type MallocTrimLoad = { trim: MallocTrim } | { unavailable: string };

interface KoffiFunction {
  async(pad: number, done: (err: unknown, result: number) => void): void;
}
interface Koffi {
  load(path: string): { func(signature: string): KoffiFunction };
}

/** The C library's file name when the process runs on glibc, else undefined. */
function glibcLibrary(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime === undefined ? undefined : 'libc.so.6';
}

export function loadMallocTrim(loadKoffi: () => unknown = () => createRequire(import.meta.url)('koffi')): MallocTrimLoad {
  const libc = glibcLibrary();
  if (libc === undefined) return { unavailable: `no glibc on ${process.platform} (malloc_trim is glibc's)` };
  let fn: KoffiFunction;
  try {
    fn = (loadKoffi() as Koffi).load(libc).func('int malloc_trim(size_t pad)');
  } catch (err) {
    return { unavailable: `cannot load malloc_trim through koffi: ${(err as Error).message}` };
  }
  return {
    trim: () =>
      new Promise((resolve, reject) => {
        fn.async(0, (err, result) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(result)));
      }),
  };
}
