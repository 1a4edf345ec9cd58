/**
 * The KUBERNETES token validator (spec 1.5; Dapr's `validator/kubernetes/kubernetes.go`), step by
 * step and message for message, since daprd and operators see these texts:
 *  1. not ready (API not yet proven reachable) → `validator not ready`
 *  2. the common request rules (the request's trust domain is then discarded)
 *  3. TokenReview with audiences `dapr.io/sentry` (legacy) and Sentry's SPIFFE ID
 *  4. username `system:serviceaccount:<ns>:<sa>`
 *  5. the bound pod's name from the (unverified) JWT claim `kubernetes.io.pod.name`
 *  6. the pod `<sa-ns>/<pod>`; 7. namespace; 8. service account
 *  9. the expected app ID: `dapr-<svc>` for `dapr.io/control-plane: <svc>` (only in Sentry's
 *     namespace, only the five services, never with `dapr.io/app-id`), else `dapr.io/app-id`,
 *     else the pod name
 * 10. the trust domain: Sentry's for control-plane pods; else `spec.accessControl.trustDomain` of
 *     the pod's `dapr.io/config` Configuration in the request namespace; else `public`.
 * Every refusal throws a WardenError whose message is the one the client gets (PermissionDenied).
 */
import type { Logger } from 'pino';
import { WardenError } from '../../core/errors.js';
import { LOG_SCOPE } from '../log-scopes.js';
import { DEFAULT_REQUEST_TRUST_DOMAIN, buildSpiffeId, parseTrustDomain, validateSignRequest } from '../../core/spiffe-id.js';
import type { SignCertificateRequest } from '../../wire/sentry-proto.js';
import type { Validator } from '../validators.js';
import { KubeIdentityApi, apiErrorMessage, type KubeIdentityApiOptions, type PodIdentity } from './kubernetes-api.js';
import { podClaimOfToken, serviceAccountOfUsername } from './kubernetes-token.js';

/** Dapr < 1.13 clients asked for this audience; Dapr still requests it (`LegacyServiceAccountAudience`). */
export const LEGACY_SENTRY_AUDIENCE = 'dapr.io/sentry';
export const ANNOTATION_CONTROL_PLANE = 'dapr.io/control-plane';
export const ANNOTATION_APP_ID = 'dapr.io/app-id';
export const ANNOTATION_CONFIG = 'dapr.io/config';
const CONTROL_PLANE_SERVICES = new Set(['operator', 'placement', 'injector', 'sentry', 'scheduler']);

export interface KubernetesValidatorOptions extends KubeIdentityApiOptions {
  /** Sentry's namespace (`NAMESPACE`): control-plane pods must run in it. */
  sentryNamespace: string;
  /** Sentry's trust domain (`--trust-domain`), given to control-plane identities. */
  trustDomain: string;
  logger: Logger;
  /** First wait after a failed readiness probe; doubles up to `maxProbeRetryMs` (defaults 500 ms, 10 s). */
  probeRetryMs?: number;
  maxProbeRetryMs?: number;
}

export class KubernetesValidator implements Validator {
  readonly name = 'KUBERNETES' as const;
  /** `spiffe://<td>/ns/<ns>/dapr-sentry`, the audience tokens must carry (or the legacy one). */
  readonly sentryId: string;
  private readonly api: KubeIdentityApi;
  private isReady = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly readyWaiters: (() => void)[] = [];

  constructor(private readonly options: KubernetesValidatorOptions) {
    this.sentryId = buildSpiffeId(options.trustDomain, options.sentryNamespace, 'dapr-sentry');
    this.api = new KubeIdentityApi(options);
  }

  /** True once the API answered the readiness probe (Dapr: the informer caches have synced). */
  get ready(): boolean {
    return this.isReady;
  }

