/** The progress display of app restarts: line mode for logs, a redrawn line on a terminal. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { captureIo } from '../../src/cli/io.js';
import { createProgressDisplay, inFlightText } from '../../src/cli/progress.js';
import type { AppRestartProgress, WorkloadRef } from '../../src/kube/restarts.js';
import { until } from '../support/wait.js';

const ref = (name: string, namespace = 'ns'): WorkloadRef => ({ kind: 'Deployment', namespace, name });

function progress(done: number, failed: number, inFlight: WorkloadRef[], last: AppRestartProgress['last']): AppRestartProgress {
  return { total: 12, done, failed, inFlight, last };
}

describe('progress display', () => {
  it('names what is in flight, at most three then a count', () => {
    assert.equal(inFlightText([]), 'none');
    assert.equal(inFlightText([ref('a'), ref('b', 'x')]), 'deployment/a in ns, deployment/b in x');
    assert.equal(inFlightText([ref('a'), ref('b'), ref('c'), ref('d'), ref('e')]), 'deployment/a in ns, deployment/b in ns, deployment/c in ns (+2 more)');
  });

  it('line mode: one line per finished app with done/total, failures and what is restarting; failures on stderr', () => {
    const io = captureIo();
    const d = createProgressDisplay(io, false);
    d.update(progress(0, 0, [ref('a')], { ref: ref('a'), state: 'started' }));
    d.update(progress(1, 0, [ref('b')], { ref: ref('a'), state: 'restarted', message: 'ok' }));
    d.update(progress(2, 1, [], { ref: ref('b'), state: 'failed', message: 'timed out' }));
    d.finish();
    assert.equal(io.stdoutText(), '✅  [ 1/12] deployment/a in ns restarted (failures: 0; restarting: deployment/b in ns)\n');
    assert.equal(io.stderrText(), '❌  [ 2/12] deployment/b in ns failed: timed out (failures: 1; restarting: none)\n');
  });

  it('live mode: one line redrawn in place (throttled), failures kept above it, cleared at the end', async () => {
    const io = captureIo();
    const d = createProgressDisplay(io, true);
    d.update(progress(0, 0, [ref('a'), ref('b')], { ref: ref('b'), state: 'started' }));
    for (let i = 1; i <= 5; i++) d.update(progress(i, 0, [ref('z')], { ref: ref('a'), state: 'restarted' }));
    assert.equal(io.out.length, 1, 'updates within 100 ms are coalesced');
    assert.equal(io.out[0], '\r\u001b[K⌛  Restarting Dapr apps 0/12; now: deployment/a in ns, deployment/b in ns');
    // The pause ends on the display's own timer: wait for its redraw, not a fixed time.
    const latest = '\r\u001b[K⌛  Restarting Dapr apps 5/12; now: deployment/z in ns';
    await until(() => io.out.at(-1) === latest, 'the latest state drawn after the pause');
    assert.equal(io.out.length, 2, 'one redraw for the five coalesced updates');
    d.update(progress(6, 1, [], { ref: ref('q'), state: 'failed', message: 'boom' }));
    // The live line is cleared, the failure printed (stderr) as a line of its own, the live line redrawn.
    assert.deepEqual(io.out.slice(-2), ['\r\u001b[K', '\r\u001b[K⌛  Restarting Dapr apps 6/12, 1 failed; now: none']);
    assert.equal(io.stderrText(), '❌  deployment/q in ns failed: boom\n');
    d.finish();
    assert.equal(io.out.at(-1), '\r\u001b[K');
  });
});
