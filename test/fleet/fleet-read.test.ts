/**
 * The fleet's reading side in-process: per-target deadlines (a hanging API server costs its
 * timeout, aborts its requests and holds nobody up), colours only on a terminal, the read-only
 * request set a monitor's Role must allow, the rotation timeline and the urgency of expiry findings.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fleetCommand } from '../../src/cli/commands/fleet.js';
import { captureIo } from '../../src/cli/io.js';
import { FixedClock } from '../../src/core/clock.js';
import { createRotationRecord, type RotationRecord } from '../../src/core/rotation-phases/record.js';
import { DirectoryTargetReader } from '../../src/fleet/dir-target.js';
import { KubeTargetReader, kubeContexts } from '../../src/fleet/kube-target.js';
import type { FleetTarget } from '../../src/fleet/model.js';
import { readFleet, readTarget } from '../../src/fleet/read-fleet.js';
import { rotationView } from '../../src/fleet/rotation.js';
import { fixCommandWith, targetRow, type TargetReader } from '../../src/fleet/target-reader.js';
import { buildBundle, withExpiredIssuer, withExpiresIn } from '../support/bundles.js';
import { writeBundle } from '../cli/helpers.js';
import { DAY, startCluster, stopClusters, writeFleetKubeconfig, type Cluster } from './support.js';

describe('per-target deadline', () => {
  test('a reader that never answers becomes ERR_FLEET_TIMEOUT with its signal aborted; the others\' rows are theirs', async () => {
    let aborted: unknown;
    const hanging: TargetReader = {
      name: 'stuck', kind: 'kubernetes', fallbackErrorCode: 'ERR_KUBE_API',
      read: (signal) => new Promise<FleetTarget>(() => signal.addEventListener('abort', () => (aborted = signal.reason))),
    };
    const failing: TargetReader = { name: 'broken', kind: 'self-hosted', fallbackErrorCode: 'ERR_STORE_IO', read: () => Promise.reject(new Error('disk on fire')) };
    const clock = new FixedClock(new Date('2026-12-04T12:00:00Z'));
    const report = await readFleet([hanging, failing], { timeoutMs: 50, clock });
    assert.deepEqual(report.targets.map((t) => [t.name, t.status, t.error?.code]), [['stuck', 'unreachable', 'ERR_FLEET_TIMEOUT'], ['broken', 'unreachable', 'ERR_STORE_IO']]);
    assert.match(report.targets[0]!.error!.message, /stuck did not answer within 50ms; its requests were aborted/);
    assert.equal((aborted as { code?: string }).code, 'ERR_FLEET_TIMEOUT');
    assert.equal(report.worst, 'unreachable');
    assert.equal(report.generatedAt, '2026-12-04T12:00:00.000Z');
  });

  describe('against a hanging API server', () => {
    const now = new Date();
    let clusters: Cluster[];
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'warden-fleet-hang-'));
      clusters = [await startCluster('hanging', now)];
      await writeBundle(join(dir, 'certs'), (await buildBundle({ now })).texts);
    });
    after(async () => {
      await stopClusters(clusters);
      await rm(dir, { recursive: true, force: true });
    });

    test('its row says ERR_FLEET_TIMEOUT (its request reached the server and was never answered), and the directory target is read', async () => {
      const kubeconfig = await writeFleetKubeconfig(dir, clusters);
      await kubeContexts([kubeconfig]); // loads the client module outside the deadline, as resolveTargets does
      const server = clusters[0]!.server!;
      const kube = new KubeTargetReader({ context: 'hanging', kubeconfigs: [kubeconfig] });
      const dirReader = new DirectoryTargetReader(join(dir, 'certs'));
      const report = await readFleet([kube, dirReader], { timeoutMs: 8000, clock: { now: () => new Date() } });
      assert.deepEqual(report.targets.map((t) => [t.name, t.status, t.error?.code ?? null]), [
        ['hanging', 'unreachable', 'ERR_FLEET_TIMEOUT'], [join(dir, 'certs'), 'healthy', null],
      ]);
      // The request did reach the server (and was held there), and nothing answered it.
      assert.ok(server.requests.entries.length >= 1);
      assert.ok(server.requests.entries.every((e) => e.status === 0), 'no request was answered');
    });
  });
});

describe('colours and symbols only on a terminal', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'warden-fleet-tty-'));
    const now = new Date();
    await writeBundle(join(dir, 'ok'), (await buildBundle({ now })).texts);
    await writeBundle(join(dir, 'dead'), (await buildBundle({ now }, withExpiredIssuer())).texts);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const runFleet = async (isTTY: boolean, env: Record<string, string> = {}) => {
    const io = captureIo({ env, cwd: dir });
    const code = await fleetCommand({ issuerCredentials: ['ok', 'dead'], timeout: 30_000, output: 'text' }, io, { isTTY });
    return { code, out: io.stdoutText() };
  };

  test('a TTY gets coloured statuses with symbols; piped, NO_COLOR, CI and TERM=dumb get plain words', async () => {
    const tty = await runFleet(true);
    assert.equal(tty.code, 3);
    assert.match(tty.out, /\u001b\[32m✔ healthy\u001b\[0m +ok /);
    assert.match(tty.out, /\u001b\[31m✖ critical\u001b\[0m +dead /);
    assert.match(tty.out, /\u001b\[31m[^\n]*expired 1d 0h ago\u001b\[0m/);
    assert.match(tty.out, /\u001b\[31m✖ dead\u001b\[0m: The issuer certificate .* expired .*\(ERR_ISSUER_EXPIRED\)\n {4}fix: warden mtls renew-certificate --issuer-credentials \S+dead\n/);
    for (const [isTTY, env] of [[false, {}], [true, { NO_COLOR: '1' }], [true, { CI: 'true' }], [true, { TERM: 'dumb' }]] as const) {
      const plain = await runFleet(isTTY, env);
      assert.equal(plain.code, 3);
      assert.doesNotMatch(plain.out, /\u001b\[|✔|✖/, JSON.stringify(env));
      assert.match(plain.out, /\nhealthy +ok +- +- +364d +364d /);
      assert.match(plain.out, /\ncritical +dead +- +- +364d +expired 1d 0h ago /);
    }
  });
});

describe('the requests a read makes: what the read-only Role must allow, and nothing else', () => {
  // The Kubernetes API test server has no RBAC here, so the request set itself is asserted
  // (docs/metrics.md documents the Role built from it).
  const now = new Date();
  let clusters: Cluster[];
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'warden-fleet-rbac-'));
    clusters = [await startCluster('rotating', now)];
  });
  after(async () => {
    await stopClusters(clusters);
    await rm(dir, { recursive: true, force: true });
  });

  test('get on two Secrets, one ConfigMap and one Deployment by name; list Configurations only without --namespace', async () => {
    const server = clusters[0]!.server!;
    const kubeconfig = await writeFleetKubeconfig(dir, clusters);
    const seen = async (namespace?: string) => {
      server.requests.clear();
      const reader = new KubeTargetReader({ context: 'rotating', kubeconfigs: [kubeconfig], ...(namespace ? { namespace } : {}) });
      const report = await readFleet([reader], { timeoutMs: 60_000, clock: { now: () => new Date() } });
      assert.equal(report.targets[0]?.error, null);
      return [...new Set(server.requests.entries.map((e) => `${e.verb} ${e.resource}${e.name ? `/${e.name}` : ''}${e.namespace ? ` in ${e.namespace}` : ''}`))].sort();
    };
    const named = [
      'get configmaps/dapr-trust-bundle in dapr-system',
      'get deployments/dapr-sentry in dapr-system',
      'get secrets/dapr-trust-bundle in dapr-system',
      'get secrets/dapr-trust-bundle-rotation in dapr-system',
    ];
    // Pods are listed across namespaces for appsNotConverged (trust-convergence.ts).
    assert.deepEqual(await seen('dapr-system'), [...named, 'list pods'].sort());
    assert.deepEqual(await seen(), ['list configurations', 'list pods', ...named].sort());
  });

  test('without the right to list pods, appsNotConverged is null and the row is still read', async () => {
    const server = clusters[0]!.server!;
    const kubeconfig = await writeFleetKubeconfig(dir, clusters);
    server.faults.failNext(1, { status: 403, message: 'pods is forbidden', match: { verb: 'list', resource: 'pods' } });
    const reader = new KubeTargetReader({ context: 'rotating', kubeconfigs: [kubeconfig], namespace: 'dapr-system' });
    const [row] = (await readFleet([reader], { timeoutMs: 60_000, clock: { now: () => new Date() } })).targets;
    assert.deepEqual([row?.error, row?.status, row?.appsNotConverged, row?.rotation?.phase], [null, 'healthy', null, 'propagation']);
  });
});

describe('the rotation timeline', () => {
  const base = (): RotationRecord => {
    const texts = { ca: 'x', issuerCert: 'y', issuerKey: 'z' };
    return createRotationRecord({
      id: 'r', now: new Date('2026-12-01T00:00:00Z'), store: 's', policy: { workloadTtlMs: DAY, clockSkewMs: 0 },
      settings: { propagationDelayMs: 0, timeoutMs: 1, force: false }, original: { texts, version: '1' },
      material: { source: 'fresh', anchorsPem: 'x', issuerCertPem: 'y', issuerKeyPem: 'z' },
    });
  };
  const at = (h: number) => new Date(Date.UTC(2026, 11, 1, h)).toISOString();

  test('plan, propagation, switch-issuer, wait, retire-old-root; none once done or rolled back', () => {
    const r = base();
    assert.deepEqual(rotationView(r), { phase: 'plan', since: r.createdAt, phases: [] });
    r.phases['add-anchor'] = { startedAt: at(1), writtenAt: at(2) };
    assert.equal(rotationView(r)?.phase, 'propagation');
    r.phases['add-anchor'].completedAt = at(3);
    assert.deepEqual(rotationView(r), { phase: 'switch-issuer', since: at(3), phases: [
      { name: 'add-anchor', startedAt: at(1), endedAt: at(2) }, { name: 'propagation', startedAt: at(2), endedAt: at(3) },
    ] });
    r.phases['switch-issuer'] = { startedAt: at(4) };
    assert.deepEqual([rotationView(r)?.phase, rotationView(r)?.since], ['switch-issuer', at(4)]);
    r.phases['switch-issuer'].completedAt = at(5);
    assert.deepEqual([rotationView(r)?.phase, rotationView(r)?.since], ['wait', at(5)]);
    r.phases['retire-old-root'] = { startedAt: at(30) };
    assert.deepEqual(rotationView(r)?.phases.map((p) => [p.name, p.endedAt]), [
      ['add-anchor', at(2)], ['propagation', at(3)], ['switch-issuer', at(5)], ['wait', at(30)], ['retire-old-root', null],
    ]);
    assert.equal(rotationView(r)?.phase, 'retire-old-root');
    assert.equal(rotationView({ ...r, status: 'done' }), null);
    assert.equal(rotationView({ ...r, status: 'rolled-back' }), null);
    assert.equal(rotationView(undefined), null);
  });
});

describe('expiry findings grow more urgent at 7 days and 1 day', () => {
  const now = new Date('2026-12-04T12:00:00Z');
  const rowFor = async (leftMs: number) => {
    const { texts } = await buildBundle({ now }, withExpiresIn(leftMs, 'issuer'));
    return targetRow({ name: 'd', kind: 'self-hosted' }, {
      read: { state: 'complete', texts, version: '1' }, record: undefined, daprNamespace: null, daprVersion: null,
      configMapInSync: null, sentry: null, appsNotConverged: null,
    }, fixCommandWith(['--issuer-credentials', '/my dir']), now);
  };

  test('29 days: rotate before then; 6 days: this week; 10 hours: now; 30 days and more: healthy', async () => {
    const rows = await Promise.all([29 * DAY, 6 * DAY, 10 * 3600_000, 30 * DAY + 60_000].map(rowFor));
    assert.deepEqual(rows.map((r) => r.status), ['warning', 'warning', 'warning', 'healthy']);
    assert.match(rows[0]!.finding!.message, /expires in 29 days and 0 hours \(2027-01-02 12:00:00 \+0000 UTC\): rotate before then\.$/);
    assert.match(rows[1]!.finding!.message, /expires in 6 days and 0 hours .*: rotate this week, while it can still be done without downtime\.$/);
    assert.match(rows[2]!.finding!.message, /expires in 10h0m0s .*: rotate now: once it expires, mTLS between Dapr services fails\.$/);
    assert.equal(rows[0]!.finding!.fix, "warden mtls rotate --issuer-credentials '/my dir'");
    assert.equal(rows[3]!.finding, null);
  });

  test('absent and partial bundles are critical, with the command that starts over', async () => {
    const fix = fixCommandWith(['-k', '--context', 'c']);
    const facts = { record: undefined, daprNamespace: 'ns', daprVersion: null, configMapInSync: null, sentry: { ready: true } as const, appsNotConverged: 0 };
    const absent = targetRow({ name: 'c', kind: 'kubernetes' }, { ...facts, read: { state: 'absent' } }, fix, now);
    assert.deepEqual([absent.status, absent.finding?.code, absent.finding?.fix], ['critical', 'ERR_BUNDLE_NOT_FOUND', 'warden mtls renew-certificate -k --context c']);
    const partial = targetRow({ name: 'c', kind: 'kubernetes' }, { ...facts, read: { state: 'partial', present: ['a'], missing: ['issuer.key'] } }, fix, now);
    assert.deepEqual([partial.status, partial.finding?.code, partial.finding?.fix], ['critical', 'ERR_BUNDLE_PARTIAL', 'warden mtls doctor -k --context c']);
    const sentryDown = targetRow({ name: 'c', kind: 'kubernetes' }, { ...facts, sentry: { ready: false, message: 'not rolled out' }, read: { state: 'absent' } }, fix, now);
    assert.equal(sentryDown.sentryReady, false);
    assert.equal(sentryDown.finding?.code, 'ERR_BUNDLE_NOT_FOUND', 'the critical finding comes first');
  });

  test('readTarget never rejects: a reader that rejects, or throws before returning a promise, is a row with its error', async () => {
    const rejecting: TargetReader = { name: 'x', kind: 'kubernetes', fallbackErrorCode: 'ERR_KUBE_API', read: () => Promise.reject(new Error('weird')) };
    const throwing: TargetReader = {
      name: 'y', kind: 'self-hosted', fallbackErrorCode: 'ERR_STORE_IO',
      read: () => {
        throw new Error('thrown at once');
      },
    };
    const rows = await Promise.all([readTarget(rejecting, now, 1000), readTarget(throwing, now, 1000)]);
    assert.deepEqual(rows.map((r) => [r.status, r.error?.code]), [['unreachable', 'ERR_KUBE_API'], ['unreachable', 'ERR_STORE_IO']]);
    assert.equal(rows[1]?.error?.message, 'thrown at once');
  });
});

describe('a stalled rotation is a finding', () => {
  const start = new Date('2026-12-01T00:00:00Z');
  const HOUR = 3_600_000;
  const iso = (ms: number) => new Date(start.getTime() + ms).toISOString();
  const record = (settings: Partial<RotationRecord['settings']> = {}): RotationRecord => {
    const texts = { ca: 'x', issuerCert: 'y', issuerKey: 'z' };
    return createRotationRecord({
      id: 'r1', now: start, store: 's', policy: { workloadTtlMs: DAY, clockSkewMs: 0 },
      settings: { propagationDelayMs: 10 * 60_000, timeoutMs: 5 * 60_000, force: false, ...settings }, original: { texts, version: '1' },
      material: { source: 'fresh', anchorsPem: 'x', issuerCertPem: 'y', issuerKeyPem: 'z' },
    });
  };
  const rowAt = async (r: RotationRecord, now: Date) => {
    const { texts } = await buildBundle({ now: start });
    return targetRow({ name: 'd', kind: 'self-hosted' }, {
      read: { state: 'complete', texts, version: '1' }, record: r, daprNamespace: null, daprVersion: null,
      configMapInSync: null, sentry: null, appsNotConverged: null,
    }, fixCommandWith(['--issuer-credentials', '/certs']), now);
  };

  test('stopped after add-anchor (`--until add-anchor`): healthy while it may still move on, stalled an hour after its propagation delay and timeout', async () => {
    const r = record();
    r.phases['add-anchor'] = { startedAt: iso(0), writtenAt: iso(60_000), completedAt: iso(60_000) };
    // switch-issuer is next: due 15 min (delay + timeout) after add-anchor completed, plus the hour's grace.
    const due = 60_000 + 15 * 60_000;
    const fine = await rowAt(r, new Date(start.getTime() + due + HOUR));
    assert.deepEqual([fine.status, fine.finding, fine.rotation?.phase], ['healthy', null, 'switch-issuer']);
    const stalled = await rowAt(r, new Date(start.getTime() + due + HOUR + 60_000));
    assert.equal(stalled.status, 'warning');
    assert.equal(stalled.finding?.code, 'WARN_ROTATION_STALLED');
    assert.equal(stalled.finding?.fix, 'warden mtls rotate --issuer-credentials /certs --resume');
    assert.match(stalled.finding!.message, /^Rotation r1 has not moved on since 2026-12-01 00:01:00 \+0000 UTC \(phase switch-issuer, due to move on 1h1m0s ago\): both roots stay trusted, and no other rotation or renewal can start, until it is finished or rolled back\. Resume it \(or roll it back\)\.$/);
  });

  test('the wait phase is due at retireAfter, however long the workload TTL', async () => {
    const r = record();
    r.phases['add-anchor'] = { startedAt: iso(0), writtenAt: iso(0), completedAt: iso(0) };
    r.phases['switch-issuer'] = { startedAt: iso(HOUR), completedAt: iso(HOUR) };
    r.retireAfter = iso(HOUR + DAY);
    const waiting = await rowAt(r, new Date(start.getTime() + HOUR + DAY + HOUR));
    assert.deepEqual([waiting.rotation?.phase, waiting.finding], ['wait', null]);
    const stalled = await rowAt(r, new Date(start.getTime() + HOUR + DAY + HOUR + 1000));
    assert.equal(stalled.finding?.code, 'WARN_ROTATION_STALLED');
    assert.match(stalled.finding!.message, /phase wait/);
  });

  test('one the sentry\'s auto-renew started names it and points at doctor (the sentry resumes its own); a finished one is never stalled; an expiry finding comes first', async () => {
    const r = record({ startedBy: 'warden-sentry', startedByIdentity: 'sentry-0' });
    const late = new Date(start.getTime() + 10 * DAY);
    const row = await rowAt(r, late);
    assert.equal(row.finding?.code, 'WARN_ROTATION_STALLED');
    assert.match(row.finding!.message, /^Rotation r1, started by the sentry's --auto-renew \(replica sentry-0\), has not moved on since .* \(phase plan, due to move on 9 days and 23 hours ago\): nothing is written yet, the bundle keeps ageing, .*The sentry resumes its own rotations: check that it runs with --auto-renew and read its log\.$/);
    assert.equal(row.finding?.fix, 'warden mtls doctor --issuer-credentials /certs');
    const done = await rowAt({ ...r, status: 'done' }, late);
    assert.equal(done.finding, null);
    const { texts } = await buildBundle({ now: start }, withExpiresIn(5 * DAY, 'issuer'));
    const both = targetRow({ name: 'd', kind: 'self-hosted' }, {
      read: { state: 'complete', texts, version: '1' }, record: record(), daprNamespace: null, daprVersion: null,
      configMapInSync: null, sentry: null, appsNotConverged: null,
    }, fixCommandWith([]), new Date(start.getTime() + 2 * DAY));
    assert.equal(both.finding?.code, 'WARN_ISSUER_EXPIRING');
  });
});
