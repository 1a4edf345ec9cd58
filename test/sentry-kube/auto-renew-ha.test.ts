/**
 * `warden sentry --mode kubernetes --auto-renew` with three replicas (real processes) against the
 * Kubernetes API test server: one replica holds the `warden-sentry-auto-renew` Lease and rotates
 * the due CA with the engine; it is killed (SIGKILL) in the middle of a phase; another replica
 * takes the Lease once it expires and continues the journal where the dead one stopped. The
 * rotation completes once: one rotation started, the trust-bundle Secret written once per phase,
 * no phase done twice, and Events on the Secret for each phase.
 * Real time with short settings (workload TTL 4 s, skew 1 s, Lease 3 s, propagation 1 s); every
 * wait is bounded and polls the API server's state, never a fixed sleep.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { generateTrustBundle } from '../../src/core/bundle.js';
import { DAY_MS } from '../../src/core/thresholds.js';
import type { RotationRecord } from '../../src/core/rotation-phases/record.js';
import { seedDaprApps, seedDaprControlPlane, startKubeApiServer, type KubeApiServer } from '../support/kube-api/index.js';

const REPO = join(import.meta.dirname, '../..');
const MAIN = pathToFileURL(join(REPO, 'src/cli/main.ts')).href;
const NS = 'dapr-system';
const TD = 'cluster.local';

async function until<T>(what: string, probe: () => T | undefined | false, limitMs = 120_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function journal(server: KubeApiServer): RotationRecord | undefined {
  const s = server.api.find('secrets', NS, 'dapr-trust-bundle-rotation');
  if (!s) return undefined;
  return JSON.parse(Buffer.from(String((s.data as Record<string, string>)['journal.json']), 'base64').toString('utf8')) as RotationRecord;
}

interface Replica {
  child: ChildProcess;
  output: () => string;
}

function startReplica(server: KubeApiServer, home: string): Replica {
  const env: Record<string, string | undefined> = { ...process.env, NAMESPACE: NS, HOME: home, WARDEN_LOG_LEVEL: 'info' };
  delete env['KUBECONFIG'];
  const child = spawn(process.execPath, [
    '--import', 'tsx', '--input-type=module', '-e',
    `const { main } = await import(${JSON.stringify(MAIN)}); process.exitCode = await main(process.argv.slice(1));`,
    'sentry', '--mode', 'kubernetes', '--kubeconfig', server.kubeconfigPath, '--trust-domain', TD,
    '--port', '0', '--listen-address', '127.0.0.1', '--healthz-port', '0', '--healthz-listen-address', '127.0.0.1', '--enable-metrics=false',
    // Sign on the main thread: fewer threads on a loaded machine (threads under `-e`: sign-threads-eval.test.ts).
    '--sign-threads', '0',
    '--auto-renew', '--auto-renew-lease-duration', '3s', '--renew-propagation-delay', '1s',
  ], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

/** Where the leader is killed: after a phase's write, before the phase completes; or in the wait before retire. */
const KILL_POINTS: { name: string; reached: (r: RotationRecord) => boolean }[] = [
  { name: 'add-anchor written', reached: (r) => r.phases['add-anchor'].writtenAt !== undefined },
  { name: 'switch-issuer written', reached: (r) => r.phases['switch-issuer'].writtenAt !== undefined },
  { name: 'waiting to retire the old root', reached: (r) => r.phases['switch-issuer'].completedAt !== undefined },
];

