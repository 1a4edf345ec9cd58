/**
 * The primary's outstanding asks (`health?`, `metrics?`) and their replies, matched by id. An ask
 * that gets no reply in time (a stuck or dying worker) resolves with undefined; it never rejects.
 */
import type { PrimaryMessage, WorkerReply } from './messages.js';

/** How an ask is sent: false when the worker's channel is already closed. */
export type SendToWorker = (message: PrimaryMessage) => boolean;

export class PendingReplies {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (reply: WorkerReply | undefined) => void; timer: NodeJS.Timeout }>();

  /** Sends the ask built for a fresh id; resolves with the reply, or undefined after `timeoutMs`. */
  ask(send: SendToWorker, build: (id: number) => PrimaryMessage, timeoutMs: number): Promise<WorkerReply | undefined> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(id, undefined), timeoutMs);
      this.pending.set(id, { resolve, timer });
      if (!send(build(id))) this.settle(id, undefined);
    });
  }

  /** Hands a reply to its ask; a late or unknown reply is dropped. */
  receive(reply: WorkerReply): void {
    this.settle(reply.id, reply);
  }

  private settle(id: number, reply: WorkerReply | undefined): void {
    const entry = this.pending.get(id);
    if (entry === undefined) return;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    entry.resolve(reply);
  }
}
