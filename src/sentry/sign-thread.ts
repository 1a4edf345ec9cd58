/**
 * A signing thread (worker_threads) of `SignThreadPool`: holds its own copy of the CA (sent as
 * bundle texts after every reload) and runs `issueLeaf` for the requests it is given. Answers
 * carry the leaf or the refusal (status, message, metric reason) that the main thread turns back
 * into a `SignFailure`, so a refusal reads exactly as on the main thread. What it imports loads into
 * its own heap, so it stays small (no @grpc/grpc-js: sign-status.ts).
 */
import { getHeapStatistics } from 'node:v8';
import { parentPort } from 'node:worker_threads';
import { SignStatus } from './sign-status.js';
import { TrustBundle } from '../core/bundle.js';
import type { Certificate } from '../core/certificate.js';
import { systemClock } from '../core/clock.js';
import { WorkloadSigner } from '../core/sign.js';
import { issueLeaf, SignFailure } from './issue-leaf.js';
import { SIGN_THREAD_BUFFER_POOL_BYTES } from './heap-limits.js';
import { fullGarbageCollection } from './native/v8-gc.js';
import type { FromSignThread, ToSignThread } from './sign-thread-messages.js';

// The slab imported modules began is replaced at its next refill; later slabs are this size (heap-limits.ts).
Buffer.poolSize = SIGN_THREAD_BUFFER_POOL_BYTES;
const port = parentPort;
if (port === null) throw new Error('sign-thread runs as a worker thread only');
const answer = (message: FromSignThread): void => port.postMessage(message);
let ca: { signer: WorkloadSigner; issuer: Certificate } | undefined;

port.on('message', (message: ToSignThread) => {
  if (message.type === 'ca') {
    const bundle = TrustBundle.fromTexts(message.texts);
    // The clock is never read: each request brings its signing time (`atMs`) from the sentry's clock.
    const signer = new WorkloadSigner(bundle, {
      clock: systemClock, workloadTtlMs: message.workloadTtlMs, clockSkewMs: message.clockSkewMs, profile: message.profile,
    });
    ca = { signer, issuer: bundle.issuer };
    return;
  }
  if (message.type === 'gc') {
    // Each isolate has its own heap: the main thread's collection does not reach this one.
    // Best effort: a collection that cannot run here must not leave the pool waiting for an answer.
    const collected = (): void => {
      const heap = getHeapStatistics();
      answer({ type: 'collected', id: message.id, memory: { heapUsedBytes: heap.used_heap_size, externalBytes: heap.external_memory, bufferPoolBytes: Buffer.poolSize } });
    };
    try {
      void fullGarbageCollection().then(collected, collected);
    } catch (err) {
      process.stderr.write(`signing thread: garbage collection failed: ${(err as Error).message}\n`);
      collected();
    }
    return;
  }
  const current = ca;
  const work = current === undefined
    ? Promise.reject(new Error('the signing thread has no CA'))
    : issueLeaf(current.signer, current.issuer, message.req);
  work.then(
    (leaf) => answer({ type: 'issued', id: message.id, leaf }),
    (err: unknown) => {
      const failure = err instanceof SignFailure ? err : new SignFailure(SignStatus.INTERNAL, 'failed to sign certificate', 'internal', { cause: err });
      const cause = failure.cause instanceof Error ? failure.cause.message : undefined;
      answer({ type: 'failed', id: message.id, status: failure.status, message: failure.message, reason: failure.reason, ...(cause !== undefined ? { cause } : {}) });
    },
  );
});
