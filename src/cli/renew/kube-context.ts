/**
 * What `renew-certificate -k` learns from the cluster before it builds anything: the clients,
 * Dapr's namespace and version, the `daprsystem` Configuration, and from those the generation
 * defaults — the cluster's trust domain (never a hard-coded `cluster.local`), its clock skew, the
 * issuer's namespace (the real Dapr namespace, not the CLI's `NAMESPACE`) and the key algorithm
 * of the cluster's Dapr version.
 */
import { parseGoDuration } from '../../core/duration.js';
import { isWardenError, WardenError } from '../../core/errors.js';
import { kubeFind, type KubeClients } from '../../kube/client.js';
import { readDaprSystemConfiguration, type DaprSystemConfiguration } from '../../kube/discovery.js';
import type { KubeTrustBundleStore } from '../../stores/kube-store.js';
import { openKubeSession } from '../kube-bundle.js';
import type { Io } from '../io.js';
import { printStatus } from '../output.js';
import type { GenerationDefaults } from './build-plan.js';
import { trustDomainOfBundle, type CurrentBundle } from './current-bundle.js';
import type { RenewOptions, RenewSource } from './options.js';

export interface KubeRenewContext {
  clients: KubeClients;
  namespace: string;
  /** Over the Secret and ConfigMap `dapr-trust-bundle` in `namespace` (keys after --issuer-*-filename, as Sentry's). */
  store: KubeTrustBundleStore;
  /** The control plane's version (the operator's image tag), when it could be read. */
  daprVersion: string | undefined;
  system: DaprSystemConfiguration | undefined;
}

/** The session of the -k commands (kube-bundle.ts: the expiry banner after the command reuses it). */
export async function connectToCluster(opts: RenewOptions, io: Io): Promise<KubeRenewContext> {
  const { clients, namespace, store } = await openKubeSession(opts, io);
  const [daprVersion, system] = await Promise.all([
    detectDaprVersion(clients, namespace),
    readDaprSystemConfiguration(clients, namespace),
  ]);
  return { clients, namespace, store, daprVersion, system };
}

/**
 * The control-plane version as Dapr's CLI reports it: the image tag of `dapr-operator` (else
 * `dapr-sentry`); undefined when neither can be read. Never fails the command.
 */
async function detectDaprVersion(clients: KubeClients, namespace: string): Promise<string | undefined> {
  for (const name of ['dapr-operator', 'dapr-sentry']) {
    try {
      const deployment = await kubeFind(`read Deployment ${namespace}/${name}`, () => clients.apps.readNamespacedDeployment({ name, namespace }));
      const image = deployment?.spec?.template?.spec?.containers?.[0]?.image;
      const tag = image === undefined ? undefined : imageTag(image);
      if (tag !== undefined) return tag;
    } catch (err) {
      if (!isWardenError(err)) throw err;
      return undefined;
    }
  }
  return undefined;
}

/** `ghcr.io/dapr/operator:1.16.2` → `1.16.2` (digests dropped; a registry port is not a tag). */
export function imageTag(image: string): string | undefined {
  const name = image.split('@')[0] ?? '';
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(colon + 1) : undefined;
}

/** The generation defaults the cluster implies (see the file comment); flags override each. */
export function clusterGenerationDefaults(
  ctx: KubeRenewContext, current: CurrentBundle, opts: RenewOptions, source: RenewSource, io: Io,
): GenerationDefaults {
  const defaults: GenerationDefaults = { namespace: ctx.namespace };
  const configured = ctx.system?.controlPlaneTrustDomain;
  if (configured !== undefined) {
    defaults.trustDomain = { value: configured, origin: 'daprsystem Configuration' };
  } else {
    const fromBundle = trustDomainOfBundle(current);
    if (fromBundle !== undefined) defaults.trustDomain = { value: fromBundle, origin: 'current bundle' };
    else if (opts.trustDomain === undefined && source !== 'provided') {
      throw new WardenError(
        'ERR_USAGE',
        `cannot tell the trust domain of the cluster: the Configuration ${ctx.namespace}/daprsystem has no spec.mtls.controlPlaneTrustDomain ` +
          `and there is no current root to read it from; pass --trust-domain (the value of Helm's global.mtls.controlPlaneTrustDomain, "cluster.local" unless changed)`,
      );
    }
  }
  const skew = ctx.system?.allowedClockSkew;
  if (skew !== undefined) {
    try {
      defaults.allowedClockSkew = { ms: parseGoDuration(skew), origin: 'daprsystem Configuration' };
    } catch {
      printStatus(io, 'warning', `The daprsystem Configuration's spec.mtls.allowedClockSkew "${skew}" is not a duration; using 15m`);
    }
  }
  const minor = daprMinorVersion(ctx.daprVersion);
  if (minor !== undefined) {
    // Dapr ≤ 1.17 generates ECDSA P-256 roots and issuers, 1.18 Ed25519 (spec 2.8): match the cluster.
    defaults.keyAlgorithm = minor < 18
      ? { value: 'ecdsa-p256', origin: `what Dapr ${ctx.daprVersion} generates` }
      : { value: 'ed25519', origin: `what Dapr ${ctx.daprVersion} generates` };
  }
  return defaults;
}

/** 16 for `1.16.2`, `v1.16.2-mariner`; undefined for other major versions or unparsable tags. */
function daprMinorVersion(version: string | undefined): number | undefined {
  const m = /^v?1\.(\d+)\./.exec(version ?? '');
  return m ? Number(m[1]) : undefined;
}
