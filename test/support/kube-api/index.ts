/** The Kubernetes API test server (design §5). Import from here. */
export { startKubeApiServer, CONTEXT_NAME, type KubeApiServer, type KubeApiServerOptions } from './server.js';
export type { KubeApi, KubeList, ListOptions, WriteOptions, DeleteOptions } from './kube-api.js';
export type { KubeObject, ObjectMeta } from './objects.js';
export { ManualServerClock, realTimers, type ServerTimers } from './server-timers.js';
export { DEFAULT_WAIT_MS, RESTARTED_AT, type RolloutBehaviour, type RolloutEvent, type RolloutOutcome, type WorkloadRef } from './rollout-controller.js';
export type { FaultRule, ErrorFaultOptions } from './faults.js';
export type { RequestMatch, RequestRecord } from './request-log.js';
export { API_AUDIENCES, TOKEN_ISSUER, type MintTokenOptions, type TokenReviewStatus } from './tokens.js';
export { KubeStatusError, CONFLICT_SUFFIX, type StatusBody } from './status.js';
export { PATCH_TYPES } from './patch.js';
export { renderKubeconfig, type KubeconfigContext } from './kubeconfig.js';
export { createPod, ensureServiceAccount, mintServiceAccountToken, sentryAudiences, type CreatePodOptions, type MintTokenHelperOptions } from './pods.js';
export { seedDaprApps, seedDaprControlPlane, type DaprApp, type DaprAppsOptions, type DaprControlPlane, type DaprControlPlaneOptions } from './dapr-seed.js';
export { simulateDaprPods, ROOT_CA_CONFIGMAP, ROOT_CA_MOUNT, type AnchorInjection, type DaprPodSimulator, type DaprPodsOptions } from './dapr-pods.js';
export { ADMIN_USER, forbiddenMessage, type KubeUser } from './rbac.js';
export { DAPR_CHART_VERSIONS, SENTRY_SERVICE_ACCOUNT, seedDaprSentryRbac, sentryClusterRoleRules, sentryRoleRules, type DaprChartVersion } from './dapr-rbac.js';
