/**
 * Running bench/load-client.ts as a child process and reading its JSON-line messages.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { spawnChild } from './children.js';
import type { LoadConfig } from './load-client.js';
import { REPO_ROOT } from './sentry-process.js';

export interface LoadMessage {
  type: string;
  [key: string]: unknown;
}

export class LoadProcess {
  readonly child: ChildProcess;
  readonly messages: LoadMessage[] = [];
  /** Resolves with every message once the process has exited cleanly; rejects otherwise. */
  readonly finished: Promise<LoadMessage[]>;
  private readonly waiters: Array<{ type: string; resolve: (m: LoadMessage) => void; reject: (e: Error) => void }> = [];
  private stderrTail = '';

  constructor(config: LoadConfig) {
    this.child = spawnChild(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bench', 'load-client.ts'), JSON.stringify(config)], {
      cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-2000);
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.receive(line));
    // A hard stop on the parent side too, a little after the client's own watchdog.
    const killer = setTimeout(() => this.child.kill('SIGKILL'), config.maxLifetimeMs + 5000);
    this.finished = new Promise((resolve, reject) => {
      this.child.once('exit', (code, signal) => {
        clearTimeout(killer);
        const failure = code === 0 ? undefined : new Error(`load client failed (${code ?? signal}): ${this.errorText()}`);
        for (const w of this.waiters.splice(0)) w.reject(failure ?? new Error(`load client exited without a "${w.type}" message`));
        if (failure) reject(failure);
        else resolve(this.messages);
      });
    });
    this.finished.catch(() => undefined);
  }

  /** The first message of `type` (already received or still to come). */
  waitFor(type: string): Promise<LoadMessage> {
    const seen = this.messages.find((m) => m.type === type);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => this.waiters.push({ type, resolve, reject }));
  }

  send(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  private receive(line: string): void {
    let message: LoadMessage;
    try {
      message = JSON.parse(line) as LoadMessage;
    } catch {
      return;
    }
    this.messages.push(message);
    for (let k = this.waiters.length - 1; k >= 0; k--) {
      if (this.waiters[k]!.type === message.type) this.waiters.splice(k, 1)[0]!.resolve(message);
    }
  }

  private errorText(): string {
    const error = this.messages.find((m) => m.type === 'error');
    return error ? String(error['message']) : this.stderrTail.trim() || '(no output)';
  }
}
