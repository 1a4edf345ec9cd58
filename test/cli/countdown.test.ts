/**
 * The countdown while rotate waits TTL + skew (issue 13, rough edge 12), driven by the injected
 * clock: piped, a line at the start and every 10 minutes; on a terminal, one line redrawn.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { rotateCommand } from '../../src/cli/commands/rotate.js';
import { countdownSleeper } from '../../src/cli/countdown.js';
import { captureIo } from '../../src/cli/io.js';
import { DEFAULT_FILE_NAMES } from '../../src/cli/options.js';
import { ClockSleeper, FixedClock, HOUR, makeBundle, T0, tempDir } from '../rotation/helpers.js';
import { writeBundle } from './helpers.js';

const MIN = 60_000;

describe('rotate countdown', () => {
  it('piped: a line at the start and every 10 minutes with the time left, on the injected clock', async () => {
    const clock = new FixedClock(T0);
    const inner = new ClockSleeper(clock);
    const io = captureIo({ clock });
    await countdownSleeper(inner, io, { clock, interactive: false, label: '[retire-old-root]' }).sleep(25 * MIN);
    const lines = io.stdoutText().split('\n').filter(Boolean);
    assert.deepEqual(lines.map((l) => /left/.test(l) ? l.split(' left')[0] : l), [
      '⌛  [retire-old-root] 25m0s', '⌛  [retire-old-root] 15m0s', '⌛  [retire-old-root] 5m0s',
    ]);
    assert.ok(lines.every((l) => l.endsWith(`(until ${new Date(T0.getTime() + 25 * MIN).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' +0000 UTC')})`)), lines.join('\n'));
    assert.equal(clock.now().getTime(), T0.getTime() + 25 * MIN, 'slept exactly the wait');
    assert.deepEqual(inner.calls, [10 * MIN, 10 * MIN, 5 * MIN]);
  });

  it('terminal: one line redrawn every second, cleared at the end; an abort ends the wait at once', async () => {
    const clock = new FixedClock(T0);
    const io = captureIo({ clock });
    await countdownSleeper(new ClockSleeper(clock), io, { clock, interactive: true, label: '[retire-old-root]' }).sleep(3000);
    assert.equal(io.stdoutText().split('\r\u001b[K').filter(Boolean).map((l) => l.split(' left')[0]).join('|'),
      '⌛  [retire-old-root] 3s|⌛  [retire-old-root] 2s|⌛  [retire-old-root] 1s');
    assert.ok(io.stdoutText().endsWith('\r\u001b[K'));
    assert.ok(!io.stdoutText().includes('\n'));

    const aborted = new AbortController();
    const inner = new ClockSleeper(clock, () => aborted.abort());
    await countdownSleeper(inner, captureIo({ clock }), { clock, interactive: false, label: 'x' }).sleep(HOUR, aborted.signal);
    assert.equal(inner.calls.length, 1, 'no further steps after Ctrl-C');
  });

  it('warden mtls rotate prints the countdown while it waits workload TTL + skew', async (t) => {
    const home = await tempDir(t, 'warden-countdown-');
    const certs = join(home, 'certs');
    const clock = new FixedClock(T0);
    await writeBundle(certs, makeBundle(clock).toTexts());
    clock.advance(HOUR);
    const io = captureIo({ clock, env: { HOME: home }, cwd: home });
    const code = await rotateCommand({ ...DEFAULT_FILE_NAMES, issuerCredentials: certs, propagationDelay: 0 }, io, undefined, { sleeper: new ClockSleeper(clock) });
    assert.equal(code, 0, io.stderrText());
    const countdown = io.stdoutText().split('\n').filter((l) => l.startsWith('⌛  [retire-old-root] ') && l.includes(' left (until '));
    // 24h15m in 10-minute steps: a line at each step's start.
    assert.equal(countdown.length, 146);
    assert.match(countdown[0] ?? '', /^⌛  \[retire-old-root\] 24h15m0s left/);
    assert.match(countdown.at(-1) ?? '', /^⌛  \[retire-old-root\] 5m0s left/);
  });
});
