/** Which Dapr control-plane workloads are restarted, in which order, and what kind each usually is. */
import type { WorkloadKind } from './rollout-status.js';

/** The control plane's restart waves: each wave starts only after the previous one rolled out. */
export const CONTROL_PLANE_WAVES: readonly (readonly string[])[] = [
  ['dapr-sentry'],
  ['dapr-operator', 'dapr-placement-server', 'dapr-scheduler-server', 'dapr-sidecar-injector'],
];

// What Helm renders each as; the other kind is tried too (old charts ran placement as a Deployment).
export const EXPECTED_KIND: Record<string, WorkloadKind> = {
  'dapr-sentry': 'Deployment',
  'dapr-operator': 'Deployment',
  'dapr-sidecar-injector': 'Deployment',
  'dapr-placement-server': 'StatefulSet',
  'dapr-scheduler-server': 'StatefulSet',
};