  /** Starts probing the API until it answers; `ready` turns true then. */
  start(): void {
    this.stopped = false;
    void this.probe(this.options.probeRetryMs ?? 500);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Resolves when ready (for start-up and tests). */
  whenReady(): Promise<void> {
    if (this.isReady) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  async validate(req: SignCertificateRequest): Promise<string> {
    if (!this.isReady) throw new WardenError('ERR_VALIDATOR_NOT_READY', 'validator not ready');
    validateSignRequest({ id: req.id, namespace: req.namespace, trustDomain: req.trust_domain, csr: req.certificate_signing_request });

    let review;
    try {
      review = await this.api.reviewToken(req.token, [LEGACY_SENTRY_AUDIENCE, this.sentryId]);
    } catch (err) {
      throw denied(`token review failed: ${apiErrorMessage(err)}`);
    }
    if (review.error !== undefined) throw denied(`invalid token: ${review.error}`);
    if (!review.authenticated) throw denied('authentication failed');
    const serviceAccount = serviceAccountOfUsername(review.username);
    const claim = podClaimOfToken(req.token);

    let pod: PodIdentity;
    try {
      pod = await this.api.getPod(serviceAccount.namespace, claim.name, claim.uid);
    } catch (err) {
      this.options.logger.error(
        { scope: LOG_SCOPE.identityKubernetes, namespace: serviceAccount.namespace, pod: claim.name, err: apiErrorMessage(err) },
        `Failed to get pod ${serviceAccount.namespace}/${claim.name} for requested identity: ${apiErrorMessage(err)}`,
      );
      throw denied('failed to get pod of identity');
    }
    if (serviceAccount.namespace !== req.namespace) throw denied(`namespace mismatch; received namespace: ${req.namespace}`);
    if (pod.serviceAccountName !== serviceAccount.name) {
      this.options.logger.error({ scope: LOG_SCOPE.identityKubernetes, namespace: req.namespace, pod: claim.name }, `Service account on pod ${req.namespace}/${claim.name} does not match token`);
      throw denied('pod service account mismatch');
    }

    const expected = this.expectedId(pod);
    if (expected.id !== req.id) throw denied(`app-id mismatch. expected: ${expected.id}, received: ${req.id}`);
    if (expected.controlPlane) return this.options.trustDomain;
    return this.appTrustDomain(pod, req.namespace);
  }

  /** Step 9: the ID this pod may request, and whether it is a control-plane identity. */
  private expectedId(pod: PodIdentity): { id: string; controlPlane: boolean } {
    const service = pod.annotations[ANNOTATION_CONTROL_PLANE];
    const appId = pod.annotations[ANNOTATION_APP_ID];
    if (service !== undefined) {
      let problem: string | undefined;
      if (pod.namespace !== this.options.sentryNamespace) problem = `control plane service in namespace '${pod.namespace}' is not allowed`;
      else if (!CONTROL_PLANE_SERVICES.has(service)) problem = `unknown control plane service '${pod.name}'`;
      else if (appId !== undefined) problem = `control plane service '${pod.name}' cannot have annotation '${ANNOTATION_APP_ID}'`;
      if (problem !== undefined) {
        this.options.logger.error({ scope: LOG_SCOPE.identityKubernetes, namespace: pod.namespace, pod: pod.name }, `Failed to get expected ID for pod ${pod.namespace}/${pod.name}: ${problem}`);
        throw denied(problem);
      }
      return { id: `dapr-${service}`, controlPlane: true };
    }
    return { id: appId ?? pod.name, controlPlane: false };
  }

  /** Step 10 for app pods. */
  private async appTrustDomain(pod: PodIdentity, namespace: string): Promise<string> {
    const configName = pod.annotations[ANNOTATION_CONFIG];
    if (configName === undefined) return DEFAULT_REQUEST_TRUST_DOMAIN;
    let trustDomain: string | undefined;
    try {
      trustDomain = await this.api.getConfigurationTrustDomain(namespace, configName);
    } catch (err) {
      this.options.logger.error({ scope: LOG_SCOPE.identityKubernetes, namespace, configuration: configName, err: apiErrorMessage(err) },
        `Failed to get configuration ${JSON.stringify(configName)}: ${apiErrorMessage(err)}`);
      throw denied('failed to get configuration');
    }
    if (trustDomain === undefined) return DEFAULT_REQUEST_TRUST_DOMAIN;
    try {
      return parseTrustDomain(trustDomain);
    } catch (err) {
      throw denied(`failed to parse trust domain ${JSON.stringify(trustDomain)}: ${(err as Error).message}`);
    }
  }

  private async probe(delayMs: number): Promise<void> {
    if (this.stopped || this.isReady) return;
    try {
      await this.api.probe();
    } catch (err) {
      if (this.stopped) return;
      const next = Math.min(delayMs * 2, this.options.maxProbeRetryMs ?? 10_000);
      this.options.logger.warn({ err: apiErrorMessage(err), retryInMs: delayMs },
        `KUBERNETES validator not ready: the Kubernetes API cannot be read (pods, configurations.dapr.io): ${apiErrorMessage(err)}; ` +
        'check the API server address, the credentials and that Sentry\'s RBAC allows listing pods and configurations');
      this.timer = setTimeout(() => void this.probe(next), delayMs);
      return;
    }
    if (this.stopped) return;
    this.isReady = true;
    this.options.logger.info('KUBERNETES validator ready');
    for (const resolve of this.readyWaiters.splice(0)) resolve();
  }
}

function denied(message: string): WardenError {
  return new WardenError('ERR_IDENTITY_DENIED', message);
}
