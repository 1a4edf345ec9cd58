/** Messages between the sentry's main thread and its signing threads (sign-threads.ts, sign-thread.ts). */
import type { BundleTexts } from '../core/bundle-texts.js';
import type { ProfileVersion } from '../core/profile.js';
import type { IssuedLeaf, LeafRequest } from './issue-leaf.js';
import type { SignFailureReason } from './metrics.js';
import type { SignStatusCode } from './sign-status.js';

export type ToSignThread =
  | { type: 'ca'; texts: BundleTexts; workloadTtlMs: number; clockSkewMs: number; profile: ProfileVersion }
  | { type: 'issue'; id: number; req: LeafRequest }
  /** A full garbage collection of the thread's own heap (memory-release.ts), answered by `collected`. */
  | { type: 'gc'; id: number };

export type FromSignThread =
  | { type: 'issued'; id: number; leaf: IssuedLeaf }
  | { type: 'failed'; id: number; status: SignStatusCode; message: string; reason: SignFailureReason; cause?: string }
  | { type: 'collected'; id: number; memory: SignThreadMemory };

/**
 * The `issue` message for `req`, its CSR in a buffer of its own. postMessage copies a typed array's
 * whole ArrayBuffer, and the CSR the gRPC layer hands over is a view into a slab of Node's Buffer
 * pool (64 KiB on Node 24, 8 KiB on 22; measured: 326 bytes in 65,536), so on Node 24 each call
 * copied 64 KiB into the thread: ~250 MB/s at 4,000 certs/s, and 2,000 queued calls in a restart
 * storm held ~128 MiB there.
 */
export function issueMessage(id: number, req: LeafRequest): ToSignThread {
  const { csrPem } = req;
  const own = csrPem.byteLength === csrPem.buffer.byteLength ? csrPem : new Uint8Array(csrPem); // a copy, exactly its size
  return { type: 'issue', id, req: { ...req, csrPem: own } };
}

/** A signing thread's own heap after a garbage collection (the process's RSS is shared by all threads). */
export interface SignThreadMemory {
  heapUsedBytes: number;
  /** Memory outside the heap that the thread's objects hold: ArrayBuffers (Buffer pool slabs among them). */
  externalBytes: number;
  /** The thread's `Buffer.poolSize` (heap-limits.ts). */
  bufferPoolBytes: number;
}
