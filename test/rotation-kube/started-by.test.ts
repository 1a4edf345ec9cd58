/**
 * Who started an unfinished rotation (issue 10): `rotate -k` records the person (`user@host`) in
 * the journal's settings, and `rotate -k --status` and `doctor -k` name them; a journal written
 * before these keys existed reads as before and names nobody. (The sentry's own rotations are
 * named with its replica identity: test/sentry-kube/auto-renew-trust-gate.test.ts.)
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, test } from 'node:test';
import { captureIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { describeStarter } from '../../src/core/rotation-phases/started-by.js';
import { cluster, journalOf, type Cluster } from './support.js';

async function warden(c: Cluster, sub: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo({ env: { HOME: '/nonexistent', ...env } });
  const code = await main(['mtls', sub, '-k', '--kubeconfig', c.server.kubeconfigPath, ...args], io);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

describe('who started an unfinished rotation', () => {
  test('rotate -k records user@host; --status (text and JSON) and doctor -k name them', async (t) => {
    const c = await cluster(t);
    const r = await warden(c, 'rotate', ['--until', 'add-anchor', '--propagation-delay', '0s', '--timeout', '120s'], { USER: 'ana' });
    assert.equal(r.code, 0, r.stderr);
    const record = journalOf(c)!;
    assert.equal(record.settings.startedBy, 'warden-mtls-rotate');
    assert.equal(record.settings.startedByIdentity, `ana@${hostname()}`);
    const status = await warden(c, 'rotate', ['--status']);
    assert.match(status.stdout, new RegExp(`Started by ana@${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(warden mtls rotate\\)`));
    assert.equal(JSON.parse((await warden(c, 'rotate', ['--status', '-o', 'json'])).stdout).startedBy, `ana@${hostname()} (warden mtls rotate)`);
    const doctor = await warden(c, 'doctor', []);
    assert.match(doctor.stdout, /Rotation \S+ \(started by ana@\S+ \(warden mtls rotate\)\) stopped after add-anchor/);
  });

  test('a journal without the keys (written before them) names nobody', () => {
    assert.equal(describeStarter({ propagationDelayMs: 0, timeoutMs: 1, force: false }), undefined);
    assert.equal(describeStarter({ propagationDelayMs: 0, timeoutMs: 1, force: false, startedBy: 'warden-sentry' }), "the sentry's --auto-renew");
    assert.equal(describeStarter({ propagationDelayMs: 0, timeoutMs: 1, force: false, startedBy: 'warden-sentry', startedByIdentity: 'h_1' }), "the sentry's --auto-renew (replica h_1)");
    assert.equal(describeStarter({ propagationDelayMs: 0, timeoutMs: 1, force: false, startedBy: 'warden-mtls-rotate' }), 'a person (warden mtls rotate)');
  });
});
