/**
 * What Dapr's Helm chart renders for Sentry in 1.16, 1.17 and 1.18 (charts/dapr/charts/dapr_sentry/
 * templates/dapr_sentry_deployment.yaml and charts/dapr/charts/dapr_rbac/templates/sentry.yaml at
 * v1.16.19, v1.17.13 and v1.18.3, written out by hand): command and args for default values,
 * `global.logAsJson`, `dapr_sentry.jwt.enabled` and `dapr_sentry.oidc.enabled`; the NAMESPACE env;
 * the `credentials` Secret volume at /var/run/secrets/dapr.io/credentials; the `dapr-sentry`
 * ServiceAccount with its Role and ClusterRole. The three versions render the same container for
 * Sentry (1.17 only templated the HA topology key, 1.18 added init/extra containers and changed the
 * probe timings), and the same RBAC: each is still written out on its own, so a chart change is one
 * edit here.
 *
 * Each fixture starts bin/sentry as the pod would run it: the chart's args (free ports and loopback
 * addresses added), NAMESPACE as the fieldRef gives it, the ServiceAccount's token as its only
 * credential (a kubeconfig with that token stands in for the in-cluster config) against the
 * Kubernetes API test server enforcing the chart's RBAC, the Secret as the chart creates it with
 * default values (no data) mirrored into a kubelet-style volume passed as --issuer-credentials
 * (the chart's mount path cannot be created here). Each must reach /healthz 200, generate and store
 * the CA with no Forbidden answer, and log no warning or error.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertBuilt } from '../cli/helpers.js';
import { buildBundle } from '../support/bundles.js';
import { retryOnPortTaken } from '../support/free-ports.js';
import { selfSignedTlsFiles } from '../support/jwt-tokens.js';
import {
  DAPR_CHART_VERSIONS, seedDaprControlPlane, seedDaprSentryRbac, sentryClusterRoleRules, sentryRoleRules, startKubeApiServer,
  type DaprChartVersion, type KubeApiServer,
} from '../support/kube-api/index.js';
import { mirrorSecretVolume } from '../support/kube-api/secret-volume.js';
import { startLoopbackDns, type LoopbackDns } from '../support/loopback-dns.js';
import { healthStatus, parseLogfmt, startSentryBin, stopAndExitCode, withTestPorts, type Run } from './chart-support.js';
import { configMapCa, NS, secretTexts, waitFor, writeBundleObjects } from './harness.js';

type Variant = 'default' | 'logAsJson' | 'jwt' | 'oidc' | 'oidcWithoutTls';

interface SentryPodRender {
  command: string[];
  args: Record<Variant, string[]>;
  env: unknown[];
  volumeMounts: unknown[];
  volumes: unknown[];
  /** The `oidc` variant's `global.extraVolumes.sentry` / `global.extraVolumeMounts.sentry`, rendered after the chart's own. */
  oidcTlsVolume: unknown;
  oidcTlsVolumeMount: unknown;
  serviceAccountName: string;
  containerPorts: Record<Variant, number[]>;
  probePath: string;
  probePort: number;
  securityContext: unknown;
}

// --- `helm template` output, by hand -------------------------------------------------------
// Values: mode kubernetes, logLevel info, global.prometheus {enabled: true, port: 9090},
// global.mtls.controlPlaneTrustDomain cluster.local, global.issuerFilenames {} (so no --issuer-*
// flags), jwt.* empty, oidc.tls.enabled true, debug.enabled false, global.daprControlPlaneOs linux.
const BASE = ['--mode', 'kubernetes', '--log-level', 'info'];
/** The operator's TLS Secret (type kubernetes.io/tls) for the OIDC server, and where the pod mounts it. */
const OIDC_TLS_SECRET = 'dapr-sentry-oidc-tls';
const OIDC_TLS_MOUNT = '/var/run/secrets/dapr.io/oidc-tls';
const METRICS_AND_TD = ['--enable-metrics', '--metrics-port', '9090', '--trust-domain', 'cluster.local'];

