/**
 * `--sign-threads N`: the CSR checks and leaf signatures of SignCertificate run on N worker threads,
 * so the main thread only does TLS, HTTP/2 and the gRPC framing. In one process the main thread is
 * what limits a restart storm (2,000 new TLS connections at once); the CSR parse, key import and
 * certificate assembly moved off it are ~150 µs of its ~1.4 ms per new sidecar.
 *
 * Each thread holds a copy of the CA: the bundle texts are sent at start and after every reload
 * (`CaStateHolder.onSwap`), ahead of any request that follows. A request goes to the thread with the
 * fewest in flight. A thread that dies fails its calls with INTERNAL and is replaced after 1 s
 * (doubling while replacements keep dying); while no thread is up, the main thread signs.
 */
import type { ResourceLimits, Worker } from 'node:worker_threads';
import { status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { CaState, CaStateHolder } from './ca-state.js';
import type { SentryConfig } from './config.js';
import { InThreadLeafIssuer, SignFailure, type IssuedLeaf, type LeafIssuer, type LeafRequest } from './issue-leaf.js';
import { SIGN_THREAD_YOUNG_GENERATION_MB } from './heap-limits.js';
import { issueMessage, type FromSignThread, type SignThreadMemory, type ToSignThread } from './sign-thread-messages.js';
import { startWorker } from './worker-exec-argv.js';

interface SignThread {
  worker: Worker;
  pending: Map<number, { resolve: (leaf: IssuedLeaf) => void; reject: (err: SignFailure) => void }>;
  /** Answered at least once: a thread that dies before that counts as a failed start. */
  answered: boolean;
  /** Garbage collections asked of the thread and not yet answered. */
  collecting: Map<number, (memory?: SignThreadMemory) => void>;
}

/**
 * Under tsx (tests and the bench run `node --import tsx`) this module is a .ts file, and so is the
 * thread's entry. A worker is given the process's execArgv (filtered: worker-exec-argv.ts), and since Node 22 the module hooks an
 * `--import` preload registers apply in workers too, so the .ts entry loads as is (measured: Node
 * 22.23.5 and 24.22.3 load it; Node 20 failed with "Unknown file extension .ts" and needed a
 * `tsx/esm/api` register shim here). The built package (dist/) starts the .js entry.
 */
const THREAD_ENTRY = new URL(import.meta.url.endsWith('.ts') ? './sign-thread.ts' : './sign-thread.js', import.meta.url);

const internal = (why: string): SignFailure => new SignFailure(status.INTERNAL, 'failed to sign certificate', 'internal', { cause: new Error(why) });

export class SignThreadPool implements LeafIssuer {
  private readonly threads: SignThread[] = [];
  private nextId = 1;
  private closed = false;
  private failedStarts = 0;
  private readonly unsubscribe: () => void;
  private readonly fallback: LeafIssuer;

  constructor(
    count: number,
    private readonly caState: CaStateHolder,
    private readonly config: Pick<SentryConfig, 'workloadCertTtlMs' | 'allowedClockSkewMs'>,
    private readonly logger: Logger,
  ) {
    this.fallback = new InThreadLeafIssuer(caState);
    for (let i = 0; i < count; i++) this.threads.push(this.startThread());
    this.unsubscribe = caState.onSwap((state) => {
      for (const thread of this.threads) this.sendCa(thread, state);
    });
  }

  issue(req: LeafRequest): Promise<IssuedLeaf> {
    if (this.closed) return Promise.reject(internal('the signing threads are closed'));
    if (this.threads.length === 0) return this.fallback.issue(req);
    let chosen = this.threads[0]!;
    for (const thread of this.threads) if (thread.pending.size < chosen.pending.size) chosen = thread;
    const id = this.nextId++;
    return new Promise<IssuedLeaf>((resolve, reject) => {
      // Busy threads keep the process alive until they answer; idle ones do not (see startThread).
      if (chosen.pending.size === 0) chosen.worker.ref();
      chosen.pending.set(id, { resolve, reject });
      chosen.worker.postMessage(issueMessage(id, req));
    });
  }

  /**
   * A full garbage collection in every thread (each isolate has its own heap; memory-release.ts).
   * Resolves, when all have answered or exited, with each answering thread's heap after its collection;
   * a thread pauses only its own signing meanwhile.
   */
  async collectGarbage(): Promise<SignThreadMemory[]> {
    if (this.closed) return [];
    const answers = await Promise.all(this.threads.map((thread) => new Promise<SignThreadMemory | undefined>((resolve) => {
      const id = this.nextId++;
      thread.collecting.set(id, resolve);
      thread.worker.ref(); // an idle thread is unref'd: keep the process alive until it answers
      thread.worker.postMessage({ type: 'gc', id } satisfies ToSignThread);
    })));
    return answers.filter((memory) => memory !== undefined);
  }

  /** Stops the threads; calls still in flight fail with INTERNAL. */
  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    await Promise.all(this.threads.map((thread) => thread.worker.terminate()));
  }

  /** The threads' V8 limits (tests). */
  resourceLimits(): ResourceLimits[] {
    return this.threads.map((t) => t.worker.resourceLimits ?? {});
  }

  /** The threads' ids (tests). */
  threadIds(): number[] {
    return this.threads.map((t) => t.worker.threadId);
  }

  private startThread(): SignThread {
    // Not plain `new Worker`: inherited main-script-only flags would kill the thread (worker-exec-argv.ts).
    // A small young generation: V8's default lets each thread's heap grow by ~100 MiB under load (heap-limits.ts).
    const worker = startWorker(THREAD_ENTRY, process.execArgv, { resourceLimits: { maxYoungGenerationSizeMb: SIGN_THREAD_YOUNG_GENERATION_MB } });
    const thread: SignThread = { worker, pending: new Map(), answered: false, collecting: new Map() };
    worker.on('message', (message: FromSignThread) => {
      if (!thread.answered) {
        thread.answered = true;
        this.failedStarts = 0;
      }
      if (message.type === 'collected') {
        thread.collecting.get(message.id)?.(message.memory);
        thread.collecting.delete(message.id);
        if (thread.pending.size === 0 && thread.collecting.size === 0) worker.unref();
        return;
      }
      const pending = thread.pending.get(message.id);
      if (pending === undefined) return;
      thread.pending.delete(message.id);
      if (thread.pending.size === 0 && thread.collecting.size === 0) worker.unref();
      if (message.type === 'issued') pending.resolve(message.leaf);
      else pending.reject(new SignFailure(message.status, message.message, message.reason, message.cause === undefined ? undefined : { cause: new Error(message.cause) }));
    });
    worker.on('error', (err) => this.logger.error({ err: err.message }, 'A signing thread failed'));
    worker.once('exit', (code) => this.onExit(thread, code));
    // Idle threads must not keep the process alive (the listeners do that).
    worker.unref();
    this.sendCa(thread, this.caState.current);
    return thread;
  }

  private sendCa(thread: SignThread, state: CaState): void {
    thread.worker.postMessage({
      type: 'ca', texts: state.bundle.toTexts(), workloadTtlMs: this.config.workloadCertTtlMs, clockSkewMs: this.config.allowedClockSkewMs,
      profile: state.signer.profile,
    } satisfies ToSignThread);
  }

  private onExit(thread: SignThread, code: number): void {
    for (const pending of thread.pending.values()) pending.reject(internal(`the signing thread exited (${code})`));
    thread.pending.clear();
    for (const done of thread.collecting.values()) done();
    thread.collecting.clear();
    const at = this.threads.indexOf(thread);
    if (at >= 0) this.threads.splice(at, 1);
    if (this.closed) return;
    if (!thread.answered) this.failedStarts++;
    const delayMs = Math.min(1000 * 2 ** this.failedStarts, 30_000);
    this.logger.error({ exitCode: code, delayMs }, `A signing thread exited; starting another in ${delayMs} ms`);
    setTimeout(() => {
      if (!this.closed) this.threads.push(this.startThread());
    }, delayMs).unref();
  }
}
