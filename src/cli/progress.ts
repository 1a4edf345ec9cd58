/**
 * The progress display of app restarts: done/total, what is restarting now, failures.
 * - Interactive (a terminal): one status line redrawn in place (at most every 100 ms), failures
 *   printed as permanent lines above it.
 * - Otherwise (pipes, CI logs, tests): one line per finished app, each carrying the counts and
 *   what is still in flight, so a log shows progress without control characters.
 */
import type { AppRestartProgress, WorkloadRef } from '../kube/restarts.js';
import type { Io } from './io.js';
import { printStatus, STATUS_PREFIX } from './output.js';

export interface ProgressDisplay {
  update(progress: AppRestartProgress): void;
  /** Clears the live line (interactive mode); call before printing the summary. */
  finish(): void;
}

const CLEAR_LINE = '\r\u001b[K';
const REDRAW_MS = 100;
const SHOWN_IN_FLIGHT = 3;

/** `deployment/app-1 in team-a`. */
export function workloadText(ref: WorkloadRef): string {
  return `${ref.kind.toLowerCase()}/${ref.name} in ${ref.namespace}`;
}

/** `deployment/app-1 in a, statefulset/db in b (+3 more)`, or `none`. */
export function inFlightText(inFlight: readonly WorkloadRef[]): string {
  if (inFlight.length === 0) return 'none';
  const shown = inFlight.slice(0, SHOWN_IN_FLIGHT).map(workloadText).join(', ');
  return inFlight.length > SHOWN_IN_FLIGHT ? `${shown} (+${inFlight.length - SHOWN_IN_FLIGHT} more)` : shown;
}

function counter(p: AppRestartProgress): string {
  const width = String(p.total).length;
  return `[${String(p.done).padStart(width)}/${p.total}]`;
}

export function createProgressDisplay(io: Io, interactive: boolean): ProgressDisplay {
  return interactive ? liveDisplay(io) : lineDisplay(io);
}

function lineDisplay(io: Io): ProgressDisplay {
  return {
    update(p) {
      if (p.last.state === 'started') return;
      const tail = `failures: ${p.failed}; restarting: ${inFlightText(p.inFlight)}`;
      if (p.last.state === 'failed') {
        printStatus(io, 'failure', `${counter(p)} ${workloadText(p.last.ref)} failed: ${p.last.message ?? 'unknown error'} (${tail})`);
      } else {
        printStatus(io, 'success', `${counter(p)} ${workloadText(p.last.ref)} restarted (${tail})`);
      }
    },
    finish() {},
  };
}

function liveDisplay(io: Io): ProgressDisplay {
  // Not 0: performance.now() counts from process start, so within a process's first 100 ms the
  // first update would have waited for the timer (seen once in a test under load).
  let lastDraw = Number.NEGATIVE_INFINITY;
  let pending: AppRestartProgress | undefined;
  let timer: NodeJS.Timeout | undefined;
  let drawn = false;
  const draw = (p: AppRestartProgress): void => {
    lastDraw = performance.now();
    pending = undefined;
    const failures = p.failed > 0 ? `, ${p.failed} failed` : '';
    io.stdout(`${CLEAR_LINE}${STATUS_PREFIX.pending}Restarting Dapr apps ${p.done}/${p.total}${failures}; now: ${inFlightText(p.inFlight)}`);
    drawn = true;
  };
  return {
    update(p) {
      if (p.last.state === 'failed') {
        io.stdout(CLEAR_LINE);
        printStatus(io, 'failure', `${workloadText(p.last.ref)} failed: ${p.last.message ?? 'unknown error'}`);
        draw(p);
        return;
      }
      if (performance.now() - lastDraw >= REDRAW_MS) return draw(p);
      pending = p;
      timer ??= setTimeout(() => {
        timer = undefined;
        if (pending) draw(pending);
      }, REDRAW_MS);
    },
    finish() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (drawn) io.stdout(CLEAR_LINE);
    },
  };
}