function render(): SentryPodRender {
  return {
    command: ['/sentry'],
    args: {
      default: [...BASE, ...METRICS_AND_TD],
      logAsJson: [...BASE, '--log-as-json', ...METRICS_AND_TD],
      jwt: [...BASE, ...METRICS_AND_TD, '--jwt-enabled=true'],
      // OIDC as an operator sets it up: jwt.enabled=true (Dapr serves OIDC only with JWTs),
      // oidc.enabled=true, oidc.tls.certFile/keyFile in a TLS Secret mounted through
      // global.extraVolumes.sentry / global.extraVolumeMounts.sentry (the chart mounts nothing for it).
      oidc: [...BASE, ...METRICS_AND_TD, '--jwt-enabled=true', '--oidc-enabled=true', '--oidc-server-listen-address=0.0.0.0',
        `--oidc-server-tls-cert-file=${OIDC_TLS_MOUNT}/tls.crt`, `--oidc-server-tls-key-file=${OIDC_TLS_MOUNT}/tls.key`, '--oidc-server-tls-enabled=true'],
      // oidc.enabled alone: oidc.tls.enabled defaults to true and no files are given, which Dapr's
      // options.Validate refuses: a fatal line and exit 1 (the negative fixture).
      oidcWithoutTls: [...BASE, ...METRICS_AND_TD, '--oidc-enabled=true', '--oidc-server-listen-address=0.0.0.0', '--oidc-server-tls-enabled=true'],
    },
    env: [{ name: 'NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }],
    volumeMounts: [{ name: 'credentials', mountPath: '/var/run/secrets/dapr.io/credentials', readOnly: true }],
    volumes: [{ name: 'credentials', secret: { secretName: 'dapr-trust-bundle' } }],
    oidcTlsVolume: { name: 'oidc-tls', secret: { secretName: OIDC_TLS_SECRET } },
    oidcTlsVolumeMount: { name: 'oidc-tls', mountPath: OIDC_TLS_MOUNT, readOnly: true },
    serviceAccountName: 'dapr-sentry',
    containerPorts: { default: [50001, 9090], logAsJson: [50001, 9090], jwt: [50001, 9090], oidc: [50001, 9090, 9080], oidcWithoutTls: [50001, 9090, 9080] },
    probePath: '/healthz',
    probePort: 8080,
    securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
  };
}

const CHART: Record<DaprChartVersion, SentryPodRender> = {
  '1.16': render(), // v1.16.19
  '1.17': render(), // v1.17.13
  '1.18': render(), // v1.18.3
};

/**
 * `dapr_sentry.extraEnvVars` that swaps in Warden for that chart version (docs/dapr-helm-chart.md):
 * the chart's args stay as they are; the env selects the Dapr version Warden emulates.
 */
const EXTRA_ENV: Record<DaprChartVersion, Record<string, string>> = {
  '1.16': { WARDEN_DAPR_VERSION: '1.16' },
  '1.17': { WARDEN_DAPR_VERSION: '1.17' },
  '1.18': {},
};

/** The pod's resolv.conf search list (kubelet, ClusterFirst DNS policy, namespace dapr-system). */
const POD_SEARCH = [`${NS}.svc.cluster.local`, 'svc.cluster.local', 'cluster.local'];

let dns: LoopbackDns;

interface Pod {
  server: KubeApiServer;
  run: Run;
  healthzPort: number;
  metricsPort: number;
  mount: string;
  stopMirror: () => void;
  /** The `oidc` variant: the OIDC server's port and the certificate it serves (self-signed, pinned). */
  oidc?: { port: number; certPem: string };
}

/** The pod of `version` with `variant`'s args, up to /healthz 200. */
/** A pod of the chart's sentry; started again on fresh ports if one was taken before it listened. */
function startPod(version: DaprChartVersion, variant: Variant, home: string, extraArgs: readonly string[] = []): Promise<Pod> {
  return retryOnPortTaken(() => startPodOnce(version, variant, home, extraArgs));
}

async function startPodOnce(version: DaprChartVersion, variant: Variant, home: string, extraArgs: readonly string[]): Promise<Pod> {
  const server = await startKubeApiServer();
  seedDaprControlPlane(server, { namespace: NS, version: `${version}.0` }); // the Secret and ConfigMap with no data
  const { token } = seedDaprSentryRbac(server, { namespace: NS, version });
  const kubeconfig = join(home, `kubeconfig-${version}-${variant}`);
  writeFileSync(kubeconfig, server.kubeconfigWith([{ name: 'in-cluster', token, namespace: NS }], 'in-cluster'), { mode: 0o600 });
  const mount = mkdtempSync(join(home, 'credentials-'));
  const stopMirror = mirrorSecretVolume(server, NS, 'dapr-trust-bundle', mount);
  const chart = CHART[version];
  assert.deepEqual(chart.volumeMounts, [{ name: 'credentials', mountPath: '/var/run/secrets/dapr.io/credentials', readOnly: true }]);
  const { args, healthzPort, metricsPort } = await withTestPorts(chart.args[variant]);
  // The chart's mount path, here a temp dir: Dapr's default --issuer-credentials is that path.
  args.push('--issuer-credentials', mount, ...extraArgs);
  const stopMirrors = [stopMirror];
  let oidc: Pod['oidc'];
  if (variant === 'oidc') {
    // The operator's TLS Secret, projected as the kubelet does at the extra mount (a temp dir here).
    const tls = selfSignedTlsFiles(mkdtempSync(join(home, 'oidc-tls-src-')), 'oidc');
    server.api.create('secrets', NS, {
      metadata: { name: OIDC_TLS_SECRET }, type: 'kubernetes.io/tls',
      data: { 'tls.crt': readFileSync(tls.certFile).toString('base64'), 'tls.key': readFileSync(tls.keyFile).toString('base64') },
    });
    const tlsMount = mkdtempSync(join(home, 'oidc-tls-'));
    stopMirrors.push(mirrorSecretVolume(server, NS, OIDC_TLS_SECRET, tlsMount));
    for (let i = 0; i < args.length; i++) args[i] = args[i]!.replace(`=${OIDC_TLS_MOUNT}/`, `=${tlsMount}/`);
    const portArg = args.find((a) => a.startsWith('--oidc-server-listen-port='));
    oidc = { port: Number(portArg!.split('=')[1]), certPem: tls.certPem };
  }
  const stopAll = (): void => stopMirrors.forEach((stop) => stop());
  const run = startSentryBin(args, {
    NAMESPACE: NS, HOME: home, KUBECONFIG: kubeconfig, WARDEN_RESOLV_CONF: dns.resolvConf(POD_SEARCH), ...EXTRA_ENV[version],
  });
  try {
    let exited: number | null | undefined;
    void run.exited.then((code) => (exited = code));
    await waitFor('the sentry to be healthy', async () => {
      if (exited !== undefined) throw new Error(`the sentry exited with ${String(exited)}`);
      return (await healthStatus(healthzPort)) === 200;
    }, 30_000);
  } catch (err) {
    run.kill();
    stopAll();
    await server.close();
    throw new Error(`${(err as Error).message}\n${run.stdout()}${run.stderr()}`);
  }
  return { server, run, healthzPort, metricsPort, mount, stopMirror: stopAll, ...(oidc ? { oidc } : {}) };
}

async function stopPod(pod: Pod | undefined): Promise<void> {
  if (!pod) return;
  pod.run.kill();
  await pod.run.exited;
  pod.stopMirror();
  await pod.server.close();
}

/** Log records, whichever format the variant logs in. */
function records(run: Run, variant: Variant): Map<string, string>[] {
  const lines = run.stdout().trimEnd().split('\n').filter((l) => l !== '');
  if (variant === 'logAsJson') return lines.map((l) => new Map(Object.entries(JSON.parse(l) as Record<string, string>)));
  return lines.map((l) => new Map(parseLogfmt(l)));
}

/**
 * The OIDC server of the `oidc` variant, over TLS with the mounted certificate (pinned): the
 * discovery document names the JWKS, and the JWKS holds the key of the jwks.json stored in the Secret.
 */
async function assertOidcServedOverTls(oidc: NonNullable<Pod['oidc']>, server: KubeApiServer): Promise<void> {
  const get = (path: string): Promise<{ status: number; body: string }> => new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: oidc.port, path, ca: oidc.certPem, servername: 'localhost', timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} on the OIDC server timed out`)));
    req.on('error', reject);
    req.end();
  });
  const discovery = await get('/.well-known/openid-configuration');
  assert.equal(discovery.status, 200, discovery.body);
  const doc = JSON.parse(discovery.body) as { issuer?: string; jwks_uri?: string; id_token_signing_alg_values_supported?: string[] };
  assert.equal(doc.jwks_uri, `https://127.0.0.1:${oidc.port}/jwks.json`);
  assert.equal(doc.issuer, `https://127.0.0.1:${oidc.port}`);
  assert.deepEqual(doc.id_token_signing_alg_values_supported, ['RS256']);
  const jwks = await get('/jwks.json');
  assert.equal(jwks.status, 200, jwks.body);
  const kids = (JSON.parse(jwks.body) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
  const storedJwks = (server.api.get('secrets', NS, 'dapr-trust-bundle').data as Record<string, string> | undefined)?.['jwks.json'];
  const storedKids = (JSON.parse(Buffer.from(storedJwks ?? '', 'base64').toString('utf8') || '{"keys":[]}') as { keys: { kid: string }[] }).keys.map((k) => k.kid);
  assert.ok(kids.length === 1 && storedKids.includes(kids[0]!), `served ${kids.join(',')}, stored ${storedKids.join(',')}`);
}

describe('Dapr\'s Helm chart for Sentry, per version: argv, env, credentials mount and RBAC', () => {
  let home: string;
  before(async () => {
    assertBuilt();
    home = mkdtempSync(join(tmpdir(), 'warden-dapr-chart-versions-'));
    dns = await startLoopbackDns({ 'kubernetes.default.svc.cluster.local': '10.96.0.1' });
  });
  after(async () => {
    rmSync(home, { recursive: true, force: true });
    await dns?.close();
  });

  it('the fixtures are what the 1.16, 1.17 and 1.18 charts render (written out by hand, compared with each other)', () => {
    for (const v of DAPR_CHART_VERSIONS) {
      assert.deepEqual(CHART[v].command, ['/sentry']);
      assert.deepEqual(CHART[v].args.default, ['--mode', 'kubernetes', '--log-level', 'info', '--enable-metrics', '--metrics-port', '9090',
        '--trust-domain', 'cluster.local']);
      assert.deepEqual(sentryRoleRules(v)[0], { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'update', 'delete'], resourceNames: ['dapr-trust-bundle'] });
      assert.equal(sentryClusterRoleRules(v).length, 3);
    }
    assert.deepEqual(CHART['1.16'], CHART['1.18']);
    assert.deepEqual(CHART['1.17'], CHART['1.18']);
  });

  for (const version of DAPR_CHART_VERSIONS) {
    for (const variant of ['default', 'logAsJson', 'jwt', 'oidc'] as const) {
      it(`${version}, ${variant}: /healthz 200 under the chart's RBAC, the CA generated into the empty Secret, no warnings`, async (t) => {
        const queriesBefore = dns.queries.length;
        const pod = await startPod(version, variant, home);
        t.after(() => stopPod(pod));
        // 1.17+ look the cluster domain up through the pod's resolver; 1.16 hard-codes cluster.local.
        const asked = dns.queries.slice(queriesBefore);
        if (version === '1.16') assert.deepEqual(asked, []);
        else assert.ok(asked.includes('kubernetes.default.svc.cluster.local'), asked.join(' '));
        await waitFor('the ConfigMap holding the generated ca.crt', () => configMapCa(pod.server) !== undefined, 60_000);
        assert.equal(configMapCa(pod.server), secretTexts(pod.server).ca);
        // The kubelet-style mount shows what the sentry stored.
        assert.equal(readFileSync(join(pod.mount, 'ca.crt'), 'utf8'), secretTexts(pod.server).ca);
        const forbidden = pod.server.requests.entries.filter((e) => e.status === 403);
        assert.deepEqual(forbidden.map((e) => `${e.verb} ${e.path}?${e.query}`), [], 'no request the chart\'s RBAC refuses');
        assert.equal(pod.server.requests.count({ resource: 'secrets', verb: 'watch' }), 0);
        const metrics = await fetch(`http://127.0.0.1:${pod.metricsPort}/`);
        assert.equal(metrics.status, 200);
        if (pod.oidc) await assertOidcServedOverTls(pod.oidc, pod.server);
        assert.equal(await stopAndExitCode(pod.run), 0, pod.run.stderr());
        const logs = records(pod.run, variant);
        const loud = logs.filter((r) => ['warning', 'error', 'fatal'].includes(r.get('level') ?? ''));
        assert.deepEqual(loud.map((r) => r.get('msg')), [], pod.run.stdout());
        assert.ok(logs.some((r) => r.get('msg') === `Starting watch on filesystem directories: [${pod.mount}]` && r.get('scope') === 'dapr.sentry'),
          pod.run.stdout());
        assert.equal(pod.run.stderr(), '');
        const said = (msg: string, scope: string) => logs.some((r) => r.get('msg') === msg && r.get('scope') === scope && r.get('level') === 'info');
        assert.ok(said(`Adding validator 'kubernetes' with Sentry ID: spiffe://cluster.local/ns/${NS}/dapr-sentry`, 'dapr.sentry'), pod.run.stdout());
        assert.ok(said('CA certificate key pair ready', 'dapr.sentry'));
        assert.ok(said('Self-signed certs and JWT root key generated and persisted successfully', 'dapr.sentry.ca'));
      });
    }
  }

  for (const version of DAPR_CHART_VERSIONS) {
    it(`${version}, oidc.enabled alone (no TLS files): Dapr's fatal line "Invalid options: …" and exit 1, nothing stored`, async () => {
      const server = await startKubeApiServer();
      try {
        seedDaprControlPlane(server, { namespace: NS, version: `${version}.0` });
        const { token } = seedDaprSentryRbac(server, { namespace: NS, version });
        const kubeconfig = join(home, `kubeconfig-${version}-oidcWithoutTls`);
        writeFileSync(kubeconfig, server.kubeconfigWith([{ name: 'in-cluster', token, namespace: NS }], 'in-cluster'), { mode: 0o600 });
        const { args } = await withTestPorts(CHART[version].args.oidcWithoutTls);
        const run = startSentryBin([...args, '--issuer-credentials', mkdtempSync(join(home, 'credentials-'))], {
          NAMESPACE: NS, HOME: home, KUBECONFIG: kubeconfig, WARDEN_RESOLV_CONF: dns.resolvConf(POD_SEARCH), ...EXTRA_ENV[version],
        });
        const code = await Promise.race([run.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000).unref())]);
        if (code === 'hung') run.kill();
        assert.equal(code, 1, `${run.stdout()}${run.stderr()}`);
        const logs = records(run, 'oidcWithoutTls');
        assert.equal(logs.length, 1, run.stdout());
        assert.equal(logs[0]!.get('level'), 'fatal');
        assert.equal(logs[0]!.get('scope'), 'dapr.sentry');
        assert.equal(logs[0]!.get('msg'),
          'Invalid options: oidc-server-tls-cert-file is required when OIDC HTTP server is enabled (unless oidc-server-tls-enabled is false)');
        assert.deepEqual(server.api.get('secrets', NS, 'dapr-trust-bundle').data ?? {}, {}, 'nothing was stored');
      } finally {
        await server.close();
      }
    });
  }

  it('1.18: a renewal written to the Secret reaches the sentry through the credentials mount (no Secret watch, no list)', async (t) => {
    // The periodic GET off: only the mount's file events can bring the change in.
    const pod = await startPod('1.18', 'default', home, ['--kube-secret-poll-interval', '0s']);
    t.after(() => stopPod(pod));
    const renewed = await buildBundle({ now: new Date(), trustDomain: 'cluster.local', namespace: NS });
    writeBundleObjects(pod.server, renewed.texts);
    await waitFor('the reload', () => pod.run.stdout().includes('msg="Trust bundle reloaded; signing with the new issuer"'), 15_000)
      .catch((err: Error) => { throw new Error(`${err.message}\n${pod.run.stdout()}`); });
    assert.equal(pod.server.requests.entries.filter((e) => e.status === 403).length, 0);
    assert.equal(pod.server.requests.count({ resource: 'secrets', verb: 'list' }) + pod.server.requests.count({ resource: 'secrets', verb: 'watch' }), 0);
    assert.equal(await stopAndExitCode(pod.run), 0);
  });
});
