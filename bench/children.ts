/**
 * Child processes of the benchmark (the sentry, the load clients). Every child is registered here
 * and killed when the benchmark ends, normally or not: `killAllChildren()` at the end of run.ts,
 * and a synchronous SIGKILL from the 'exit' handler, which also runs after Ctrl-C.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const children = new Set<ChildProcess>();
const exitHooks = new Set<() => void>();

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

process.on('exit', () => {
  for (const child of children) if (isRunning(child)) child.kill('SIGKILL');
  for (const hook of exitHooks) hook();
});

/** Runs `hook` (synchronous, e.g. removing a temp dir) if the process exits before `dispose()`. */
export function onExit(hook: () => void): { dispose(): void } {
  exitHooks.add(hook);
  return { dispose: () => void exitHooks.delete(hook) };
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const child of children) if (isRunning(child)) child.kill('SIGKILL');
    process.exit(130);
  });
}

/** Spawns and registers a child; it is unregistered when it exits. */
export function spawnChild(command: string, args: string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, options);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Resolves when the child has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child is gone. */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (!isRunning(child)) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited(child);
  clearTimeout(timer);
}

export async function killAllChildren(): Promise<void> {
  await Promise.all([...children].map((child) => stopChild(child, 1000)));
}