describe('sentry --auto-renew in Kubernetes: HA through a Lease', () => {
  for (const point of KILL_POINTS) {
  it(`three replicas; the leader is SIGKILLed at "${point.name}"; another takes the Lease and finishes the journal, once`, { timeout: 300_000 }, async (t) => {
    const server = await startKubeApiServer({ rolloutDelayMs: 30 });
    const home = mkdtempSync(join(tmpdir(), 'warden-autorenew-ha-'));
    t.after(async () => {
      await server.close();
      rmSync(home, { recursive: true, force: true });
    });
    // A 30-day CA born 21 days ago: past 2/3 of its life, so due now.
    const born = { now: () => new Date(Date.now() - 21 * DAY_MS) };
    const texts = generateTrustBundle({ clock: born, trustDomain: TD, namespace: NS, validityMs: 30 * DAY_MS, clockSkewMs: 60_000 }).bundle.toTexts();
    seedDaprControlPlane(server, { trustBundle: texts, trustDomain: TD, workloadCertTTL: '4s', allowedClockSkew: '1s' });
    seedDaprApps(server, { namespaces: ['apps'], count: 2 });

    const replicas = [startReplica(server, home), startReplica(server, home), startReplica(server, home)];
    t.after(() => { for (const r of replicas) if (r.child.exitCode === null) r.child.kill('SIGKILL'); });

    // The leader writes add-anchor; kill it before the phase completes.
    const leaderPid = await until(`the leader to reach "${point.name}"`, () => {
      const record = journal(server);
      if (record === undefined || record.status !== 'in-progress' || !point.reached(record)) return undefined;
      const lease = server.api.find('leases', NS, 'warden-sentry-auto-renew');
      return Number(String((lease?.spec as { holderIdentity?: string } | undefined)?.holderIdentity ?? '').split('_').at(-1));
    });
    const leader = replicas.find((r) => r.child.pid === leaderPid);
    assert.ok(leader, `the Lease holder (pid ${leaderPid}) is one of the replicas`);
    leader.child.kill('SIGKILL');
    const killedAt = journal(server);
    assert.equal(killedAt?.status, 'in-progress');

    const done = await until('another replica to finish the rotation', () => {
      const record = journal(server);
      return record?.status === 'done' ? record : undefined;
    }, 180_000).catch((err: Error) => {
      const relevant = (r: Replica): string => r.output().split('\n').filter((l) => /auto-renew|Auto-renew|Lease|rotation|error|warn/i.test(l)).slice(-40).join('\n');
      throw new Error(`${err.message}\n${replicas.map(relevant).join('\n----\n')}`);
    });
    assert.equal(done.id, killedAt?.id, 'the same rotation was finished, not a new one');
    const lease = server.api.get('leases', NS, 'warden-sentry-auto-renew').spec as { holderIdentity: string; leaseTransitions: number };
    assert.notEqual(lease.holderIdentity.split('_').at(-1), String(leaderPid));
    assert.ok(lease.leaseTransitions >= 1);

    // One set of writes: the trust-bundle Secret was replaced once per phase, never twice.
    const bundleWrites = server.requests.filter({ verb: ['update', 'patch'] }).filter((r) => r.status < 400 && r.resource === 'secrets' && r.name === 'dapr-trust-bundle');
    assert.equal(bundleWrites.length, 3, `three writes of the trust bundle (${bundleWrites.length})`);
    const outputs = replicas.map((r) => r.output()).join('\n');
    assert.equal((outputs.match(/Auto-renew: Rotation \S+ started/g) ?? []).length, 1, 'one rotation started');
    assert.match(outputs, /continuing rotation \S+ from the journal/);

    // Events on the Secret, one per phase and for the start and the end.
    const secretEvents = () => server.api.list('events', { namespace: NS }).items.filter((e) => (e.involvedObject as { name?: string }).name === 'dapr-trust-bundle');
    // The last Event is recorded just after the journal says done.
    const events = await until('the completion Event', () => (secretEvents().some((e) => e.reason === 'AutoRenewCompleted') ? secretEvents() : undefined), 30_000);
    const reasons = events.map((e) => String(e.reason));
    for (const reason of ['AutoRenewStarted', 'RotationPhase', 'RotationPhaseConverged', 'AutoRenewCompleted']) assert.ok(reasons.includes(reason), `${reason} in ${reasons.join(', ')}`);
    for (const phase of ['add-anchor', 'switch-issuer', 'retire-old-root']) {
      assert.ok(events.some((e) => String(e.reason) === 'RotationPhase' && String(e.message).includes(phase)), `an Event for ${phase}`);
    }
  });
}
});
