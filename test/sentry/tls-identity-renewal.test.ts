/**
 * Renewal timing of the sentry's serving certificate near the issuer's end (issue 13, rough
 * edge 3): the leaf is cut short at the issuer's NotAfter, so its 50% point is already past when
 * it is issued. It must not be re-issued every second; the issuer's coming expiry is logged once.
 * Timers are node:test's mock timers, moved in step with the injected clock.
 */
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { pino } from 'pino';
import { generateTrustBundle } from '../../src/core/bundle.js';
import { FixedClock } from '../../src/core/clock.js';
import { CaStateHolder, createCaState } from '../../src/sentry/ca-state.js';
import { SentryMetrics } from '../../src/sentry/metrics.js';
import { ServingIdentity } from '../../src/sentry/tls-identity.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

interface LogLine { level: number; msg: string }

/** Signing calls still running; `advance` waits for them, so a renewal a tick started has finished. */
const inflight = new Set<Promise<unknown>>();

async function flush(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
  while (inflight.size > 0) {
    await Promise.allSettled([...inflight]);
    for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
  }
}

/** A serving identity on a bundle whose issuer expires `issuerLeftMs` after the clock's start. */
function setUp(issuerLeftMs: number, config = { workloadCertTtlMs: DAY, allowedClockSkewMs: 15 * MINUTE }) {
  const start = Date.UTC(2027, 0, 1);
  const clock = new FixedClock(start);
  const { bundle } = generateTrustBundle({ clock, trustDomain: 'localhost', namespace: 'default', validityMs: 30 * DAY });
  clock.set(new Date(bundle.issuer.notAfter.getTime() - issuerLeftMs));
  const logs: LogLine[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void logs.push(JSON.parse(s) as LogLine) });
  const caState = new CaStateHolder(createCaState(bundle, 1, { clock, config }));
  const signer = caState.current.signer;
  const sign = signer.sign.bind(signer);
  signer.sign = (...args: Parameters<typeof sign>) => {
    const signing = sign(...args);
    inflight.add(signing);
    void signing.finally(() => inflight.delete(signing)).catch(() => undefined);
    return signing;
  };
  const identity = new ServingIdentity({ caState, clock, logger, metrics: new SentryMetrics(), trustDomain: 'localhost', namespace: 'default' });
  return { clock, logs, identity, issuerEnd: bundle.issuer.notAfter };
}

/** Moves the clock and the mock timers forward one second at a time. */
async function advance(clock: FixedClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 1000) {
    clock.advance(1000);
    mock.timers.tick(1000);
    await flush();
  }
}

describe('serving certificate renewal near the issuer expiry', () => {
  it('in the issuer\'s last 15 minutes, 3 minutes issue at most a few certificates and log at most a few lines', async (t) => {
    mock.timers.enable({ apis: ['setTimeout'] });
    t.after(() => mock.timers.reset());
    const { clock, logs, identity, issuerEnd } = setUp(14 * MINUTE);
    t.after(() => identity.stop());
    const first = await identity.renew();
    assert.equal(first.notAfter.getTime(), issuerEnd.getTime(), 'the leaf is cut short at the issuer\'s NotAfter');

    await advance(clock, 3 * MINUTE);

    const issued = logs.filter((l) => l.msg === 'Issued Sentry serving certificate');
    assert.ok(issued.length <= 2, `${issued.length} certificates issued in 3 minutes`);
    assert.ok(logs.length <= 4, `${logs.length} log lines in 3 minutes`);
    const warnings = logs.filter((l) => l.level === 40);
    assert.equal(warnings.length, 1, 'the issuer\'s coming expiry is warned about once');
    assert.match(warnings[0]?.msg ?? '', /issuer certificate expires soon.*renew-certificate/);
  });

  it('keeps Dapr\'s 50% point when there is time left, and renews a TTL shorter than the skew halfway through what is left', async (t) => {
    mock.timers.enable({ apis: ['setTimeout'] });
    t.after(() => mock.timers.reset());
    const normal = setUp(10 * DAY);
    t.after(() => normal.identity.stop());
    const cert = await normal.identity.renew();
    const halfway = (cert.notBefore.getTime() + cert.notAfter.getTime()) / 2;
    assert.equal(normal.logs[0]?.msg, 'Issued Sentry serving certificate');
    assert.equal((normal.logs[0] as unknown as { renewalAt: string }).renewalAt, new Date(halfway).toISOString());

    const short = setUp(10 * DAY, { workloadCertTtlMs: MINUTE, allowedClockSkewMs: 15 * MINUTE });
    t.after(() => short.identity.stop());
    await short.identity.renew();
    await advance(short.clock, 2 * MINUTE);
    const issued = short.logs.filter((l) => l.msg === 'Issued Sentry serving certificate').length;
    // Every ~30 s (half of the minute left), not every second.
    assert.ok(issued >= 3 && issued <= 6, `${issued} certificates in 2 minutes`);
    assert.equal(short.logs.filter((l) => l.level === 40).length, 0);
  });
});
