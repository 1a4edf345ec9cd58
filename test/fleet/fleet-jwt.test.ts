/**
 * The JWT key row: a target whose bundle has a JWT signing key (self-hosted `jwt.key`/`jwks.json`,
 * the Secret's keys of the same names) gets a `jwt-key` certificate due when the issuer is
 * (core/jwt-rotation.ts jwtKeyDueAt, as `mtls expiry` says), in the JSON, the table and the metrics.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { formatFleetTable } from '../../src/cli/fleet-table.js';
import { FixedClock } from '../../src/core/clock.js';
import { parseCertificatesPem } from '../../src/core/certificate.js';
import { jwtMaterialToTexts, materialForKey } from '../../src/core/jwt-key.js';
import { DirectoryTargetReader } from '../../src/fleet/dir-target.js';
import { KubeTargetReader } from '../../src/fleet/kube-target.js';
import { readFleet } from '../../src/fleet/read-fleet.js';
import { FleetMetrics } from '../../src/monitor/metrics.js';
import { buildBundle, withExpiredIssuer, withExpiresIn } from '../support/bundles.js';
import { writeBundle } from '../cli/helpers.js';
import { DAY, startCluster, stopClusters, writeFleetKubeconfig, type Cluster } from './support.js';

const jwtTexts = () => jwtMaterialToTexts(materialForKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'ES256', []));

describe('the JWT key row', () => {
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  let dir: string;
  let clusters: Cluster[];
  const issuerNotAfter: Record<string, string> = {};
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'warden-fleet-jwt-'));
    for (const [name, mods] of [['ok', []], ['soon', [withExpiresIn(5 * DAY, 'issuer')]], ['dead', [withExpiredIssuer()]], ['plain', []]] as const) {
      const { texts } = await buildBundle({ now }, ...mods);
      await writeBundle(join(dir, name), texts);
      issuerNotAfter[name] = parseCertificatesPem(texts.issuerCert)[0]!.notAfter.toISOString();
      if (name === 'plain') continue;
      const jwt = jwtTexts();
      await writeFile(join(dir, name, 'jwt.key'), jwt.jwtKey, { mode: 0o600 });
      await writeFile(join(dir, name, 'jwks.json'), jwt.jwks);
    }
    clusters = [await startCluster('expiring', now, 'kube-jwt')];
    const jwt = jwtTexts();
    clusters[0]!.server!.api.mutate('secrets', 'dapr-system', 'dapr-trust-bundle', (secret) => {
      secret.data = { ...(secret.data as Record<string, string>), 'jwt.key': Buffer.from(jwt.jwtKey).toString('base64'), 'jwks.json': Buffer.from(jwt.jwks).toString('base64') };
    });
    issuerNotAfter['kube-jwt'] = parseCertificatesPem(clusters[0]!.texts!.issuerCert)[0]!.notAfter.toISOString();
  });
  after(async () => {
    await stopClusters(clusters);
    await rm(dir, { recursive: true, force: true });
  });

  const read = async () => {
    const kubeconfig = await writeFleetKubeconfig(dir, clusters);
    const readers = [...['ok', 'soon', 'dead', 'plain'].map((n) => new DirectoryTargetReader(n, dir)), new KubeTargetReader({ context: 'kube-jwt', kubeconfigs: [kubeconfig] })];
    return readFleet(readers, { timeoutMs: 60_000, clock: new FixedClock(now) });
  };

  test('self-hosted and Kubernetes: role jwt-key, due with the issuer, its status by that date; none without jwt.key', async () => {
    const report = await read();
    const jwtOf = (name: string) => report.targets.find((t) => t.name === name)!.certificates.find((c) => c.role === 'jwt-key');
    for (const [name, status] of [['ok', 'healthy'], ['soon', 'warning'], ['dead', 'expired'], ['kube-jwt', 'warning']] as const) {
      const row = jwtOf(name);
      assert.ok(row, `${name} has a jwt-key row`);
      assert.equal(row.notAfter, issuerNotAfter[name], name);
      assert.equal(row.status, status, name);
      assert.equal(row.secondsLeft, Math.trunc((Date.parse(issuerNotAfter[name]!) - now.getTime()) / 1000));
      assert.match(row.subject, /^\S+ \(ES256\)$/);
    }
    assert.equal(jwtOf('plain'), undefined);
    assert.deepEqual(report.targets.find((t) => t.name === 'ok')!.certificates.map((c) => c.role), ['root', 'issuer', 'jwt-key']);
    // The issuer's finding covers the key (renewing the issuer renews it): no second finding, same fix.
    const dead = report.targets.find((t) => t.name === 'dead')!;
    assert.equal(dead.finding?.code, 'ERR_ISSUER_EXPIRED');
    assert.match(dead.finding!.message, /^The issuer certificate/);
  });

  test('the table has a JWT KEY column (- without a key), -o wide its due date; the metrics a role="jwt-key" series', async () => {
    const report = await read();
    const table = formatFleetTable(report, { color: false, wide: false });
    assert.match(table, /^STATUS +TARGET +NAMESPACE +DAPR +ROOT +ISSUER +JWT KEY +ROTATION /);
    assert.match(table, /\nhealthy +ok +- +- +\d+d +(36[45]d) +\1 +- /);
    assert.match(table, /\nhealthy +plain +- +- +\d+d +36[45]d +- +- /);
    assert.match(table, /\ncritical +dead +- +- +\d+d +expired 1d 0h ago +expired 1d 0h ago /);
    const wide = formatFleetTable(report, { color: false, wide: true });
    assert.match(wide, /ISSUER EXPIRES +JWT KEY DUE +KIND/);
    assert.ok(wide.split('\n').some((l) => l.startsWith('warning') && l.includes(' soon ') && l.split(issuerNotAfter.soon!).length === 3), 'issuer and JWT key dates');

    const metrics = new FleetMetrics({ processMetrics: false });
    metrics.update(report.targets, new Map());
    const body = (await metrics.render()).body;
    assert.match(body, new RegExp(`warden_fleet_certificate_expiry_timestamp_seconds\\{target="kube-jwt",role="jwt-key"\\} ${Date.parse(issuerNotAfter['kube-jwt']!) / 1000}\\n`));
    assert.match(body, /warden_fleet_certificate_seconds_left\{target="ok",role="jwt-key"\} \d+\n/);
    assert.doesNotMatch(body, /target="plain",role="jwt-key"/);
    // Each target's kind, for the alert rules' fix lines (a relative directory is self-hosted too).
    assert.match(body, /warden_fleet_target_info\{target="ok",kind="self-hosted"\} 1\n/);
    assert.match(body, /warden_fleet_target_info\{target="kube-jwt",kind="kubernetes"\} 1\n/);
  });
});
